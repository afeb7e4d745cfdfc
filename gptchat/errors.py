"""Errors that reach the user as one line and an exit code."""


class GptchatError(Exception):
    """A failure the user can act on; its message is the one line they see."""

    exit_code = 1


class BadInput(GptchatError):
    """A path, name or option the user gave cannot be used."""

    exit_code = 2


class DamagedIndex(GptchatError):
    """An index.db SQLite cannot read; the documents can rebuild it."""


class IndexMismatch(GptchatError):
    """An index was built with another embedder or other chunk settings."""

    exit_code = 3


def os_error_text(exc: OSError) -> str:
    """An OSError in words, with the file it concerns: "Permission denied: /x", not
    "[Errno 13] Permission denied: '/x'"."""
    what = exc.strerror or str(exc)
    places = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    return f"{what}: {' -> '.join(places)}" if places else what

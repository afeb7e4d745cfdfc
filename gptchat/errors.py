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

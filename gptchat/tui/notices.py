"""What the app's error notifications say, for the app and its widgets alike."""

from __future__ import annotations

from gptchat.errors import GptchatError


def describe_error(error: BaseException) -> str:
    """One line for a notification: our own errors say the next step already."""
    if isinstance(error, GptchatError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def error_notice(error: BaseException | str, next_step: str = "") -> str:
    """The error, then what to do next, in one line."""
    message = error if isinstance(error, str) else describe_error(error)
    return f"{message}{' — ' + next_step if next_step else ''}"

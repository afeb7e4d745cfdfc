"""Everything the CLI writes goes through here: control characters shown, never obeyed."""

from __future__ import annotations

import json
import logging
import re
import sys

import click

from gptchat.control_chars import visible


def echo(text: str = "", nl: bool = True, err: bool = False) -> None:
    """click.echo, with escape sequences from documents or the model made visible.

    An index built before control characters were dropped at ingest, or a model's output,
    could otherwise set the terminal's title or clear it.
    """
    click.echo(visible(text), nl=nl, err=err)


# json.dumps escapes C0 controls but leaves DEL and the C1 range (8-bit CSI among them) raw.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f]")


def echo_json(document: object) -> None:
    """One JSON document on stdout, every control character escaped as \\uXXXX."""
    text = json.dumps(document, ensure_ascii=False)
    click.echo(_RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text))


class StatusLine:
    """A line on stderr that says what a slow start is doing; gone once the answer begins.

    Shown only to a person watching (stdout or stderr a terminal): a script reading stdout
    gets the answer and nothing else.
    """

    def __init__(self) -> None:
        self.watched = sys.stdout.isatty() or sys.stderr.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        if not self.watched:
            return
        if sys.stderr.isatty():  # rewritten in place, then erased
            click.echo(f"\r\x1b[K{visible(text)}", nl=False, err=True)
        else:
            echo(text, err=True)
        self.shown = True

    def report(self, text: str) -> None:
        """A line of its own (a download, a conversion), kept on screen after the status."""
        self.clear()
        echo(text, err=True)

    def clear(self) -> None:
        if self.shown and sys.stderr.isatty():
            click.echo("\r\x1b[K", nl=False, err=True)
        self.shown = False


class WarningLines(logging.Handler):
    """gptchat's warnings (a cache rebuilt, a damaged version passed over) as stderr lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        echo(f"gptchat: warning: {record.getMessage()}", err=True)


def show_warnings() -> None:
    """Send the package's warnings to stderr, once per process."""
    logger = logging.getLogger("gptchat")
    if not any(isinstance(handler, WarningLines) for handler in logger.handlers):
        logger.addHandler(WarningLines())
        logger.setLevel(logging.INFO)

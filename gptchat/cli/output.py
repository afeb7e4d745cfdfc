"""Everything the CLI writes goes through here: control characters shown, never obeyed."""

from __future__ import annotations

import click

from gptchat.control_chars import visible


def echo(text: str = "", nl: bool = True, err: bool = False) -> None:
    """click.echo, with escape sequences from documents or the model made visible.

    An index built before control characters were dropped at ingest, or a model's output,
    could otherwise set the terminal's title or clear it.
    """
    click.echo(visible(text), nl=nl, err=err)

"""Options and output shared by the CLI's commands."""

from __future__ import annotations

from pathlib import Path

import click

from gptchat.cli.output import echo
from gptchat.workspace import DEFAULT_INDEX, DEFAULT_K


def model_options(function):
    """The --model and --int8 options shared by the commands that generate."""
    function = click.option(
        "--int8", is_flag=True, help="Quantise Linear layers to int8 for faster CPU decoding."
    )(function)
    return click.option(
        "--model",
        "model_path",
        type=click.Path(path_type=Path),
        help="A local Hugging Face causal-LM folder (default: SmolLM2-135M-Instruct).",
    )(function)


index_option = click.option(
    "--index", "-i", "index_name", default=DEFAULT_INDEX, show_default=True, help="Index to use."
)
k_option = click.option(
    "--k",
    "k",
    type=click.IntRange(1, 50),
    default=DEFAULT_K,
    show_default=True,
    help="Passages retrieved for the model.",
)


def status(message: str) -> None:
    """A progress or status line, on stderr so stdout stays the answer."""
    echo(message, err=True)

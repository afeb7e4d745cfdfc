"""Options and output shared by the CLI's commands."""

from __future__ import annotations

import math
import re
from pathlib import Path

import click

from gptchat.cli.output import echo
from gptchat.workspace import DEFAULT_INDEX, DEFAULT_K

# The largest integer SQLite stores: ids and counts beyond it overflow deep inside a query.
LARGEST_INTEGER = 2**63 - 1
_ASCII_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")


class WholeNumber(click.ParamType):
    """An integer written in ASCII digits, from `low` to `high`, checked where it is parsed.

    click's own INT takes whatever Python's int() takes: an Arabic-Indic one as 1, and 10**20,
    which SQLite cannot hold.
    """

    name = "integer"

    def __init__(self, low: int = 0, high: int = LARGEST_INTEGER) -> None:
        self.low, self.high = low, high

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _ASCII_INTEGER.fullmatch(value.strip()):
            number = int(value.strip())
        else:
            self.fail(f"{value!r} is not a whole number in digits 0-9", param, ctx)
        if number < self.low:
            self.fail(f"{number} is too small (at least {self.low})", param, ctx)
        if number > self.high:
            self.fail(f"{number} is too large (at most {self.high})", param, ctx)
        return number


class FiniteNumber(click.FloatRange):
    """click's FloatRange without infinity and NaN, which it takes and every use would choke on."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def model_options(function):
    """The --model and --int8 options shared by the commands that generate."""
    function = click.option(
        "--int8", is_flag=True, help="Quantise Linear layers to int8 for faster CPU decoding."
    )(function)
    return click.option(
        "--model",
        "model_path",
        type=click.Path(path_type=Path),
        help="A model of the catalog by name (`gptchat models` lists them) or a local Hugging"
        " Face causal-LM folder (default: the active version).",
    )(function)


index_option = click.option(
    "--index", "-i", "index_name", default=DEFAULT_INDEX, show_default=True, help="Index to use."
)
k_option = click.option(
    "--k",
    "k",
    type=WholeNumber(1, 50),
    default=DEFAULT_K,
    show_default=True,
    help="Passages retrieved for the model.",
)


def status(message: str) -> None:
    """A progress or status line, on stderr so stdout stays the answer."""
    echo(message, err=True)

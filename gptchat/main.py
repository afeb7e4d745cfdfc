"""The `gptchat` command: the command line's commands and the terminal app, put together.

The two faces, `gptchat.cli` and `gptchat.tui`, never import each other; this module, above
both, adds the app as the `chat` command (what a bare `gptchat` runs) and turns failures into
one line and an exit code.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import NoReturn

import click

from gptchat.cli.indexing import open_default_index
from gptchat.cli.main import cli
from gptchat.cli.options import WholeNumber, index_option, k_option, model_options, status
from gptchat.cli.output import echo, echo_json, show_warnings
from gptchat.errors import GptchatError, os_error_text
from gptchat.model.loading import ModelOptions
from gptchat.serve.run import API_KEY_ENV, serve_http, serve_mcp
from gptchat.serve.service import ServedIndex
from gptchat.workspace import Workspace


@click.command()
@index_option
@k_option
@model_options
@click.pass_obj
def chat(
    workspace: Workspace, index_name: str, k: int, model_path: Path | None, int8: bool
) -> None:
    """The terminal app: ask, read cited answers as they stream, rate and correct them.

    Also what a bare `gptchat` runs. Outside a terminal it sets up the default
    index and prints what to do next instead.

    \b
    Examples:
      gptchat
      gptchat chat --index notes --model ./models/v2
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        for line in open_default_index(workspace):
            echo(line)
        return
    # Here, not at the top: Textual's import is for the app alone, not every command.
    from gptchat.tui.app import GptchatApp
    from gptchat.tui.assistant import Assistant

    assistant = Assistant(workspace, index_name, ModelOptions(model_path, int8), k)
    try:
        GptchatApp(assistant).run()
    finally:
        assistant.close()


@click.command()
@index_option
@k_option
@model_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=WholeNumber(1, 65535), default=8080, show_default=True, help="Port to listen on."
)
@click.option(
    "--api-key",
    envvar=API_KEY_ENV,
    help=f"A key every request must carry (Authorization: Bearer KEY); needed with a --host"
    f" other machines reach. Default: ${API_KEY_ENV}.",
)
@click.pass_obj
def serve(
    workspace: Workspace,
    index_name: str,
    k: int,
    model_path: Path | None,
    int8: bool,
    host: str,
    port: int,
    api_key: str | None,
) -> None:
    """An OpenAI-compatible API over an index, for other programs: chat completions
    (streamed or not, with sources), /v1/models, /v1/search and /v1/feedback.

    \b
    Examples:
      gptchat serve
      gptchat serve --index notes --port 9000
      GPTCHAT_API_KEY=s3cret gptchat serve --host 0.0.0.0
    """
    served = ServedIndex(workspace, index_name, ModelOptions(model_path, int8), k)
    serve_http(served, host, port, api_key, status)


@click.command()
@index_option
@k_option
@model_options
@click.pass_obj
def mcp(workspace: Workspace, index_name: str, k: int, model_path: Path | None, int8: bool) -> None:
    """An MCP server on stdin/stdout with the tools `search` and `ask` over an index, for
    agents.

    \b
    Examples:
      gptchat mcp
      gptchat --home ~/notes mcp --index notes
    """
    serve_mcp(ServedIndex(workspace, index_name, ModelOptions(model_path, int8), k), status)


cli.add_command(chat)
cli.add_command(serve)
cli.add_command(mcp)


def main() -> None:
    """Entry point: run the CLI and turn known failures into one line and an exit code.

    Under --json the line is also a JSON object on stdout, {"error": ..., "exit_code": ...},
    so a script reading stdout sees the failure.
    """
    show_warnings()
    try:
        code = cli.main(prog_name="gptchat", standalone_mode=False)
    except click.ClickException as exc:
        _fail(_usage_line(exc), exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        _fail("interrupted; everything committed so far is kept", 130)
    except GptchatError as exc:
        _fail(f"error: {exc}", exc.exit_code)
    except sqlite3.Error as exc:
        _fail(f"database error: {exc}", 1)
    except OSError as exc:
        _fail(f"error: {os_error_text(exc)}", 1)
    sys.exit(code if isinstance(code, int) else 0)


def run() -> NoReturn:
    """The `gptchat` command: main(), then, once a model was loaded, an exit that skips the
    interpreter's teardown (freeing torch and transformers took 0.7-1.4 s after the answer
    was printed). Every file and database is closed by then; the streams are flushed here.
    Ray's own exit handlers stop its workers, so a run that started Ray exits normally."""
    try:
        main()
    except SystemExit as done:
        torch_without_ray = "torch" in sys.modules and "ray" not in sys.modules
        if torch_without_ray and (done.code is None or isinstance(done.code, int)):
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code or 0)
        raise
    raise AssertionError("main() always exits")


def _usage_line(exc: click.ClickException) -> str:
    """click's complaint about the command line, as one line that says where help is."""
    message = " ".join(exc.format_message().split())
    context = exc.ctx if isinstance(exc, click.UsageError) else None
    if context is None:
        return f"error: {message}"
    return f"error: {message} (see `{context.command_path} --help`)"


def _fail(message: str, exit_code: int) -> NoReturn:
    echo(f"gptchat: {message}", err=True)
    if "--json" in sys.argv[1:]:
        echo_json({"error": message.removeprefix("error: "), "exit_code": exit_code})
    sys.exit(exit_code)

"""The `gptchat` command line."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from gptchat import __version__
from gptchat.errors import GptchatError
from gptchat.workspace import DEFAULT_INDEX, Workspace, workspace_home


@click.group(invoke_without_command=True)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace folder (default: $GPTCHAT_HOME, else the current folder).",
)
@click.version_option(__version__, "--version", "-V", prog_name="gptchat")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Ask your documents: a local, offline assistant that cites its sources.

    Run without a command to open the default index; on first run it indexes
    gptchat's own user guide so there is something to ask about right away.
    """
    ctx.obj = Workspace(workspace_home(home))
    if ctx.invoked_subcommand is None:
        ctx.invoke(start)


@cli.command(hidden=True)
@click.pass_obj
def start(workspace: Workspace) -> None:
    """Open the default index, indexing the bundled user guide on first run."""
    from gptchat.commands import open_default_index

    for line in open_default_index(workspace):
        click.echo(line)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--name", "-n", default=DEFAULT_INDEX, show_default=True, help="Index name.")
@click.option("--rebuild", is_flag=True, help="Start the index over with the current settings.")
@click.option("--list", "list_only", is_flag=True, help="List the workspace's indexes and exit.")
@click.option(
    "--max-file-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=50,
    show_default=True,
    help="Skip files larger than this.",
)
@click.option(
    "--embedder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A local sentence-transformers model folder (default: bundled all-MiniLM-L6-v2).",
)
@click.option("--chunk-tokens", type=click.IntRange(min=32), help="Chunk size in embedder tokens.")
@click.option(
    "--overlap-tokens",
    type=click.IntRange(min=0),
    default=32,
    show_default=True,
    help="Tokens repeated between neighbouring chunks.",
)
@click.pass_obj
def index(
    workspace: Workspace,
    paths: tuple[Path, ...],
    name: str,
    rebuild: bool,
    list_only: bool,
    max_file_mb: float,
    embedder: Path | None,
    chunk_tokens: int | None,
    overlap_tokens: int,
) -> None:
    """Add, update and remove PATHS' documents in an index.

    With no PATHS, refreshes every folder the index already holds.
    Unchanged files are skipped; only new text is embedded.

    \b
    Examples:
      gptchat index ./docs
      gptchat index ~/notes --name notes
      gptchat index --name notes          # refresh
      gptchat index --list
    """
    from gptchat.commands import IndexOptions, list_indexes, run_index

    if list_only:
        for line in list_indexes(workspace):
            click.echo(line)
        return
    options = IndexOptions(
        name=name,
        rebuild=rebuild,
        max_file_bytes=int(max_file_mb * 1_000_000),
        embedder_path=embedder,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
    )
    for line in run_index(workspace, list(paths), options, show_progress=True):
        click.echo(line)


@cli.command()
@click.pass_obj
def indexes(workspace: Workspace) -> None:
    """List the workspace's indexes: files, chunks, embedder, size, last update."""
    from gptchat.commands import list_indexes

    for line in list_indexes(workspace):
        click.echo(line)


def main() -> None:
    """Entry point: run the CLI and turn known failures into one line and an exit code."""
    try:
        code = cli.main(prog_name="gptchat", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("gptchat: interrupted; everything committed so far is kept", err=True)
        sys.exit(130)
    except GptchatError as exc:
        click.echo(f"gptchat: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except sqlite3.Error as exc:
        click.echo(f"gptchat: database error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"gptchat: error: {exc}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)

"""The `gptchat` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gptchat import __version__
from gptchat.answer.open_session import open_chat_session
from gptchat.cli.indexing import list_indexes, run_index_with_bar
from gptchat.cli.learning import eval_command, finetune, models
from gptchat.cli.options import (
    FiniteNumber,
    WholeNumber,
    index_option,
    k_option,
    model_options,
    status,
)
from gptchat.cli.output import StatusLine, echo, echo_json
from gptchat.cli.translation import summarize, translate
from gptchat.errors import BadInput
from gptchat.index.catalog import IndexOptions, forget_paths
from gptchat.index.cluster import ClusterOptions, check_address
from gptchat.index.runtimes import RUNTIMES
from gptchat.log.store import AppStore
from gptchat.model.generator import DecodeOptions
from gptchat.model.loading import ModelOptions, load_generator
from gptchat.render.answers import (
    answer_json,
    closing_lines,
    conversation_json,
    conversation_lines,
    conversation_markdown,
    conversations_json,
    conversations_table,
    reading_line,
    taught_lines,
)
from gptchat.render.indexes import forget_lines
from gptchat.workspace import DEFAULT_INDEX, Workspace, workspace_home

MB = 1_000_000  # --max-file-mb counts decimal megabytes, as file managers do


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

    Run without a command to open the terminal app (`gptchat chat`); on first run it
    indexes gptchat's own user guide so there is something to ask about right away.
    """
    ctx.obj = Workspace(workspace_home(home))
    if ctx.invoked_subcommand is None:
        app = cli.get_command(ctx, "chat")  # added by gptchat.main, which holds both faces
        if app is None:
            raise click.UsageError("no command given (see `gptchat --help`)")
        ctx.invoke(app)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--name", "-n", default=DEFAULT_INDEX, show_default=True, help="Index name.")
@click.option("--rebuild", is_flag=True, help="Start the index over with the current settings.")
@click.option("--list", "list_only", is_flag=True, help="List the workspace's indexes and exit.")
@click.option(
    "--forget",
    is_flag=True,
    help="Drop what the index holds under PATHS without reading them (a folder moved away "
    "for good, a drive retired).",
)
@click.option(
    "--max-file-mb",
    type=FiniteNumber(min=0, min_open=True),
    default=IndexOptions.max_file_bytes // MB,
    show_default=True,
    help="Skip files larger than this.",
)
@click.option(
    "--embedder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A local sentence-transformers model folder (default: bundled all-MiniLM-L6-v2).",
)
@click.option("--chunk-tokens", type=WholeNumber(32), help="Chunk size in embedder tokens.")
@click.option(
    "--runtime",
    type=click.Choice(["auto", *RUNTIMES]),
    default=IndexOptions.runtime,
    show_default=True,
    help="What runs the embedder; auto: the fastest that gives PyTorch's vectors here.",
)
@click.option(
    "--vectors",
    "vector_search",
    type=click.Choice(["auto", "exact", "approximate"]),  # document_index.VECTOR_SEARCH
    help="Vector search: exact (a flat scan), approximate (IVF), or auto: approximate from "
    "1,000,000 chunks on (the default; kept once chosen).",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    metavar="[ADDRESS]",
    help="Read, chunk and embed on a Ray cluster (pip install 'gptchat[ray]'): ADDRESS as "
    "host:port, ray://host:port or auto; alone, a Ray instance on this machine.",
)
@click.option(
    "--ray-workers",
    type=WholeNumber(1),
    help="Embedding workers on Ray (default: one per GPU of the cluster, else 2).",
)
@click.option(
    "--overlap-tokens",
    type=WholeNumber(0),
    default=IndexOptions.overlap_tokens,
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
    forget: bool,
    max_file_mb: float,
    embedder: Path | None,
    chunk_tokens: int | None,
    runtime: str,
    vector_search: str | None,
    ray_address: str | None,
    ray_workers: int | None,
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
      gptchat index --forget /mnt/old-drive/docs   # drop a folder that is gone for good
      gptchat index ./docs --runtime torch   # PyTorch float32, the reference vectors
      gptchat index ~/wiki --vectors approximate
      gptchat index ~/wiki --ray             # on a Ray instance started for the run
      gptchat index /shared/wiki --ray=head-node:6379 --ray-workers 8
    """

    if list_only:
        for line in list_indexes(workspace):
            echo(line)
        return
    if forget:
        if not paths:
            raise BadInput("--forget needs the PATHS to drop")
        for line in forget_lines(forget_paths(workspace, name, list(paths)), name):
            echo(line)
        return
    options = IndexOptions(
        name=name,
        rebuild=rebuild,
        max_file_bytes=int(max_file_mb * MB),
        embedder_path=embedder,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        runtime=runtime,
        vector_search=vector_search,
        cluster=None
        if ray_address is None
        else ClusterOptions(check_address(ray_address), ray_workers),
    )
    if ray_workers is not None and ray_address is None:
        raise BadInput("--ray-workers needs --ray")
    for line in run_index_with_bar(workspace, list(paths), options):
        echo(line)


@cli.command()
@click.pass_obj
def indexes(workspace: Workspace) -> None:
    """List the workspace's indexes: files, chunks, embedder, size, last update."""

    for line in list_indexes(workspace):
        echo(line)


@cli.command()
@click.argument("question", required=False)
@index_option
@k_option
@click.option(
    "--conversation", "conversation_id", type=WholeNumber(1), help="Continue this conversation."
)
@click.option(
    "-c", "--continue", "continue_last", is_flag=True, help="Continue the latest conversation."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@model_options
@click.pass_obj
def ask(
    workspace: Workspace,
    question: str | None,
    index_name: str,
    k: int,
    conversation_id: int | None,
    continue_last: bool,
    as_json: bool,
    model_path: Path | None,
    int8: bool,
) -> None:
    """Answer QUESTION from an index's documents, with numbered sources.

    Without QUESTION, or with "-", the question is read from stdin.

    \b
    Examples:
      gptchat ask "How do I rotate the API key?"
      gptchat ask -c "And for staging?"
      gptchat ask "And for staging?" --conversation 3
      echo "What is the refund policy?" | gptchat ask --index policies --json
    """

    waiting = StatusLine()
    if question is None or question == "-":
        if sys.stdin.isatty():
            raise BadInput('give a QUESTION, or pipe one in: echo "QUESTION" | gptchat ask')
        question = sys.stdin.read()
    if continue_last:
        if conversation_id is not None:
            raise BadInput("choose one of --continue and --conversation")
        with AppStore.reading(workspace.app_db_path) as store:
            latest = store.conversations(limit=1)
        if not latest:
            raise BadInput("no conversation to continue yet (ask without -c first)")
        conversation_id = latest[0].id
    elif conversation_id is not None:
        with AppStore.reading(workspace.app_db_path) as store:  # before the model loads
            store.existing_conversation(conversation_id)
    # Seconds pass before the first word (the libraries, the model): say so at once.
    waiting.show("Loading the model…")
    opened = open_chat_session(
        workspace, index_name, ModelOptions(model_path, int8), k, report=waiting.report
    )
    try:
        opened.session.generator.load()
        waiting.show("Searching the documents…")
        answer = opened.session.ask(question, conversation_id)
        reading = reading_line(answer)
        if reading is not None:
            waiting.show(reading)
        try:
            for piece in answer:
                waiting.clear()
                if not as_json:
                    echo(piece, nl=False)
                    sys.stdout.flush()
        except KeyboardInterrupt:
            status("\ngptchat: interrupted; the partial answer is saved as interrupted")
            sys.exit(130)
        if as_json:
            echo_json(answer_json(answer))
        else:
            echo("\n")
            # The streamed text was the model's; the checked one ends whole, citations
            # checked, or is the source's sentence that holds the model's short answer.
            for line in closing_lines(answer):
                echo(line)
    finally:
        opened.close()


@cli.command()
@click.option(
    "--forget",
    "forget_id",
    type=WholeNumber(1),
    help="Forget taught answer N: never given back, shown or searched again (its feedback stays).",
)
@click.option(
    "--edit",
    "edit",
    type=(WholeNumber(1), str),
    metavar="N TEXT",
    help="Make taught answer N say TEXT from now on.",
)
@click.pass_obj
def taught(workspace: Workspace, forget_id: int | None, edit: tuple[int, str] | None) -> None:
    """What you taught: answers you corrected (or approved with +1). The same question asked
    again gets yours back, cited as yours; a close one is answered with yours as its first
    source; and the passages yours cites come first for questions near it.

    \b
    Examples:
      gptchat taught
      gptchat taught --edit 3 "Two minutes, at 80 degrees [1]."
      gptchat taught --forget 3
    """
    if forget_id is not None and edit is not None:
        raise BadInput("--forget and --edit: one at a time")
    if forget_id is not None:
        with AppStore(workspace.app_db_path) as store:
            forgotten = store.forget_taught(forget_id)
        echo(f"Forgotten: #{forgotten.id} {forgotten.question}")
        return
    if edit is not None:
        with AppStore(workspace.app_db_path) as store:
            edited = store.edit_taught(*edit)
        echo("Changed:")
        for line in taught_lines(edited):
            echo(line)
        return
    with AppStore.reading(workspace.app_db_path) as store:
        everything = store.taught_answers()
    if not everything:
        echo("Nothing taught yet: correct an answer in the app (e), or rate it +1.")
    for item in everything:
        for line in taught_lines(item):
            echo(line)


@cli.command()
@click.argument("prompt")
@click.option("--max-tokens", type=WholeNumber(1, 4096), default=60, show_default=True)
@click.option(
    "--temperature",
    type=FiniteNumber(0),
    default=DecodeOptions.temperature,
    show_default=True,
    help="0 decodes greedily; higher samples more freely.",
)
@model_options
@click.pass_obj
def generate(
    workspace: Workspace,
    prompt: str,
    max_tokens: int,
    temperature: float,
    model_path: Path | None,
    int8: bool,
) -> None:
    """Continue PROMPT with the local model: no documents, no chat template.

    \b
    Example:
      gptchat generate "Hello, my name is"
    """

    if not prompt.strip():
        raise BadInput("the prompt is empty")
    generator = load_generator(ModelOptions(model_path, int8), status, workspace)
    settings = DecodeOptions(max_new_tokens=max_tokens, temperature=temperature)
    echo(prompt, nl=False)
    for piece in generator.stream(prompt, settings, plain=True):
        echo(piece, nl=False)
        sys.stdout.flush()
    echo()


@cli.command()
@click.argument("conversation_id", type=WholeNumber(1), required=False)
@click.option("-n", "limit", type=WholeNumber(1), help="Only the N most recent.")
@click.option("-q", "--query", default="", help="Only conversations whose messages hold TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead.")
@click.option("--markdown", is_flag=True, help="With an ID: print it as a Markdown document.")
@click.pass_obj
def history(
    workspace: Workspace,
    conversation_id: int | None,
    limit: int | None,
    query: str,
    as_json: bool,
    markdown: bool,
) -> None:
    """List past conversations, or print conversation CONVERSATION_ID whole, with the
    ratings, corrections and comments you gave its answers.

    \b
    Examples:
      gptchat history
      gptchat history -n 5 -q "refund policy"
      gptchat history 3
      gptchat history 3 --json
      gptchat history 3 --markdown > chat.md
    """

    with AppStore.reading(workspace.app_db_path) as store:
        if conversation_id is None:
            found = store.conversations(query, limit)
            if as_json:
                return echo_json(conversations_json(found))
            lines = conversations_table(found, query)
        else:
            store.existing_conversation(conversation_id)
            if as_json:
                return echo_json(conversation_json(store, conversation_id))
            if markdown:
                return echo(conversation_markdown(store, conversation_id))
            lines = conversation_lines(store, conversation_id)
    for line in lines:
        echo(line)


for command in (eval_command, finetune, models, summarize, translate):
    cli.add_command(command)

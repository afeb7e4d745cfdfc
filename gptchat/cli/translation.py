"""`gptchat translate` and `gptchat summarize`: a text or file in another language, a file in
a few sentences."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from gptchat.answer.open_session import open_chat_session
from gptchat.answer.summarize import Summarizer, file_sections, indexed_file
from gptchat.answer.translate import Translator, cannot_translate
from gptchat.answer.translate_document import DocumentTranslator, readable_text, translated_points
from gptchat.cli.options import index_option, model_options, status
from gptchat.cli.output import echo
from gptchat.cli.progress import CountProgressBar
from gptchat.errors import BadInput
from gptchat.language.languages import Language, language_named
from gptchat.model.loading import ModelOptions, chosen_model, load_generator, model_translates
from gptchat.safe_files import write_replacing
from gptchat.workspace import DEFAULT_K, Workspace


class LanguageName(click.ParamType):
    """A language by code or English name: zh, fr, Chinese, French, ..."""

    name = "LANG"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, Language):
            return value
        try:
            return language_named(str(value))
        except BadInput as error:
            self.fail(str(error), param, ctx)


@click.command()
@click.argument("text")
@click.option("--to", "target", type=LanguageName(), required=True, help="Language to write.")
@click.option(
    "--from",
    "source",
    type=LanguageName(),
    help="Language of the text (default: the model tells from the text).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the translation to this file instead of the terminal.",
)
@model_options
@click.pass_obj
def translate(
    workspace: Workspace,
    text: str,
    target: Language,
    source: Language | None,
    out: Path | None,
    model_path: Path | None,
    int8: bool,
) -> None:
    """Translate TEXT, the file TEXT names, or stdin ("-") into another language.

    A file is translated block by block: headings, list items and paragraphs are translated;
    code blocks, tables and link addresses stay as they are. It needs a model that
    translates (`gptchat models pull qwen`, then `--model qwen`).

    \b
    Examples:
      gptchat translate "Where is the station?" --to fr --model qwen
      gptchat translate README.md --to zh --model qwen --out README.zh.md
      cat notes.md | gptchat translate - --to de --model qwen
    """

    document = _input_text(text)
    if not document.strip():
        raise BadInput("nothing to translate: the text is empty")
    options = ModelOptions(model_path, int8)
    choice = chosen_model(options, workspace)
    if not model_translates(choice):  # refused before the model is fetched or loaded
        raise cannot_translate(choice.name)
    translator = DocumentTranslator(Translator(load_generator(options, status, workspace)))
    if out is None and sys.stdout.isatty():
        # The translation streams to the terminal: it shows its own progress.
        _write(translator.stream(document, target, source), out)
        return
    with CountProgressBar() as bar:
        _write(translator.stream(document, target, source, progress=bar), out)


@click.command()
@click.argument("file")
@index_option
@click.option("--to", "target", type=LanguageName(), help="Write the summary in this language.")
@model_options
@click.pass_obj
def summarize(
    workspace: Workspace,
    file: str,
    index_name: str,
    target: Language | None,
    model_path: Path | None,
    int8: bool,
) -> None:
    """Summarize one indexed FILE (a path, or the end of one) in a few sentences.

    \b
    Examples:
      gptchat summarize guide.md
      gptchat summarize docs/streaming.md --to zh --model qwen
    """

    model = ModelOptions(model_path, int8)
    opened = open_chat_session(workspace, index_name, model, DEFAULT_K, status)
    try:
        path = indexed_file(opened.index, file)
        generator = opened.session.generator
        translator = DocumentTranslator(Translator(generator)) if target is not None else None
        status(f"Summarizing {path}…")
        points: Iterator[str] = Summarizer(generator, opened.session.budget).stream(
            file_sections(opened.index, path)
        )
        if translator is not None and target is not None:
            points = translated_points(points, translator, target)
        _write(points, None)
    finally:
        opened.close()


def _input_text(text: str) -> str:
    """TEXT itself, the file it names, or stdin for "-"."""
    if text == "-":
        if sys.stdin.isatty():
            raise BadInput("give TEXT or a FILE, or pipe text in: cat FILE | gptchat translate -")
        return sys.stdin.read()
    path = Path(text).expanduser()
    if "\n" not in text and len(text) < 4096 and path.exists():
        return readable_text(path)
    return text


def _write(pieces: Iterator[str], out: Path | None) -> None:
    """Stream `pieces` to the terminal, or gather them into `out`, written whole at the end."""
    if out is None:
        for piece in pieces:
            echo(piece, nl=False)
            sys.stdout.flush()
        echo()
        return
    text = "".join(pieces)
    try:
        write_replacing(out, text if text.endswith("\n") else text + "\n")
    except OSError as error:
        raise BadInput(f"cannot write {out}: {error.strerror or error}") from error
    status(f"Written to {out}")

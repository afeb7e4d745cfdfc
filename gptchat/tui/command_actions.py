"""The app's slash commands: /index with its progress bar, /model, /generate, /summarize,
/translate."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.widgets import ProgressBar

from gptchat.log.store import StoredSource
from gptchat.tui.chat_log import AnswerView
from gptchat.tui.dialogs import TextDialog
from gptchat.tui.slash_commands import SlashCommand, help_lines
from gptchat.workspace import guide_path

if TYPE_CHECKING:
    from gptchat.tui.assistant import Assistant
    from gptchat.tui.chat_log import ChatLog


class _IndexProgressRelay:
    """Indexing progress (a gptchat.progress.Progress) from a worker thread to the bar."""

    def __init__(self, app: CommandActions) -> None:
        self.app = app

    def start(self, total: int, label: str, unit: str = "") -> None:
        self.app.call_from_thread(self.app.progress_started, total)

    def advance(self, steps: int = 1, note: str = "") -> None:
        self.app.call_from_thread(self.app.progress_advanced, steps)


class _StatusProgressRelay:
    """Progress of a summary's or a translation's steps, from a worker thread to the status
    line: "Translating 3 of 12 blocks…"."""

    def __init__(self, app: CommandActions) -> None:
        self.app = app
        self.done = self.total = 0
        self.label = self.unit = ""

    def start(self, total: int, label: str, unit: str = "") -> None:
        self.done, self.total, self.label, self.unit = 0, total, label, unit

    def advance(self, steps: int = 1, note: str = "") -> None:
        self.done += steps
        message = f"{self.label} {self.done} of {self.total} {self.unit}…"
        self.app.call_from_thread(self.app.set_status, message)


class CommandActions(App[None]):
    """Slash-command handlers of GptchatApp, which provides the attributes and methods
    declared here."""

    assistant: Assistant
    log_view: ChatLog
    conversation_id: int | None
    _cancel: threading.Event | None
    model_state: str

    def load_model(self) -> None:
        raise NotImplementedError

    def model_ready(self) -> None:
        raise NotImplementedError

    def show_header(self) -> None:
        raise NotImplementedError

    def notify_error(self, error: BaseException | str, next_step: str = "") -> None:
        raise NotImplementedError

    def set_status(self, text: str) -> None:
        raise NotImplementedError

    async def stream_done(
        self, view: AnswerView, status: str, sources: list[StoredSource], text: str | None = None
    ) -> None:
        raise NotImplementedError

    async def refresh_conversations(self, keep: int | None = None) -> None:
        raise NotImplementedError

    async def find_conversations(self, text: str) -> None:
        raise NotImplementedError

    async def action_new_conversation(self) -> None:
        raise NotImplementedError

    async def run_slash_command(self, command: SlashCommand) -> None:
        if command.name == "help":
            await self.log_view.show_note("\n".join(help_lines()))
        elif command.name == "new":
            await self.action_new_conversation()
        elif command.name == "find":
            await self.find_conversations(command.argument)
        elif command.name == "export":
            if self.conversation_id is None:
                self.notify("Nothing to export yet: ask something first.")
                return
            target = Path(command.argument).expanduser() if command.argument else None
            try:
                written = self.assistant.export(self.conversation_id, target)
            except OSError as error:
                self.notify_error(f"cannot write {target}: {error.strerror or error}")
                return
            self.notify(f"Conversation written to {written}")
        elif command.name == "taught":
            if not command.argument:
                await self.log_view.show_note("\n".join(self.assistant.taught()))
                return
            try:
                if command.argument.startswith("edit"):
                    self.edit_taught(command.argument)
                else:
                    self.notify(self.assistant.forget_taught(command.argument))
            except Exception as error:
                self.notify_error(error)
        elif command.name == "index":
            self.set_status(f"Indexing {command.argument}…")
            self.index_paths([Path(command.argument).expanduser()], first_run=False)
        elif command.name == "model":
            if command.argument:
                self.switch_model(command.argument)
            else:
                versions = "\n".join(self.assistant.model_versions())
                await self.log_view.show_note(f"Model: {self.assistant.model_name}\n{versions}")
        elif command.name == "generate":
            await self._stream_command(
                command, lambda cancel: self.assistant.generate(command.argument, cancel)
            )
        elif command.name == "summarize":
            await self._stream_command(command, lambda cancel: self._summary(command, cancel))
        elif command.name == "translate":
            await self._stream_command(command, lambda cancel: self._translation(command, cancel))

    async def _stream_command(
        self, command: SlashCommand, start: Callable[[threading.Event], Iterable[str]]
    ) -> None:
        """Run /generate, /summarize or /translate into a new view of its own, kept like an
        answer."""
        shown = command.argument if command.name == "generate" else ""
        view = await self.log_view.add_answer(AnswerView(command.heading, shown))
        self._cancel = threading.Event()
        self.stream_worker(view, start, self._cancel, command)

    def _summary(self, command: SlashCommand, cancel: threading.Event) -> Iterator[str]:
        """The summary stream, reporting its map steps on the status line (worker thread)."""
        name, target = command.summary_file()
        progress = _StatusProgressRelay(self)
        path, pieces = self.assistant.summarize(name, cancel, progress, target)
        self.call_from_thread(self.set_status, f"Summarizing {path}…")
        return pieces

    def _translation(self, command: SlashCommand, cancel: threading.Event) -> Iterator[str]:
        """The translation stream, reporting its blocks on the status line (worker thread)."""
        target, text = command.translation()
        self.call_from_thread(self.set_status, f"Translating into {target.name}…")
        progress = _StatusProgressRelay(self)
        return self.assistant.translate(target, text, self.conversation_id, cancel, progress)

    @work(thread=True, group="generation")
    def stream_worker(
        self,
        view: AnswerView,
        start: Callable[[threading.Event], Iterable[str]],
        cancel: threading.Event,
        command: SlashCommand,
    ) -> None:
        """Stream text that is not an answer (a continuation, a summary) into `view`; the
        command and its output are kept in the conversation like a question and its answer."""
        conversation_id, message_id = self.assistant.log_command(self.conversation_id, command)
        self.call_from_thread(self.command_logged, view, conversation_id, message_id)
        status = "complete"
        try:
            for piece in start(cancel):
                self.call_from_thread(view.append, piece)
            if cancel.is_set():
                status = "interrupted"
        except Exception as error:
            status = "error"
            self.call_from_thread(self.notify_error, error)
        # What the view shows (a continuation begins with its prompt), each append done by now.
        self.assistant.finish_command(message_id, view.text.strip(), status)
        self.call_from_thread(self.stream_done, view, status, [])

    async def command_logged(self, view: AnswerView, conversation_id: int, message_id: int) -> None:
        view.message_id = message_id
        if conversation_id != self.conversation_id:
            self.conversation_id = conversation_id
            await self.refresh_conversations()

    def index_paths(self, paths: list[Path], first_run: bool) -> None:
        # Marked before the worker starts: a question typed from now on waits for the index.
        self.assistant.indexing_begins()
        self._index_worker(paths, first_run)

    @work(thread=True, group="index", exclusive=True)
    def _index_worker(self, paths: list[Path], first_run: bool) -> None:
        try:
            lines = self.assistant.index(paths, _IndexProgressRelay(self))
        except Exception as error:
            self.call_from_thread(self.index_failed, error, first_run)
            return
        self.call_from_thread(self.index_done, lines, first_run)

    def progress_started(self, total: int) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=0)
        bar.remove_class("-hidden")

    def progress_advanced(self, steps: int) -> None:
        self.query_one(ProgressBar).advance(steps)

    async def index_done(self, lines: list[str], first_run: bool) -> None:
        self.query_one(ProgressBar).add_class("-hidden")
        self.set_status("")
        self.show_header()
        # A question typed while indexing waits for its answer: the summary goes above it.
        show = self.log_view.show_note_before_question if self._cancel else self.log_view.show_note
        await show("\n".join(lines))
        if first_run:
            await show(f"Indexed the user guide ({guide_path()}). Try: how do I rate an answer?")
        if first_run or self.model_state == "no index":
            self.load_model()

    def index_failed(self, error: BaseException, first_run: bool) -> None:
        self.query_one(ProgressBar).add_class("-hidden")
        self.set_status("")
        step = "try /index PATH with another folder" if first_run else "nothing indexed was lost"
        self.notify_error(error, step)

    @work(thread=True, group="model")
    def switch_model(self, choice: str) -> None:
        """`/model N`, `base`, `NAME` (a catalog model) or `PATH`, loaded behind the status."""
        self.call_from_thread(self.set_status, f"Loading {choice}…")

        def report(message: str) -> None:
            self.call_from_thread(self.set_status, message)

        try:
            name = self.assistant.switch_model(choice, report)
        except Exception as error:
            self.call_from_thread(self.notify_error, error, "the model in use is unchanged")
            self.call_from_thread(self.set_status, "")
            return
        self.call_from_thread(self.notify, f"Now answering with {name}.")
        self.call_from_thread(self.model_ready)

    def edit_taught(self, argument: str) -> None:
        """`/taught edit N`: the taught answer in the editor; saved, it is what is taught."""
        taught = self.assistant.taught_answer(argument.removeprefix("edit"))

        def edited(text: str | None) -> None:
            if text is None:
                return
            try:
                self.notify(self.assistant.edit_taught(taught.id, text))
            except Exception as error:
                self.notify_error(error)

        self.push_screen(TextDialog(f"Taught answer #{taught.id}", taught.answer), edited)

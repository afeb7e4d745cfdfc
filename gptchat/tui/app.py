"""GptchatApp: the chat screen. Widgets and workers only; the work is Assistant's."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, ListView, ProgressBar, Static

from gptchat.control_chars import visible
from gptchat.errors import GptchatError
from gptchat.log.store import StoredSource
from gptchat.render.answers import language_line, reading_line, taught_label
from gptchat.tui.assistant import Assistant
from gptchat.tui.chat_log import AnswerView, ChatLog, source_label
from gptchat.tui.command_actions import CommandActions
from gptchat.tui.conversation_list import ConversationItem, ConversationList
from gptchat.tui.dialogs import PassageDialog
from gptchat.tui.notices import describe_error, error_notice
from gptchat.tui.side_panel import BREAKPOINTS, SIDE_PANEL_CSS
from gptchat.tui.slash_commands import COMMANDS, parse_slash_command
from gptchat.tui.sources_panel import SourceItem, SourcesPanel
from gptchat.workspace import DEFAULT_INDEX

if TYPE_CHECKING:
    from gptchat.answer.session import Answer


# Far more than fits a prompt (the check says so on Enter); without a bound, a huge text
# typed key by key (no bracketed paste) slows the input to a crawl.
QUESTION_MAX_CHARS = 20_000
FIRST_FRAME_S = 0.3  # how long loading waits so the first screen is drawn without contention


class WarningToasts(logging.Handler):
    """gptchat's warnings (a cache rebuilt, a damaged version passed over) as toasts."""

    def __init__(self, app: GptchatApp) -> None:
        super().__init__(logging.WARNING)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        try:  # most warnings come from workers
            self.app.call_from_thread(self.app.notify, message, severity="warning")
        except RuntimeError:  # raised on the app's own thread: notify directly
            self.app.notify(message, severity="warning")


WELCOME = (
    "Ask a question about your documents; answers cite their sources as [n].\n"
    "Select an answer (Up from the empty input) to rate it with + or -, correct it with e, "
    "or comment with c.\n"
    "Add your own documents with /index PATH; /help lists the commands; Ctrl+P opens the "
    "command palette."
)


class GptchatApp(CommandActions):
    """Ask the documents, read cited answers as they stream, rate and correct them."""

    TITLE = "gptchat"
    HORIZONTAL_BREAKPOINTS = BREAKPOINTS
    CSS = (
        SIDE_PANEL_CSS
        + """
    #body { height: 1fr; }
    #conversations { width: 36; border: round $primary-darken-2; }
    ConversationItem .title { text-wrap: nowrap; text-overflow: ellipsis; }
    ConversationItem .when { color: $text-disabled; }
    Screen.-medium #conversations { width: 28; }
    #main { width: 1fr; }
    /* A reserved scrollbar column: text that fits only without the bar would otherwise show and
       hide it for ever, re-laying out the screen many times a second. */
    #log { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    #sources { width: 40; border: round $primary-darken-2; border-title-align: left; }
    #status { height: auto; color: $text-muted; padding: 0 1; }
    #progress { height: 1; padding: 0 1; }
    #progress.-hidden { display: none; }
    .question { margin: 1 0 0 0; padding: 0 1; background: $boost; text-style: bold; }
    .note { margin: 1 0 0 0; color: $text-muted; }
    .answer { height: auto; border: round $surface-lighten-2; padding: 0 1; }
    .answer:focus { border: round $accent; }
    .answer .details { color: $text-muted; }
    .source-label { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    .snippet { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    SourceItem { padding: 0 0 1 0; }
    .dialog { align: center middle; }
    .dialog > Vertical { width: 80%; height: auto; max-height: 80%; border: thick $primary;
                         background: $surface; padding: 1 2; }
    .dialog TextArea { height: 12; }
    .dialog .buttons { height: auto; margin-top: 1; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        # Short names: all of them fit an 80-column footer.
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+b", "toggle_conversations", "Chats"),
        Binding("ctrl+o", "focus_sources", "Sources"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, assistant: Assistant) -> None:
        super().__init__()
        self.assistant = assistant
        self.conversation_id: int | None = None
        self.model_state = "loading"
        self.index_roots: tuple[str, ...] = ()  # what show_header last read of the index
        self._cancel: threading.Event | None = None  # set while an answer streams
        self._warnings = WarningToasts(self)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            conversations = ConversationList(self.assistant, id="conversations")
            conversations.border_title = "Chats"
            yield conversations
            with Vertical(id="main"):
                yield ChatLog(self.assistant, id="log")
                yield Static("", id="status", markup=False)
                yield ProgressBar(id="progress", classes="-hidden", show_eta=True)
                yield Input(
                    placeholder="Ask about your documents, or /help",
                    id="question",
                    max_length=QUESTION_MAX_CHARS,
                )
            sources = SourcesPanel(id="sources")
            sources.border_title = "Sources"
            yield sources
        # Ctrl+P is in the welcome and /help; its footer entry would push others off 80 columns.
        yield Footer(compact=True, show_command_palette=False)

    @property
    def log_view(self) -> ChatLog:
        return self.query_one(ChatLog)

    @property
    def question_input(self) -> Input:
        return self.query_one("#question", Input)

    @property
    def conversation_list(self) -> ConversationList:
        return self.query_one(ConversationList)

    def on_unmount(self) -> None:
        logging.getLogger("gptchat").removeHandler(self._warnings)

    async def on_mount(self) -> None:
        logging.getLogger("gptchat").addHandler(self._warnings)
        theme = self.assistant.theme()
        if theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(
            self, lambda chosen: self.assistant.keep_theme(chosen.name)
        )
        self.question_input.focus()
        self.show_header()
        last = self.assistant.last_conversation()
        await self.refresh_conversations()
        if last is not None:
            await self.open_conversation(last)
        else:
            await self.log_view.show_note(WELCOME)
        if not self.assistant.needs_first_index():
            # After the first frame: importing torch holds the interpreter for a second, and
            # the screen should be there before it.
            self.set_timer(FIRST_FRAME_S, self.load_model)
        elif self.assistant.index_name == DEFAULT_INDEX:
            self.set_status("First run: indexing the gptchat user guide, so you can ask about it.")
            self.index_paths([], first_run=True)
        else:
            name = self.assistant.index_name
            self.model_state = "no index"
            self.notify_error(f"index '{name}' is empty or missing", "add documents: /index PATH")

    def show_header(self) -> None:
        facts = self.assistant.index_facts()
        self.index_roots = facts.roots if facts else ()
        index = (
            f"{facts.name}: {facts.files} files, {facts.chunks} chunks"
            if facts
            else f"{self.assistant.index_name}: empty"
        )
        model = self.assistant.model_name
        # Most needed first: a narrow header cuts the end, and the workspace can be read in /help.
        where = self.assistant.workspace.root
        self.sub_title = f"{self.model_state} · {model} · {index} · {where}"

    def set_status(self, text: str) -> None:
        # Workers report here; one that ends while the app shuts down finds no status line.
        for status in self.query("#status").results(Static):
            status.update(visible(text))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry paths, file names and document text: shown as text, never markup."""
        super().notify(
            visible(message), title=title, severity=severity, timeout=timeout, markup=markup
        )

    def notify_error(self, error: BaseException | str, next_step: str = "") -> None:
        self.notify(error_notice(error, next_step), severity="error")

    # -- the model -------------------------------------------------------------------------

    @work(thread=True, group="model")
    def load_model(self) -> None:
        """Load index, embedder and model behind a status line; the input stays usable."""
        self.model_state = "loading"
        self.call_from_thread(self.set_status, f"Loading {self.assistant.model_name}…")
        try:
            self.assistant.load(lambda message: self.call_from_thread(self.set_status, message))
        except Exception as error:
            self.call_from_thread(self.model_failed, error)
            return
        self.call_from_thread(self.model_ready)

    def model_ready(self) -> None:
        self.model_state = "ready"
        self.set_status("")
        self.show_header()

    def model_failed(self, error: BaseException) -> None:
        self.model_state = "not loaded"
        self.set_status(f"Model not loaded: {describe_error(error)}")
        self.notify_error(error, "fix it, then ask again (or /model PATH)")
        self.show_header()

    # -- asking ----------------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self._cancel is not None:
            self.notify("Still answering: Esc stops it.", severity="warning")
            return  # the text stays in the input
        try:
            command = parse_slash_command(text)
        except GptchatError as error:
            self.notify_error(error)
            return
        event.input.value = ""
        if command is None:
            await self.ask(text[1:] if text.startswith("//") else text)
        else:
            await self.run_slash_command(command)

    async def ask(self, question: str) -> None:
        await self.log_view.add_question(question)
        view = await self.log_view.add_answer(AnswerView())
        if not self.assistant.loaded and self.assistant.indexing:
            self.set_status("Indexing first; your question is kept and answered after.")
        elif not self.assistant.loaded:
            self.set_status("Waiting for the model to load; your question is kept.")
        else:
            self.set_status("Searching your documents…")  # the first sign of work, at once
        self._cancel = threading.Event()
        self.answer_worker(question, view, self._cancel)

    @work(thread=True, group="generation")
    def answer_worker(self, question: str, view: AnswerView, cancel: threading.Event) -> None:
        try:
            answer = self.assistant.ask(question, self.conversation_id, cancel)
        except Exception as error:
            self.call_from_thread(self.ask_failed, question, view, error)
            return
        self.call_from_thread(self.answer_started, view, answer)
        # The model, the libraries and the conversation so far outlive this answer: frozen, they
        # are left out of the full garbage collections that decoding triggers, each of which
        # otherwise held the interpreter (and the screen) for about 350 ms.
        gc.freeze()
        try:
            for number, piece in enumerate(answer):
                if number == 0:
                    self.call_from_thread(self.set_status, "")
                self.call_from_thread(view.append, piece)
        except Exception as error:
            self.call_from_thread(self.notify_error, error, "the partial answer is kept")
        # ChatSession has logged the answer and its sources by now, however it ended.
        sources = self.assistant.sources(answer.message_id)
        self.call_from_thread(self.stream_done, view, answer.status, sources, answer.text)

    async def answer_started(self, view: AnswerView, answer: Answer) -> None:
        view.message_id = answer.message_id
        if answer.taught is not None:
            view.heading = taught_label(answer.taught, answer.stale)
        language = language_line(answer)
        if language is not None:
            view.heading = f"answer · {language}"
        reading = reading_line(answer)
        if reading is not None:
            self.set_status(reading)
        if answer.conversation_id != self.conversation_id:
            self.conversation_id = answer.conversation_id
            await self.refresh_conversations()

    async def ask_failed(self, question: str, view: AnswerView, error: BaseException) -> None:
        self._cancel = None
        await view.finish("error", [])
        self.set_status("")
        if not self.question_input.value:
            self.question_input.value = question  # never lose what the user typed
        self.notify_error(error, "your question is back in the input")

    async def stream_done(
        self, view: AnswerView, status: str, sources: list[StoredSource], text: str | None = None
    ) -> None:
        self._cancel = None
        await view.finish(status, sources, text, self.index_roots)
        if view.message_id is not None:
            view.show_feedback(self.assistant.feedback(view.message_id))
        await self.query_one(SourcesPanel).show(sources)
        self.set_status("")
        await self.refresh_conversations()  # its message count and place in the list

    def action_stop(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.set_status("Stopping…")
        elif self.focused is not self.question_input:
            self.question_input.focus()

    # -- feedback --------------------------------------------------------------------------

    async def on_answer_view_selected(self, event: AnswerView.Selected) -> None:
        await self.query_one(SourcesPanel).show(event.view.sources)

    # -- conversations ---------------------------------------------------------------------

    async def refresh_conversations(self, keep: int | None = None) -> None:
        await self.conversation_list.reload(self.conversation_id, keep)

    async def find_conversations(self, text: str) -> None:
        await self.conversation_list.find(text)

    async def open_conversation(self, conversation_id: int) -> None:
        if self._cancel is not None:
            self.notify("Still answering: Esc stops it first.", severity="warning")
            return
        self.conversation_id = conversation_id
        self.assistant.remember_conversation(conversation_id)
        await self.log_view.show_conversation(conversation_id, self.index_roots)
        answers = self.log_view.answers()
        await self.query_one(SourcesPanel).show(answers[-1].sources if answers else [])
        await self.refresh_conversations()
        self.log_view.scroll_end(animate=False)

    async def action_new_conversation(self) -> None:
        if self._cancel is not None:
            self.notify("Still answering: Esc stops it first.", severity="warning")
            return
        self.conversation_id = None
        self.assistant.remember_conversation(None)
        await self.log_view.remove_children()
        await self.log_view.show_note("New conversation. Ask away.")
        await self.query_one(SourcesPanel).show([])
        await self.refresh_conversations()
        self.question_input.focus()

    def action_toggle_conversations(self) -> None:
        """Ctrl+B: show the list and go there; from the list, hide it and go back."""
        conversations = self.conversation_list
        if conversations.display and conversations.has_focus:
            conversations.conceal()
            self.question_input.focus()
        else:
            conversations.reveal()

    async def on_conversation_list_deleted(self, event: ConversationList.Deleted) -> None:
        if event.conversation_id == self.conversation_id:
            await self.action_new_conversation()

    # -- sources ---------------------------------------------------------------------------

    def action_focus_sources(self) -> None:
        panel = self.query_one(SourcesPanel)
        if panel.children:
            panel.reveal()
        else:
            self.notify("No sources yet: they show here once a question is answered.")

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, SourceItem):
            source = event.item.source
            self.push_screen(PassageDialog(source_label(source), source.text, source.evidence))
        elif isinstance(event.item, ConversationItem):
            self.run_worker(self.open_conversation(event.item.conversation.id))

    # -- keys and the command palette ------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        # Up in the empty input selects the latest answer, where + - e c work.
        if (
            event.key == "up"
            and self.focused is self.question_input
            and not self.question_input.value
        ):
            answers = self.log_view.answers()
            if answers:
                answers[-1].focus()
                event.stop()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "New conversation", "Start a new chat (Ctrl+N)", self.action_new_conversation
        )
        yield SystemCommand(
            "Toggle conversations",
            "Show or hide the chat list (Ctrl+B)",
            self.action_toggle_conversations,
        )
        for name, (argument, what) in COMMANDS.items():
            if name in ("new", "help"):
                continue
            yield SystemCommand(f"/{name} {argument}".rstrip(), what, self._prefill(name))

    def _prefill(self, name: str) -> Callable[[], None]:
        def prefill() -> None:
            self.question_input.value = f"/{name} "
            self.question_input.cursor_position = len(self.question_input.value)
            self.question_input.focus()

        return prefill

    async def action_quit(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.exit()

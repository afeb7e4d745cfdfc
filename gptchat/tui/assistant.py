"""What the terminal app does, without the UI: the app calls it, workers run its slow parts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.answer.open_session import OpenSession, open_chat_session
from gptchat.answer.session import Answer
from gptchat.answer.summarize import Summarizer, file_sections, indexed_file
from gptchat.answer.translate_document import DocumentTranslator, readable_text, translated_points
from gptchat.control_chars import one_line
from gptchat.errors import BadInput
from gptchat.index.catalog import IndexOptions, run_index
from gptchat.index.document_index import DocumentIndex
from gptchat.language.languages import Language
from gptchat.log.store import (
    AppStore,
    Conversation,
    Feedback,
    Message,
    StoredSource,
    TaughtAnswer,
)
from gptchat.model.generator import DecodeOptions
from gptchat.model.loading import ModelOptions, load_generator
from gptchat.model.versions import (
    GENERATOR_STATE,
    STARTER_STATE,
    active_generator,
    choice_for,
    root_choice,
    use_model_version,
    version_target,
)
from gptchat.progress import Progress
from gptchat.render.answers import conversation_markdown, given_back_label, taught_lines
from gptchat.render.indexes import report_lines
from gptchat.render.models import versions_table
from gptchat.safe_files import make_folder, write_replacing
from gptchat.tui.slash_commands import SlashCommand
from gptchat.workspace import DEFAULT_INDEX, DEFAULT_K, Workspace, guide_path

if TYPE_CHECKING:
    from gptchat.answer.open_session import OpenSession
    from gptchat.answer.session import Answer
    from gptchat.index.document_index import DocumentIndex
    from gptchat.progress import Progress

LAST_CONVERSATION = "last_conversation"
THEME = "theme"


@dataclass(frozen=True)
class IndexFacts:
    """What the header shows of the index."""

    name: str
    files: int
    chunks: int
    roots: tuple[str, ...]  # the indexed files and folders: sources are shown relative to them


class Assistant:
    """The app's one collaborator: conversations, feedback, indexing, and the chat session."""

    def __init__(
        self,
        workspace: Workspace,
        index_name: str = DEFAULT_INDEX,
        model: ModelOptions | None = None,
        k: int = DEFAULT_K,
    ) -> None:
        self.workspace = workspace
        self.index_name = index_name
        self.model = model or ModelOptions()
        self.k = k
        self.store = AppStore(workspace.app_db_path)
        self._opened: OpenSession | None = None
        self._lock = threading.Lock()  # one loader at a time; asks wait for it
        self._not_indexing = threading.Event()  # clear while an index run is under way
        self._not_indexing.set()

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.close()
                self._opened = None
        self.store.close()

    # -- the index (cheap reads; indexing runs in a worker) --------------------------------

    def index_facts(self) -> IndexFacts | None:
        """Files and chunks of the index, or None when it does not exist yet."""

        if self.index_name not in self.workspace.index_names():
            return None
        with DocumentIndex.open(self.workspace.index_dir(self.index_name)) as index:
            counts, roots = index.counts(), tuple(index.roots())
        return IndexFacts(self.index_name, counts.files, counts.chunks, roots)

    def needs_first_index(self) -> bool:
        facts = self.index_facts()
        return facts is None or facts.files == 0

    def index(self, paths: list[Path], progress: Progress | None = None) -> list[str]:
        """Add `paths` to the index (the user guide when none); returns the summary lines."""

        options = IndexOptions(self.index_name)
        self.indexing_begins()
        try:
            report = run_index(self.workspace, paths or [guide_path()], options, progress)
        finally:
            self._not_indexing.set()
        return report_lines(report, self.index_name)

    def indexing_begins(self) -> None:
        """Say an index run is starting: loading waits for it (see load)."""
        self._not_indexing.clear()

    @property
    def indexing(self) -> bool:
        return not self._not_indexing.is_set()

    # -- the model (loads in a worker) -----------------------------------------------------

    @property
    def model_name(self) -> str:
        """The model that answers (or will, once loaded), with its version."""

        if self._opened is not None:
            return self._opened.session.generator.name
        if self.model.path is not None:
            return self.model.path.name
        return choice_for(self.workspace, self.store, self.store.active_model_version()).name

    @property
    def loaded(self) -> bool:
        return self._opened is not None

    def load(self, report: Callable[[str], None] = lambda message: None) -> None:
        """Open the index, the embedder and the model (seconds; a worker's job)."""

        if self._opened is None:
            # A question typed during the first run's indexing waits for the index it needs.
            self._not_indexing.wait()
        with self._lock:
            if self._opened is None:
                opened = open_chat_session(
                    self.workspace, self.index_name, self.model, self.k, report, self.store
                )
                try:
                    # Both now, so that "ready" means the first question waits for neither.
                    report(f"Loading {opened.session.generator.name}…")
                    opened.session.generator.load()
                    report("Loading the embedder…")
                    opened.session.retriever.embedder.load()
                except BaseException:
                    opened.close()
                    raise
                self._opened = opened

    def model_versions(self) -> list[str]:
        """The `gptchat models` table."""

        return versions_table(self.store.model_versions(), root_choice(self.store))

    def switch_model(self, choice: str, report: Callable[[str], None]) -> str:
        """`/model N`, `/model starter`, `/model base`, `/model NAME` (a catalog model) or
        `/model PATH`; returns the name now answering."""

        target = version_target(choice)
        if target is not None:
            return self.use_version(target, report)
        return self.use_model(Path(choice).expanduser(), report)

    def use_version(self, version: int | str, report: Callable[[str], None]) -> str:
        """Activate a fine-tuned version, "starter", "base" or a catalog model, and answer with
        it."""

        previous = self.store.active_model_version()
        previous_starter = self.store.state(STARTER_STATE)
        previous_generator = active_generator(self.store)
        use_model_version(self.workspace, version, self.store)
        try:
            return self.use_model(None, report)
        except BaseException:
            # It did not load: the version that answered before stays the active one.
            self.store.activate_model_version(previous.id if previous else None)
            self.store.set_state(STARTER_STATE, previous_starter or "on")
            self.store.set_state(GENERATOR_STATE, previous_generator)
            raise

    def use_model(self, path: Path | None, report: Callable[[str], None]) -> str:
        """Switch to the model folder `path` (None: the active version); returns its name."""

        options = ModelOptions(path, self.model.int8)
        # This fails before anything changes.
        generator = load_generator(options, report, self.workspace, self.store)
        with self._lock:
            self.model = options
            if self._opened is not None:
                self._opened.session.generator = generator
        return generator.name

    def _opened_session(self) -> OpenSession:
        self.load()
        assert self._opened is not None  # load() set it or raised
        return self._opened

    # -- asking ----------------------------------------------------------------------------

    def ask(self, question: str, conversation_id: int | None, cancel: threading.Event) -> Answer:
        """Start an answer; iterate it for the text (see ChatSession.ask)."""
        answer = self._opened_session().session.ask(question, conversation_id, cancel)
        self.remember_conversation(answer.conversation_id)
        return answer

    def generate(self, text: str, cancel: threading.Event) -> Iterator[str]:
        """Plain continuation of `text`: no documents, no chat template."""

        if not text.strip():
            raise BadInput("give some text to continue: /generate TEXT")
        generator = self._opened_session().session.generator
        return iter(generator.stream(text, DecodeOptions(max_new_tokens=200), cancel, plain=True))

    def summarize(
        self,
        name: str,
        cancel: threading.Event,
        progress: Progress,
        target: Language | None = None,
    ) -> tuple[str, Iterator[str]]:
        """The indexed file called `name` and its summary as it streams (in `target`, if
        given)."""

        opened = self._opened_session()
        path = indexed_file(opened.index, name)
        # The translator first: a model that cannot translate is refused before any summary.
        translator = self._document_translator() if target is not None else None
        summarizer = Summarizer(opened.session.generator, opened.session.budget)
        points = summarizer.stream(file_sections(opened.index, path), cancel, progress)
        if translator is not None and target is not None:
            points = translated_points(points, translator, target, cancel)
        return path, points

    def translate(
        self,
        target: Language,
        text: str,
        conversation_id: int | None,
        cancel: threading.Event,
        progress: Progress,
    ) -> Iterator[str]:
        """The translation of `text`, or of the file it names, as it streams (of the latest
        answer in the conversation when `text` is empty)."""
        text = text.strip()
        if not text:
            text = self._latest_answer(conversation_id)
        elif Path(text).expanduser().is_file():
            text = readable_text(Path(text).expanduser())
        return self._document_translator().stream(text, target, cancel=cancel, progress=progress)

    def _document_translator(self) -> DocumentTranslator:
        """A translator on the active model (the one its answers use, loaded once); BadInput
        naming the model that can, if it cannot."""
        session = self._opened_session().session
        return DocumentTranslator(session.languages.translator(session.generator))

    def _latest_answer(self, conversation_id: int | None) -> str:
        """The text of the latest answer in the conversation, for a bare /translate."""
        messages = self.messages(conversation_id) if conversation_id is not None else []
        answers = [m.content for m in messages if m.role == "assistant" and m.content.strip()]
        if not answers:
            raise BadInput("/translate LANG TEXT: give the text (or ask something first)")
        return answers[-1]

    # -- conversations and feedback --------------------------------------------------------

    def conversations(self, matching: str = "") -> list[Conversation]:
        """Newest first; with `matching`, those whose messages hold all of its words."""
        return self.store.conversations(matching)

    def messages(self, conversation_id: int) -> list[Message]:
        return self.store.messages(conversation_id)

    def sources(self, message_id: int) -> list[StoredSource]:
        return self.store.sources(message_id)

    def feedback(self, message_id: int) -> Feedback | None:
        return self.store.feedback(message_id)

    def rate(self, message_id: int, rating: int) -> Feedback:
        """+1 or -1; the same rating again clears it."""
        return self.store.toggle_rating(message_id, rating)

    def correct(self, message_id: int, better_answer: str) -> Feedback:
        """Store `better_answer` as what the model should have said."""
        return self.store.set_feedback(message_id, correction=better_answer)

    def comment(self, message_id: int, text: str) -> Feedback:
        return self.store.set_feedback(message_id, comment=text)

    def rename(self, conversation_id: int, title: str) -> None:
        self.store.rename_conversation(conversation_id, title)

    def export(self, conversation_id: int, target: Path | None = None) -> Path:
        """Write a conversation as Markdown (default: exports/conversation-N.md in the
        workspace); returns where."""

        if target is None:
            folder = make_folder(self.workspace.root, self.workspace.exports_dir)
            path = folder / f"conversation-{conversation_id}.md"
        else:
            path = target.expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
        write_replacing(path, conversation_markdown(self.store, conversation_id) + "\n")
        return path

    def taught(self) -> list[str]:
        """`/taught`: what the user taught, a few lines each."""
        everything = self.store.taught_answers()
        if not everything:
            return ["Nothing taught yet: correct an answer (e), or rate it +1."]
        return [line for item in everything for line in taught_lines(item)]

    def given_back_label(self, taught_id: int) -> str:
        """What an answer given back from taught answer `taught_id` is called."""
        return given_back_label(self.store, taught_id)

    def taught_answer(self, argument: str) -> TaughtAnswer:
        """The taught answer an argument names ("3", "#3"); BadInput if none."""
        number = argument.strip().removeprefix("#")
        if not number.isdigit():
            raise BadInput("say which: /taught edit N or /taught forget N (N from /taught)")
        return self.store.taught_answer(int(number))

    def forget_taught(self, argument: str) -> str:
        """`/taught forget N`; returns what was forgotten."""
        forgotten = self.store.forget_taught(self.taught_answer(argument.removeprefix("forget")).id)
        return f"Forgotten: #{forgotten.id} {forgotten.question}"

    def edit_taught(self, taught_id: int, answer: str) -> str:
        """Make taught answer `taught_id` say `answer`; returns what is taught now."""
        edited = self.store.edit_taught(taught_id, answer)
        return f"Taught #{edited.id} now says: {one_line(edited.answer)}"

    def delete(self, conversation_id: int) -> None:
        self.store.delete_conversation(conversation_id)

    def theme(self) -> str | None:
        """The theme the user last chose in this workspace."""
        return self.store.state(THEME)

    def keep_theme(self, name: str) -> None:
        self.store.set_state(THEME, name)

    def last_conversation(self) -> int | None:
        """The conversation the app showed when it was last closed, if it still exists."""
        value = self.store.state(LAST_CONVERSATION)
        if value and self.store.conversation(int(value)) is not None:
            return int(value)
        return None

    def log_command(self, conversation_id: int | None, command: SlashCommand) -> tuple[int, int]:
        """Keep a /summarize or /generate in the conversation (a new one if None) as a turn;
        returns the conversation and the id of the reply to fill with finish_command."""
        if conversation_id is None:
            conversation_id = self.store.new_conversation(command.title, self.index_name)
        typed = f"/{command.name} {command.argument}"
        asked = self.store.add_message(conversation_id, "user", typed)
        reply = self.store.add_message(
            conversation_id, "assistant", "", status="streaming", reply_to=asked
        )
        self.remember_conversation(conversation_id)
        return conversation_id, reply

    def finish_command(self, message_id: int, text: str, status: str) -> None:
        """The command's output, as it ended: no prompt and no sources, so never training data."""
        self.store.finish_answer(message_id, text, text, status, self.model_name, None, {}, [])

    def remember_conversation(self, conversation_id: int | None) -> None:
        self.store.set_state(
            LAST_CONVERSATION, "" if conversation_id is None else str(conversation_id)
        )

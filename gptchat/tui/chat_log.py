"""The chat log: questions, streaming answers with their sources and the user's rating."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownBlock, MarkdownFence, MarkdownStream

from gptchat.control_chars import visible
from gptchat.log.store import Feedback, StoredSource
from gptchat.render.answers import shown_location, source_line
from gptchat.tui.assistant import Assistant
from gptchat.tui.dialogs import TextDialog
from gptchat.tui.notices import error_notice
from gptchat.tui.slash_commands import reply_heading

STATUS_NOTES = {
    "interrupted": "stopped — partial answer kept",
    "error": "generation failed",
    "no_answer": "not in the documents",
}


def source_label(source: StoredSource, roots: Sequence[str] = ()) -> str:
    """`[n] path:lines — heading`; the path relative to the indexed folder among `roots`."""
    return source_line(source.source_number, shown_location(source, roots), source.heading)


def feedback_note(feedback: Feedback | None) -> str:
    if feedback is None:
        return ""
    notes = []
    if feedback.rating is not None:
        notes.append("rated +1" if feedback.rating > 0 else "rated -1")
    if feedback.correction:
        notes.append("corrected")
    if feedback.comment:
        notes.append("commented")
    return " · ".join(notes)


class _PlainUnlessNamedFence(MarkdownFence):
    """A code block highlighted only when it names its language."""

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        # Without a name, Pygments guesses by trying every lexer it has: hundreds of
        # milliseconds on the UI thread, again at every token streamed into the block.
        return super().highlight(code, language or "text", ansi, dark)


class AnswerMarkdown(Markdown):
    """Markdown for model answers, cheap enough to re-render at every token."""

    BLOCKS: ClassVar[dict[str, type[MarkdownBlock]]] = {
        **Markdown.BLOCKS,
        "fence": _PlainUnlessNamedFence,
        "code_block": _PlainUnlessNamedFence,
    }


class QuestionView(Static):
    """One question, as typed."""

    def __init__(self, text: str) -> None:
        super().__init__(visible(text), markup=False, classes="question")


class NoteView(Static):
    """A line from the app itself: a welcome, a command's result."""

    def __init__(self, text: str) -> None:
        super().__init__(visible(text), markup=False, classes="note")


class AnswerView(Vertical, can_focus=True):
    """One answer: Markdown that grows as tokens stream, then its sources and rating."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # One footer entry for both ratings: with the app's keys, all fit 80 columns.
        Binding("plus", "rate(1)", "Rate", key_display="+/-"),
        Binding("minus", "rate(-1)", "-1", show=False),
        Binding("e", "correct", "Correct"),
        Binding("c", "comment", "Comment"),
        Binding("y", "copy", "Copy"),
        Binding("up", "step(-1)", "Previous", show=False),
        Binding("down", "step(1)", "Next", show=False),
    ]

    class Selected(Message):
        """The user moved to this answer: the sources panel follows."""

        def __init__(self, view: AnswerView) -> None:
            super().__init__()
            self.view = view

    class FeedbackAsked(Message):
        """A feedback key was pressed on this answer."""

        def __init__(self, view: AnswerView, kind: str, rating: int = 0) -> None:
            super().__init__()
            self.view = view
            self.kind = kind  # rate, correct or comment
            self.rating = rating

    def __init__(
        self, title: str = "answer", text: str = "", message_id: int | None = None
    ) -> None:
        super().__init__(classes="answer")
        self.heading = title
        self.border_title = title
        self.message_id = message_id
        self.text = text
        self.sources: list[StoredSource] = []
        self.roots: Sequence[str] = ()  # the index's folders: source paths are shown below them
        self.status = ""
        self.feedback: Feedback | None = None
        self._markdown = AnswerMarkdown(visible(text))
        self._details = Static("", markup=False, classes="details")
        self._stream: MarkdownStream | None = None

    def compose(self) -> ComposeResult:
        yield self._markdown
        yield self._details

    async def append(self, piece: str) -> None:
        """Add a streamed piece; the Markdown stream batches renders to keep frames short."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self._markdown)
        self.text += piece
        await self._stream.write(visible(piece))

    async def finish(
        self,
        status: str,
        sources: list[StoredSource],
        text: str | None = None,
        roots: Sequence[str] = (),
    ) -> None:
        """Show how the answer ended; `text` replaces the streamed one (checked citations);
        source paths show relative to the indexed folder among `roots`."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if text is not None and text != self.text:
            self.text = text
            await self._markdown.update(visible(text))
        self.status, self.sources, self.roots = status, sources, roots
        self._show_details()

    def show_feedback(self, feedback: Feedback | None) -> None:
        self.feedback = feedback
        self._show_details()

    def _show_details(self) -> None:
        shown = [s for s in self.sources if s.source_number is not None]
        if self.status == "no_answer":
            shown = self.sources  # the closest passages, numbered [-]
        lines = [source_label(s, self.roots) for s in shown]
        if self.feedback is not None and self.feedback.correction:
            lines.append(f"Your correction: {self.feedback.correction}")
        if self.feedback is not None and self.feedback.comment:
            lines.append(f"Your comment: {self.feedback.comment}")
        notes = [STATUS_NOTES.get(self.status, ""), feedback_note(self.feedback)]
        # On the top border: a long answer scrolled to its start still shows its state.
        self.border_title = " · ".join([self.heading, *(note for note in notes if note)])
        self._details.update(visible("\n".join(lines)))
        self._details.display = bool(lines)

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))

    def action_rate(self, rating: int) -> None:
        self.post_message(self.FeedbackAsked(self, "rate", rating))

    def action_correct(self) -> None:
        self.post_message(self.FeedbackAsked(self, "correct"))

    def action_comment(self) -> None:
        self.post_message(self.FeedbackAsked(self, "comment"))

    def action_copy(self) -> None:
        # OSC 52: the terminal puts it on the clipboard (most do; some ask first).
        self.app.copy_to_clipboard(self.text)
        self.app.notify("Answer copied to the clipboard.")

    def action_step(self, step: int) -> None:
        answers = list(self.parent.query(AnswerView)) if self.parent else [self]
        position = answers.index(self) + step
        if 0 <= position < len(answers):
            answers[position].focus()
        elif position >= len(answers):
            self.app.query_one("#question").focus()


class ChatLog(VerticalScroll):
    """The conversation on screen, newest at the bottom; the feedback given on its answers."""

    def __init__(self, assistant: Assistant, id: str | None = None) -> None:
        super().__init__(id=id)
        self.assistant = assistant

    async def show_conversation(self, conversation_id: int, roots: Sequence[str]) -> None:
        """The stored conversation, each answer with its sources and feedback."""
        await self.remove_children()
        question = ""
        for message in self.assistant.messages(conversation_id):
            if message.role == "user":
                question = message.content
                await self.add_question(question)
                continue
            # A command's output has no prompt; an answer always has one.
            heading = "answer" if message.prompt is not None else reply_heading(question)
            if message.taught_id is not None:
                heading = self.assistant.given_back_label(message.taught_id)
            view = await self.add_answer(AnswerView(heading, message.content, message.id))
            await view.finish(message.status, self.assistant.sources(message.id), roots=roots)
            view.show_feedback(self.assistant.feedback(message.id))

    def on_answer_view_feedback_asked(self, event: AnswerView.FeedbackAsked) -> None:
        """+ - e c on an answer: rate, correct or comment, stored with the answer's prompt."""
        event.stop()
        view = event.view
        if view.message_id is None or view.status in ("", "streaming"):
            self.notify("Only a finished answer from your documents takes feedback.")
            return
        message_id = view.message_id
        if event.kind == "rate":
            self._store_feedback(view, lambda: self.assistant.rate(message_id, event.rating))
        elif event.kind == "correct":

            def corrected(text: str | None) -> None:
                if text is not None:
                    self._store_feedback(view, lambda: self.assistant.correct(message_id, text))

            start = (
                view.feedback.correction
                if view.feedback and view.feedback.correction
                else view.text
            )
            self.app.push_screen(TextDialog("The better answer", start), corrected)
        elif event.kind == "comment":

            def commented(text: str | None) -> None:
                if text is not None:
                    self._store_feedback(view, lambda: self.assistant.comment(message_id, text))

            self.app.push_screen(TextDialog("Comment on this answer"), commented)

    def _store_feedback(self, view: AnswerView, store: Callable[[], Feedback]) -> None:
        try:
            view.show_feedback(store())
        except Exception as error:
            self.notify(error_notice(error), severity="error")

    def answers(self) -> list[AnswerView]:
        return list(self.query(AnswerView))

    async def show_note(self, text: str) -> None:
        await self.mount(NoteView(text))
        self.follow()

    async def show_note_before_question(self, text: str) -> None:
        """A note that belongs before the question now waiting for its answer (an index
        summary that a question typed during indexing waited for): the answer stays last."""
        questions = self.query(QuestionView)
        if not questions:
            await self.show_note(text)
            return
        await self.mount(NoteView(text), before=questions.last())
        self.follow()

    async def add_question(self, text: str) -> None:
        await self.mount(QuestionView(text))
        self.follow()

    async def add_answer(self, view: AnswerView) -> AnswerView:
        await self.mount(view)
        self.follow()
        return view

    def follow(self) -> None:
        """Stay at the bottom as the newest answer grows, until the user scrolls away."""
        self.anchor()
        self.scroll_end(animate=False)

"""The app's answers to + - e c on an answer: rate, correct, comment, through Assistant."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App

from gptchat.log.store import Feedback
from gptchat.tui.chat_log import AnswerView
from gptchat.tui.dialogs import TextDialog

if TYPE_CHECKING:
    from gptchat.tui.assistant import Assistant


class FeedbackActions(App[None]):
    """Feedback handlers of GptchatApp, which provides `assistant` and `notify_error`."""

    assistant: Assistant

    def notify_error(self, error: BaseException | str, next_step: str = "") -> None:
        raise NotImplementedError

    def on_answer_view_feedback_asked(self, event: AnswerView.FeedbackAsked) -> None:
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
            self.push_screen(TextDialog("The better answer", start), corrected)
        elif event.kind == "comment":

            def commented(text: str | None) -> None:
                if text is not None:
                    self._store_feedback(view, lambda: self.assistant.comment(message_id, text))

            self.push_screen(TextDialog("Comment on this answer"), commented)

    def _store_feedback(self, view: AnswerView, store: Callable[[], Feedback]) -> None:
        try:
            view.show_feedback(store())
        except Exception as error:
            self.notify_error(error)

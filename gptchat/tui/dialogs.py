"""Modal dialogs: confirm, edit a text, read a passage."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from gptchat.control_chars import visible


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; Escape is no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(False)", "Cancel"),
        Binding("y", "dismiss(True)", "Yes"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(visible(self.question), markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (Esc)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class _EditDialog(ModalScreen[str | None]):
    """A titled editor returning its text, or None on Escape; HINT says how to save."""

    HINT = ""

    def __init__(self, title: str, text: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.text = text

    def heading(self) -> Label:
        return Label(visible(f"{self.title_text}  ({self.HINT}, Esc cancels)"), markup=False)


class TextDialog(_EditDialog):
    """Edit a text: Ctrl+S saves, Escape cancels (None). A text given to replace starts
    selected, so the first key typed replaces it all; an arrow key keeps it to edit."""

    HINT = "Ctrl+S saves"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, title: str, text: str = "") -> None:
        super().__init__(title, text)
        if text:
            self.HINT = "typing replaces it, arrows edit it; Ctrl+S saves"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.heading()
            yield TextArea(self.text, id="editor", soft_wrap=True)

    def on_mount(self) -> None:
        editor = self.query_one(TextArea)
        editor.focus()
        editor.select_all()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)


class LineDialog(_EditDialog):
    """Edit one line: Enter saves, Escape cancels (None)."""

    HINT = "Enter saves"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.heading()
            yield Input(self.text, id="line")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # the app's own input handler must not see it
        self.dismiss(event.value)


class PassageDialog(ModalScreen[None]):
    """A retrieved passage in full, the sentence that supports the answer highlighted."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "dismiss(None)", "Close")]

    def __init__(self, title: str, text: str, evidence: str | None = None) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.text = text
        self.evidence = evidence

    def compose(self) -> ComposeResult:
        passage = Text(visible(self.text))
        if self.evidence:
            passage.highlight_words([visible(self.evidence)], style="bold reverse")
        with Vertical():
            yield Label(visible(self.title_text), markup=False)
            with VerticalScroll():
                yield Static(passage, markup=False)

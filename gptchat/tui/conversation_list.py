"""The list of past conversations: switch, find, rename, delete."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label, ListItem

from gptchat.control_chars import visible
from gptchat.log.store import Conversation
from gptchat.tui.assistant import Assistant
from gptchat.tui.dialogs import ConfirmDialog, LineDialog
from gptchat.tui.notices import error_notice
from gptchat.tui.side_panel import SidePanel


class ConversationItem(ListItem):
    """The title, and under it when the conversation was last added to."""

    def __init__(self, conversation: Conversation) -> None:
        when = conversation.updated_at[:16].replace("T", " ")
        super().__init__(
            Label(visible(conversation.title), markup=False, classes="title"),
            Label(f"{when} · {conversation.message_count} msgs", classes="when"),
        )
        self.conversation = conversation


class ConversationList(SidePanel):
    """Newest first; Enter opens one, r renames it, Delete removes it after asking."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rename", "Rename"),
        Binding("delete,d", "delete", "Delete"),
    ]

    class Deleted(Message):
        """A conversation was deleted: the app starts a new one if it was showing it."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(self, assistant: Assistant, id: str | None = None) -> None:
        super().__init__(id=id)
        self.assistant = assistant
        self.filter = ""  # the words of the last /find; empty lists them all
        self.current: int | None = None  # the conversation on screen, highlighted

    async def reload(self, current: int | None, keep: int | None = None) -> None:
        """List the conversations (those matching the filter); the highlight on `keep` (one
        just renamed), else on `current`."""
        self.current = current
        conversations = self.assistant.conversations(self.filter)
        await self.clear()
        await self.extend(ConversationItem(c) for c in conversations)
        ids = [c.id for c in conversations]
        target = keep if keep in ids else current
        self.index = ids.index(target) if target in ids else None

    async def find(self, text: str) -> None:
        """`/find TEXT`: only the conversations that mention it; `/find` alone: all again."""
        self.filter = text.strip()
        await self.reload(self.current)
        if self.filter and self.children:
            self.reveal()  # Enter opens the one wanted
        else:
            self.remove_class("-hidden")
        self.border_title = f"Chats with “{self.filter}”" if self.filter else "Chats"
        if self.filter and not self.children:
            self.notify(f"No conversation mentions “{self.filter}”.")

    def highlighted_conversation(self) -> Conversation | None:
        item = self.highlighted_child
        return item.conversation if isinstance(item, ConversationItem) else None

    def action_rename(self) -> None:
        conversation = self.highlighted_conversation()
        if conversation is None:
            return

        def renamed(title: str | None) -> None:
            if title is None:
                return
            try:
                self.assistant.rename(conversation.id, title)
            except Exception as error:
                self.notify(error_notice(error), severity="error")
            # The highlight stays on the renamed one: the next key acts on it again.
            self.run_worker(self.reload(self.current, keep=conversation.id))

        self.app.push_screen(LineDialog("Rename the conversation", conversation.title), renamed)

    def action_delete(self) -> None:
        conversation = self.highlighted_conversation()
        if conversation is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.assistant.delete(conversation.id)
            self.post_message(self.Deleted(conversation.id))
            self.run_worker(self.reload(self.current))

        question = f"Delete “{conversation.title}” and its {conversation.message_count} messages?"
        self.app.push_screen(ConfirmDialog(question), confirmed)

"""The list of past conversations: switch, rename, delete."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label, ListItem

from gptchat.control_chars import visible
from gptchat.log.store import Conversation
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

    class Action(Message):
        """Rename or delete was pressed on a conversation."""

        def __init__(self, kind: str, conversation: Conversation) -> None:
            super().__init__()
            self.kind = kind
            self.conversation = conversation

    filter = ""  # the words of the last /find; empty lists them all

    async def show(
        self, conversations: list[Conversation], current: int | None, keep: int | None = None
    ) -> None:
        """List `conversations`; the highlight on `keep` (one just renamed), else `current`."""
        await self.clear()
        await self.extend(ConversationItem(c) for c in conversations)
        ids = [c.id for c in conversations]
        target = keep if keep in ids else current
        self.index = ids.index(target) if target in ids else None

    def highlighted_conversation(self) -> Conversation | None:
        item = self.highlighted_child
        return item.conversation if isinstance(item, ConversationItem) else None

    def action_rename(self) -> None:
        if conversation := self.highlighted_conversation():
            self.post_message(self.Action("rename", conversation))

    def action_delete(self) -> None:
        if conversation := self.highlighted_conversation():
            self.post_message(self.Action("delete", conversation))

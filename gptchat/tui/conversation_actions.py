"""The app's conversation list: open, start, rename and delete conversations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from gptchat.tui.chat_log import AnswerView
from gptchat.tui.conversation_list import ConversationList
from gptchat.tui.dialogs import ConfirmDialog, LineDialog
from gptchat.tui.slash_commands import reply_heading
from gptchat.tui.sources_panel import SourcesPanel

if TYPE_CHECKING:
    from textual.widgets import Input

    from gptchat.tui.assistant import Assistant
    from gptchat.tui.chat_log import ChatLog


class ConversationActions(App[None]):
    """Conversation handlers of GptchatApp, which provides the attributes declared here."""

    assistant: Assistant
    conversation_id: int | None
    log_view: ChatLog
    question_input: Input
    index_roots: tuple[str, ...]

    def notify_error(self, error: BaseException | str, next_step: str = "") -> None:
        raise NotImplementedError

    async def refresh_conversations(self, keep: int | None = None) -> None:
        listed = self.query_one(ConversationList)
        found = self.assistant.conversations(listed.filter)
        await listed.show(found, self.conversation_id, keep)

    async def find_conversations(self, text: str) -> None:
        """`/find TEXT`: only the conversations that mention it; `/find` alone: all again."""
        listed = self.query_one(ConversationList)
        listed.filter = text.strip()
        await self.refresh_conversations()
        if listed.filter and listed.children:
            listed.reveal()  # Enter opens the one wanted
        else:
            listed.remove_class("-hidden")
        listed.border_title = f"Chats with “{listed.filter}”" if listed.filter else "Chats"
        if listed.filter and not listed.children:
            self.notify(f"No conversation mentions “{listed.filter}”.")

    async def open_conversation(self, conversation_id: int) -> None:
        if self._cancel is not None:
            self.notify("Still answering: Esc stops it first.", severity="warning")
            return
        self.conversation_id = conversation_id
        self.assistant.remember_conversation(conversation_id)
        log = self.log_view
        await log.remove_children()
        last: AnswerView | None = None
        question = ""
        for message in self.assistant.messages(conversation_id):
            if message.role == "user":
                question = message.content
                await log.add_question(question)
                continue
            # A command's output has no prompt; an answer always has one.
            heading = "answer" if message.prompt is not None else reply_heading(question)
            last = await log.add_answer(AnswerView(heading, message.content, message.id))
            sources = self.assistant.sources(message.id)
            await last.finish(message.status, sources, roots=self.index_roots)
            last.show_feedback(self.assistant.feedback(message.id))
        await self.query_one(SourcesPanel).show(last.sources if last else [])
        await self.refresh_conversations()
        log.scroll_end(animate=False)

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
        conversations = self.query_one(ConversationList)
        if conversations.display and conversations.has_focus:
            conversations.conceal()
            self.question_input.focus()
        else:
            conversations.reveal()

    def on_conversation_list_action(self, event: ConversationList.Action) -> None:
        conversation = event.conversation
        if event.kind == "rename":

            def renamed(title: str | None) -> None:
                if title is None:
                    return
                try:
                    self.assistant.rename(conversation.id, title)
                except Exception as error:
                    self.notify_error(error)
                # The highlight stays on the renamed one: the next key acts on it again.
                self.run_worker(self.refresh_conversations(keep=conversation.id))

            self.push_screen(LineDialog("Rename the conversation", conversation.title), renamed)
        elif event.kind == "delete":

            def confirmed(yes: bool | None) -> None:
                if not yes:
                    return
                self.assistant.delete(conversation.id)
                if conversation.id == self.conversation_id:
                    self.run_worker(self.action_new_conversation())
                else:
                    self.run_worker(self.refresh_conversations())

            question = (
                f"Delete “{conversation.title}” and its {conversation.message_count} messages?"
            )
            self.push_screen(ConfirmDialog(question), confirmed)

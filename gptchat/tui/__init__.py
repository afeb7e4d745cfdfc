"""The terminal app: Textual widgets over gptchat.tui.assistant.Assistant."""

"""The terminal app: Textual widgets over gptchat.assistant.Assistant."""

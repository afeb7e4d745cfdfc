"""Log: gptchat.db, the conversations, feedback, eval runs and model versions."""

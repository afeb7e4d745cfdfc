"""`python -m gptchat`, the same as the `gptchat` command."""

from gptchat.main import run

run()

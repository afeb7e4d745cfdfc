"""`python -m gptchat`, the same as the `gptchat` command."""

from gptchat.cli.main import run

run()

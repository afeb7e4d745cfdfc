"""gptchat: ask your documents, offline, with citations."""

__version__ = "0.1.0"

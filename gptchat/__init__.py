"""gptchat: ask your documents, offline, with citations."""

import os

# Models come from this machine alone: transformers and sentence-transformers must never try
# the Hugging Face hub (set here once, before any of them is imported).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

__version__ = "0.1.0"

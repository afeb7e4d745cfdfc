"""The sources of the selected answer: location, snippet and score; Enter shows the passage."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Label, ListItem, ListView, Static

from gptchat.control_chars import visible
from gptchat.log.store import StoredSource
from gptchat.tui.chat_log import source_label

SNIPPET_CHARS = 160


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


class SourceItem(ListItem):
    def __init__(self, source: StoredSource) -> None:
        # A cited passage shows the sentence that supports the answer, marked; others their start.
        if source.evidence:
            evidence = Text(_shorten(visible(source.evidence)), style="bold")
            snippet = Text("✓ ", style="bold green") + evidence
        else:
            snippet = Text(_shorten(visible(source.text)))
        similarity = "" if source.similarity is None else f", similarity {source.similarity:.2f}"
        super().__init__(
            Vertical(
                Label(visible(source_label(source)), markup=False, classes="source-label"),
                Static(snippet, markup=False, classes="snippet"),
                Label(f"score {source.score:.4f}{similarity}", classes="score"),
            )
        )
        self.source = source


class SourcesPanel(ListView):
    """Every passage retrieved for one answer, in rank order."""

    async def show(self, sources: list[StoredSource]) -> None:
        await self.clear()
        await self.extend(SourceItem(s) for s in sources)
        self.border_subtitle = f"{len(sources)} passages" if sources else "no answer selected"

"""The sources of the selected answer, compact: file and lines, heading, score, one line of
the passage (the supporting sentence when cited); Enter shows the whole passage."""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text
from textual.widgets import ListItem, Static

from gptchat.control_chars import one_line, visible
from gptchat.log.store import StoredSource
from gptchat.tui.side_panel import SidePanel


def compact_label(source: StoredSource) -> Text:
    """`[1] getting-started.md:12-20  0.031`: the file name first, never cut from the left."""
    number = f"[{source.source_number}]" if source.source_number is not None else "[-]"
    lines = source.location.rsplit(":", 1)[1] if ":" in source.location else ""
    name = PurePath(source.path).name if source.path else source.location
    label = Text(f"{number} ", style="bold")
    label.append(one_line(f"{name}:{lines}" if lines else name), style="bold")
    label.append(f"  {source.score:.3f}", style="dim")
    return label


def compact_text(source: StoredSource) -> Text:
    """The supporting sentence (marked ✓) when cited, else the heading and the passage's start."""
    text = Text()
    if source.evidence:
        text.append("✓ ", style="bold green")
        text.append(visible(" ".join(source.evidence.split())))
        return text
    if source.heading:
        text.append(visible(source.heading) + " · ", style="italic")
    text.append(visible(" ".join(source.text.split())))
    return text


class SourceItem(ListItem):
    """Two lines per passage, so several fit the panel at once."""

    def __init__(self, source: StoredSource) -> None:
        label = Static(compact_label(source), markup=False, classes="source-label")
        snippet = Static(compact_text(source), markup=False, classes="snippet")
        super().__init__(label, snippet)
        self.source = source
        self.tooltip = one_line(source.location)  # the whole path, for a mouse that hovers


class SourcesPanel(SidePanel):
    """Every passage retrieved for one answer, in rank order."""

    async def show(self, sources: list[StoredSource]) -> None:
        await self.clear()
        await self.extend(SourceItem(s) for s in sources)
        count = f"{len(sources)} passages · Enter reads one" if sources else "no answer selected"
        self.border_subtitle = count

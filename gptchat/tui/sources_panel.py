"""The sources of the selected answer, compact: lines and file, then heading and one line of
the passage (the supporting sentence when cited); Enter shows the whole passage."""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text
from textual.widgets import ListItem, Static

from gptchat.control_chars import one_line, visible
from gptchat.log.store import StoredSource
from gptchat.render.answers import place_in_file
from gptchat.tui.side_panel import SidePanel


def compact_label(source: StoredSource) -> Text:
    """`[1] 12-20 · getting-started.md`: where in the file first, so a long name never hides
    it; the name cut at the right edge if it must be."""
    number = f"[{source.source_number}]" if source.source_number is not None else "[-]"
    name = PurePath(source.path).name if source.path else source.location
    label = Text(f"{number} ", style="bold")
    place = place_in_file(source)
    if place:
        label.append(f"{place} · ", style="bold")
    label.append(one_line(name))
    return label


def compact_text(source: StoredSource) -> Text:
    """The heading, then the supporting sentence (marked ✓) when cited, else the passage's
    start."""
    text = Text()
    if source.heading:  # its last level: the one that tells passages of a file apart
        heading = source.heading.split(" > ")[-1]
        text.append(visible(" ".join(heading.split())) + " · ", style="italic")
    if source.evidence:
        text.append("✓ ", style="bold green")
        text.append(visible(" ".join(source.evidence.split())))
        return text
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

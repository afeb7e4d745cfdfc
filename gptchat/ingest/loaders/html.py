"""HTML loader: the visible text, split at block elements, headings kept as headings."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from gptchat.ingest.documents import Block

_INVISIBLE = frozenset(
    ["script", "style", "noscript", "template", "head", "svg", "canvas", "iframe", "object"]
)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "aside",
        "header",
        "footer",
        "nav",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "td",
        "th",
        "thead",
        "tbody",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "form",
        "fieldset",
        "details",
        "summary",
        "address",
        "hr",
    ]
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SPACES = re.compile(r"[ \t\f\v]+")


class _VisibleText(HTMLParser):
    """Streams through the page (no tree: a 50 MB page must not need gigabytes), emitting a
    Block at every block-element boundary and one for each heading."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._parts: list[str] = []
        self._line: int | None = None
        self._hidden: list[str] = []  # open invisible elements: nothing inside them shows
        self._heading: tuple[int, int, list[str]] | None = None  # level, line, its strings

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden or tag in _INVISIBLE:
            if tag in _INVISIBLE:
                self._hidden.append(tag)
            return
        if tag in _HEADINGS:
            self.flush()
            self._heading = (_HEADINGS[tag], self.getpos()[0], [])
        elif tag == "br":
            self._text("\n")
        elif tag in _BLOCKS:
            self.flush()
            self._line = self.getpos()[0]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._hidden and tag not in _INVISIBLE:  # <svg/> hides nothing after it
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag in self._hidden:  # also closes what was left open inside it
                del self._hidden[len(self._hidden) - 1 - self._hidden[::-1].index(tag) :]
            return
        if tag in _HEADINGS and self._heading is not None:
            level, line, strings = self._heading
            self._heading = None
            text = _SPACES.sub(" ", " ".join(s.strip() for s in strings if s.strip()))
            if text:
                self.blocks.append(Block(text, line, line, heading_level=level))
        elif tag in _BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._text(data)

    def _text(self, data: str) -> None:
        if self._heading is not None:
            self._heading[2].append(data)
            return
        if self._line is None:
            self._line = self.getpos()[0]
        self._parts.append(data)

    def flush(self) -> None:
        lines = [_SPACES.sub(" ", line).strip() for line in "".join(self._parts).split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            start = self._line
            self.blocks.append(Block(text, start, start + text.count("\n") if start else None))
        self._parts = []
        self._line = None


def load_html(text: str) -> list[Block]:
    """Visible text of an HTML page, without scripts, styles or markup."""
    collector = _VisibleText()
    collector.feed(text)
    collector.close()
    if collector._heading is not None:  # a heading never closed still shows
        collector.handle_endtag(f"h{collector._heading[0]}")
    collector.flush()
    return collector.blocks

"""HTML loader: the visible text, split at block elements, headings kept as headings."""

from __future__ import annotations

import re

from gptchat.ingest.documents import Block
from gptchat.ingest.loaders.text import decode_text

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


class _VisibleText:
    """Walks a parsed HTML tree, emitting a Block at every block-element boundary."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._parts: list[str] = []
        self._line: int | None = None

    def walk(self, root) -> None:  # root: bs4 Tag
        """Visit the tree in document order with a stack of its own: pages nest thousands deep."""
        from bs4 import Comment, NavigableString, Tag

        # (element, its remaining children, whether it is a block to close when done)
        stack = [(root, iter(root.children), False)]
        while stack:
            node, children, is_block = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if is_block:
                    self.flush()
            elif isinstance(child, Comment):
                continue
            elif isinstance(child, NavigableString):
                if self._line is None:
                    self._line = getattr(node, "sourceline", None)
                self._parts.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if name in _INVISIBLE:
                    continue
                if name in _HEADINGS:
                    self.flush()
                    text = _SPACES.sub(" ", child.get_text(" ", strip=True))
                    if text:
                        line = child.sourceline
                        self.blocks.append(Block(text, line, line, heading_level=_HEADINGS[name]))
                elif name == "br":
                    self._parts.append("\n")
                elif name in _BLOCKS:
                    self.flush()
                    self._line = child.sourceline
                    stack.append((child, iter(child.children), True))
                else:
                    stack.append((child, iter(child.children), False))

    def flush(self) -> None:
        lines = [_SPACES.sub(" ", line).strip() for line in "".join(self._parts).split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            start = self._line
            self.blocks.append(Block(text, start, start + text.count("\n") if start else None))
        self._parts = []
        self._line = None


def load_html(data: bytes) -> list[Block]:
    """Visible text of an HTML page, without scripts, styles or markup."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    collector = _VisibleText()
    collector.walk(soup.body or soup)
    collector.flush()
    return collector.blocks

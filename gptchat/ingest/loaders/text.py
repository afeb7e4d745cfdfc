"""Loaders for text formats: plain text and code, Markdown, reStructuredText."""

from __future__ import annotations

import re

from gptchat.ingest.documents import Block, UnreadableDocument

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_RST_ADORNMENT = re.compile(r"""^([=\-`:'"~^_*+#<>.!$%&(),/;?@\[\]\\{|}])\1{2,}\s*$""")


def decode_text(data: bytes) -> str:
    """Decode UTF-8 text, refusing binary content and invalid encodings."""
    if b"\x00" in data[:8192]:
        raise UnreadableDocument("binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"invalid UTF-8 at byte {exc.start}") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _BlockCollector:
    """Collects consecutive lines into paragraph blocks, tracking their line numbers."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._lines: list[str] = []
        self._start = 0

    def add_line(self, number: int, line: str) -> None:
        if not self._lines:
            self._start = number
        self._lines.append(line)

    def pending_lines(self) -> list[str]:
        return self._lines

    def drop_last_line(self) -> tuple[int, str]:
        """Take back the last pending line (it turned out to be a heading)."""
        line = self._lines.pop()
        return self._start + len(self._lines), line

    def flush(self) -> None:
        text = "\n".join(self._lines).strip("\n")
        if text.strip():
            end = self._start + len(self._lines) - 1
            self.blocks.append(Block(text=text, line_start=self._start, line_end=end))
        self._lines = []

    def heading(self, number: int, text: str, level: int) -> None:
        self.flush()
        if text.strip():
            self.blocks.append(
                Block(text=text.strip(), line_start=number, line_end=number, heading_level=level)
            )


def load_plain(data: bytes) -> list[Block]:
    """Plain text and source code: paragraphs separated by blank lines."""
    collector = _BlockCollector()
    for number, line in enumerate(decode_text(data).split("\n"), start=1):
        if line.strip():
            collector.add_line(number, line)
        else:
            collector.flush()
    collector.flush()
    return collector.blocks


def load_markdown(data: bytes) -> list[Block]:
    """Markdown: ATX and setext headings, paragraphs, fenced code kept whole."""
    collector = _BlockCollector()
    fence: str | None = None
    for number, line in enumerate(decode_text(data).split("\n"), start=1):
        if fence is not None:
            collector.add_line(number, line)
            if line.strip().startswith(fence):
                fence = None
                collector.flush()
            continue
        if match := _FENCE.match(line):
            collector.flush()
            fence = match.group(1)
            collector.add_line(number, line)
        elif match := _ATX_HEADING.match(line):
            collector.heading(number, match.group(2), len(match.group(1)))
        elif _SETEXT_UNDERLINE.match(line) and len(collector.pending_lines()) == 1:
            heading_line, text = collector.drop_last_line()
            level = 1 if line.strip().startswith("=") else 2
            collector.heading(heading_line, text, level)
        elif line.strip():
            collector.add_line(number, line)
        else:
            collector.flush()
    collector.flush()
    return collector.blocks


def load_rst(data: bytes) -> list[Block]:
    """reStructuredText: section titles (underlined, optionally overlined), paragraphs."""
    lines = decode_text(data).split("\n")
    collector = _BlockCollector()
    styles: list[tuple[str, bool]] = []  # adornment styles in order of first use = levels
    skip_until = -1
    for index, line in enumerate(lines):
        if index <= skip_until:
            continue
        number = index + 1
        following = lines[index + 1] if index + 1 < len(lines) else ""
        after = lines[index + 2] if index + 2 < len(lines) else ""
        overlined = bool(_RST_ADORNMENT.match(line)) and bool(following.strip())
        if overlined and _RST_ADORNMENT.match(after) and after.strip()[0] == line.strip()[0]:
            style = (line.strip()[0], True)
            title, title_number, skip_until = following, number + 1, index + 2
        elif (
            line.strip()
            and not collector.pending_lines()
            and _RST_ADORNMENT.match(following)
            and len(following.strip()) >= len(line.strip())
        ):
            style = (following.strip()[0], False)
            title, title_number, skip_until = line, number, index + 1
        else:
            if line.strip():
                collector.add_line(number, line)
            else:
                collector.flush()
            continue
        if style not in styles:
            styles.append(style)
        collector.heading(title_number, title, min(styles.index(style) + 1, 6))
    collector.flush()
    return collector.blocks

"""Loaders for text formats: plain text and code, Markdown, reStructuredText."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gptchat.ingest.documents import Block, UnreadableDocument

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_RST_ADORNMENT = re.compile(r"""^([=\-`:'"~^_*+#<>.!$%&(),/;?@\[\]\\{|}])\1{2,}\s*$""")


# Byte order marks, longest first: UTF-32's little-endian mark begins with UTF-16's.
_BOMS = [
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]


@dataclass(frozen=True)
class DecodedText:
    """A text file's text, newlines as \\n, and the encoding it was read with."""

    text: str
    encoding: str


def decode_text(data: bytes) -> DecodedText:
    """Decode text (UTF-8, UTF-16/32 by their BOM, else a legacy 8-bit encoding such as
    cp1252 found by a charset detector), refusing binary content."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None:
        encoding = _bomless_utf16(data[:8192])
    if encoding is None:
        if b"\x00" in data[:8192]:
            raise UnreadableDocument("binary content (NUL bytes) in a text file")
        try:
            return _decoded(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError as exc:
            encoding = legacy_encoding(data)
            if encoding is None:
                raise UnreadableDocument(
                    f"invalid UTF-8 at byte {exc.start}, and no other encoding fits"
                ) from exc
    try:
        return _decoded(data.decode(encoding), encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"invalid {encoding.upper()} at byte {exc.start}") from exc


def _decoded(text: str, encoding: str) -> DecodedText:
    text = text.removeprefix("\ufeff")
    return DecodedText(text.replace("\r\n", "\n").replace("\r", "\n"), encoding)


def legacy_encoding(data: bytes) -> str | None:
    """The 8-bit encoding that charset-normalizer finds for non-UTF-8 text, or None.

    Several encodings often decode a short Western text alike; then cp1252 (Windows' and,
    for its printable range, Latin-1's) is taken, as the one such files most often use.
    """
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:_DETECTION_SAMPLE])
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return best.encoding


# Bytes the detector looks at: enough to tell, without minutes on a 50 MB file.
_DETECTION_SAMPLE = 200_000


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM, recognised by a NUL in every other byte (mostly-ASCII text)."""
    if len(head) < 16 or len(head) % 2:
        head = head[: len(head) - len(head) % 2]
    if len(head) < 16:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


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


def load_plain(text: str) -> list[Block]:
    """Plain text and source code: paragraphs separated by blank lines."""
    collector = _BlockCollector()
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            collector.add_line(number, line)
        else:
            collector.flush()
    collector.flush()
    return collector.blocks


def load_markdown(text: str) -> list[Block]:
    """Markdown: ATX and setext headings, paragraphs, fenced code kept whole."""
    collector = _BlockCollector()
    fence: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
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


def load_rst(text: str) -> list[Block]:
    """reStructuredText: section titles (underlined, optionally overlined), paragraphs."""
    lines = text.split("\n")
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

"""Control characters in document text: removed at ingest, made visible on every screen."""

from __future__ import annotations

import re

# ANSI/VT escape sequences: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), and
# the two-byte ESC x forms. A document that holds them would set titles or clear screens.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, to BEL or ST
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# Every C0 control but tab and newline, DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Every control character, and the Unicode line and paragraph separators.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_VISIBLE = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}


def strip_controls(text: str) -> str:
    """Text without escape sequences or control characters (tab and newline stay)."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def visible(text: str) -> str:
    """Text safe to write to a terminal: each control character shown as a symbol.

    ESC becomes "␛", so "\\x1b[2J" is shown as "␛[2J" instead of clearing the screen.
    """
    return _CONTROL.sub(_symbol, text)


def one_line(text: str) -> str:
    """A name or heading as one line: also newlines, tabs and Unicode line breaks shown as
    symbols, so a file named "a\\n[9] b" cannot pose as a second source line."""
    return _LINE_BREAKING.sub(_symbol, text)


def _symbol(match: re.Match[str]) -> str:
    code = ord(match.group())
    return _VISIBLE.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")

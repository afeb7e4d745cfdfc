"""PDF loader: the text of each page, with its page number."""

from __future__ import annotations

import io
import logging

from gptchat.ingest.documents import Block, UnreadableDocument


def load_pdf(data: bytes) -> list[Block]:
    """Text blocks of every page, numbered from 1; raises on a corrupt or locked PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs every recoverable oddity; a one-line reason per failed file is enough for us.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("encrypted PDF (needs a password)")
        blocks: list[Block] = []
        for page_number, page in enumerate(reader.pages, start=1):
            blocks.extend(_page_blocks(page.extract_text() or "", page_number))
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise UnreadableDocument(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
    return blocks


def _page_blocks(text: str, page_number: int) -> list[Block]:
    """Split one page's text into paragraphs at blank lines; lines count from the page top."""
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    start: int | None = None
    for index, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = index
        elif not line.strip() and start is not None:
            paragraph = "\n".join(lines[start:index]).strip()
            blocks.append(Block(paragraph, start + 1, index, page=page_number))
            start = None
    return blocks

"""PDF loader: the text of each page, with its page number; unreadable pages reported."""

from __future__ import annotations

import io
import logging

from gptchat.ingest.documents import Block, LoadedText, UnreadableDocument


class _PageWarnings(logging.Handler):
    """Collects what pypdf logs while one page is read: it recovers quietly from bad streams."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip().splitlines()[0])


def load_pdf(data: bytes) -> LoadedText:
    """Text blocks of every readable page, numbered from 1, and the pages that were not;
    raises on a corrupt or locked PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    errors = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError)
    logger = logging.getLogger("pypdf")
    warnings = _PageWarnings()
    # Collected per page instead of printed: the report names the page and the reason.
    logger.addHandler(warnings)
    propagate, logger.propagate = logger.propagate, False
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("encrypted PDF (needs a password)")
        if len(reader.pages) == 0:
            raise UnreadableDocument("PDF with no pages")
        pdf = LoadedText()
        for page_number, page in enumerate(reader.pages, start=1):
            warnings.messages.clear()
            try:
                # Decoding the content stream is where a garbage stream shows (as a warning);
                # text extraction alone can skip it without a word.
                page.get_contents()
                text = page.extract_text() or ""
            except errors as exc:
                pdf.problems.append(f"page {page_number}: {type(exc).__name__}: {exc}")
                continue
            if warnings.messages:
                pdf.problems.append(f"page {page_number}: {warnings.messages[0]}")
            pdf.blocks.extend(_page_blocks(text, page_number))
    except UnreadableDocument:
        raise
    except errors as exc:
        raise UnreadableDocument(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
    finally:
        logger.removeHandler(warnings)
        logger.propagate = propagate
    if not pdf.blocks and not pdf.problems:
        pdf.problems.append("no text on any page (a scan? gptchat reads no images)")
    return pdf


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

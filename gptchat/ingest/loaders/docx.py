"""DOCX loader: paragraphs and tables, with Word's heading styles as headings."""

from __future__ import annotations

import io
import re
import zipfile

from gptchat.ingest.documents import Block, UnreadableDocument

_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def load_docx(data: bytes) -> list[Block]:
    """Blocks of a Word document in reading order; raises on a file that is not DOCX."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise UnreadableDocument(f"corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in item.rows]
            text = "\n".join(row for row in rows if row.strip(" |"))
            if text:
                blocks.append(Block(text))
            continue
        text = item.text.strip()
        if not text:
            continue
        style = item.style.name if item.style is not None else ""
        match = _HEADING_STYLE.match(style)
        level = int(match.group(1)) if match else 1 if style == "Title" else 0
        blocks.append(Block(text, heading_level=level))
    return blocks

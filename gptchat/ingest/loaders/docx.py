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
    from lxml.etree import LxmlError

    # Parts are parsed as they are read, so junk XML can surface while walking the body too.
    corrupt = (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, LxmlError)
    try:
        return _blocks(docx.Document(io.BytesIO(data)))
    except corrupt as exc:
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise UnreadableDocument(f"corrupt DOCX ({type(exc).__name__}: {reason})") from exc
    except RecursionError as exc:
        raise UnreadableDocument("corrupt DOCX (elements nested too deeply)") from exc


def _blocks(document) -> list[Block]:  # document: docx.document.Document
    from docx.table import Table

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

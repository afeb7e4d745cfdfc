"""DOCX loader: paragraphs and tables, with Word's heading styles as headings."""

from __future__ import annotations

import io
import re
import zipfile

from gptchat.ingest.documents import Block, UnreadableDocument

_HEADING_STYLE = re.compile(r"^Heading (\d)$")
# What a DOCX may inflate to. Its XML is parsed into a tree about ten times its size (measured:
# 16 MB of XML, +160 MB), so one file stays well under 1 GB; a zip bomb is refused unread.
MAX_INFLATED_BYTES = 64_000_000


def load_docx(data: bytes) -> list[Block]:
    """Blocks of a Word document in reading order; raises on a file that is not DOCX."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import LxmlError

    # Parts are parsed as they are read, so junk XML can surface while walking the body too.
    corrupt = (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, LxmlError)
    try:
        _check_inflated_size(data)
        return _blocks(docx.Document(io.BytesIO(data)))
    except PackageNotFoundError as exc:  # its message names the in-memory buffer, not the file
        raise UnreadableDocument("corrupt DOCX (not a Word document package)") from exc
    except corrupt as exc:
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise UnreadableDocument(f"corrupt DOCX ({type(exc).__name__}: {reason})") from exc
    except RecursionError as exc:
        raise UnreadableDocument("corrupt DOCX (elements nested too deeply)") from exc


def _check_inflated_size(data: bytes) -> None:
    """Refuse a DOCX whose parts inflate past MAX_INFLATED_BYTES (the sizes its zip records;
    a part that inflates further fails its check as it is read)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    if inflated > MAX_INFLATED_BYTES:
        raise UnreadableDocument(
            f"DOCX inflates to {inflated / 1e6:,.0f} MB, over the "
            f"{MAX_INFLATED_BYTES / 1e6:.0f} MB gptchat reads from one document"
        )


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

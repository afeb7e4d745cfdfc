"""A folder of malformed inputs, each with what `gptchat index` must do with it.

Used by benchmarks/robustness_benchmark.py (100+ files) and by tests/test_malformed_inputs.py
(one of each). Every case is a real file: symlink loops, FIFOs, a character device where the
user may create one, DOCX zips with junk XML, deep HTML, UTF-16, a PDF with a garbage page.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

INDEXED = "indexed"  # its text is in the index (a good file, or a malformed one read anyway)
PARTLY = "indexed in part"  # indexed, with a part reported as unreadable
SKIPPED = "skipped"  # left out before reading, with a reason
FAILED = "failed"  # read, not indexed, with a reason


@dataclass(frozen=True)
class Case:
    """One file under the folder and the outcome it must have."""

    name: str  # path relative to the folder (as bytes-safe text)
    expect: str
    marker: str = ""  # a word that must be searchable when the file is indexed


_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
    '"word/document.xml"/></Relationships>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_bytes(body: str, types: str = _DOCX_TYPES, document: str | None = None) -> bytes:
    """A DOCX zip whose body is `body` (WordprocessingML); parts can be replaced by junk."""
    if document is None:
        document = (
            f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{_W}">'
            f"<w:body>{body}</w:body></w:document>"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", _DOCX_RELS)
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def docx_paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def pdf_with_garbage_page(marker: str) -> bytes:
    """A two-page PDF: page 1 says `marker`, page 2's content stream is not Flate data."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        StreamObject,
    )

    writer = PdfWriter()
    for _ in range(2):
        writer.add_blank_page(300, 300)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    resources = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    good = DecodedStreamObject()
    good.set_data(f"BT /F1 12 Tf 20 200 Td ({marker} is on the first page) Tj ET".encode())
    writer.pages[0][NameObject("/Contents")] = writer._add_object(good)
    writer.pages[0][NameObject("/Resources")] = resources
    garbage = StreamObject()
    garbage._data = b"\x00not flate data\xff" * 40
    garbage[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer.pages[1][NameObject("/Contents")] = writer._add_object(garbage)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _write(folder: Path, name: str, data: bytes | str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def _symlink(folder: Path, name: str, target: str) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, folder / name)


def can_make_devices() -> bool:
    """Whether this user may create a character device (root, outside most containers)."""
    return hasattr(os, "mknod") and os.geteuid() == 0


def build(folder: Path, copies: int = 1) -> list[Case]:
    """Write every class of malformed input `copies` times (and good files) under `folder`."""
    cases: list[Case] = []
    for n in range(copies):
        for maker in _MAKERS:
            cases.extend(maker(folder, n))
    return cases


def _good(folder: Path, n: int) -> list[Case]:
    marker = f"goodmarker{n}"
    _write(folder, f"good/notes-{n}.md", f"# Notes {n}\n\nThe {marker} paragraph is fine.\n")
    return [Case(f"good/notes-{n}.md", INDEXED, marker)]


def _symlinks(folder: Path, n: int) -> list[Case]:
    _symlink(folder, f"links/loop-a-{n}.md", f"loop-b-{n}.md")
    _symlink(folder, f"links/loop-b-{n}.md", f"loop-a-{n}.md")
    _symlink(folder, f"links/self-{n}.md", f"self-{n}.md")
    _symlink(folder, f"links/broken-{n}.md", f"missing-{n}.md")
    _symlink(folder, f"links/outside-{n}.md", "/etc/hostname")
    names = ["loop-a", "loop-b", "self", "broken", "outside"]
    return [Case(f"links/{name}-{n}.md", SKIPPED) for name in names]


def _special_files(folder: Path, n: int) -> list[Case]:
    (folder / "special").mkdir(exist_ok=True)
    os.mkfifo(folder / f"special/pipe-{n}.md")
    cases = [Case(f"special/pipe-{n}.md", SKIPPED)]
    if can_make_devices():
        os.mknod(folder / f"special/zero-{n}.txt", 0o600 | 0o020000, os.makedev(1, 5))
        cases.append(Case(f"special/zero-{n}.txt", SKIPPED))
    return cases


def _names(folder: Path, n: int) -> list[Case]:
    (folder / "names").mkdir(exist_ok=True)
    raw = os.fsencode(folder / "names") + f"/bad-\xff-{n}.md".encode("latin-1")
    with open(raw, "wb") as handle:
        handle.write(b"A file whose name is not UTF-8.\n")
    shown = f"names/bad-\\xff-{n}.md"
    return [Case(shown, SKIPPED)]


def _docx(folder: Path, n: int) -> list[Case]:
    marker = f"docxmarker{n}"
    _write(folder, f"docx/good-{n}.docx", docx_bytes(docx_paragraph(f"The {marker} holds.")))
    _write(folder, f"docx/junk-types-{n}.docx", docx_bytes("", types="junk <<<"))
    _write(folder, f"docx/junk-document-{n}.docx", docx_bytes("", document="<w:document junk"))
    deep = "<w:p>" * 3000 + "</w:p>" * 3000
    _write(folder, f"docx/deep-{n}.docx", docx_bytes(deep))
    _write(folder, f"docx/not-a-zip-{n}.docx", b"PK\x03\x04 truncated")
    return [
        Case(f"docx/good-{n}.docx", INDEXED, marker),
        *(Case(f"docx/{kind}-{n}.docx", FAILED) for kind in ["junk-types", "junk-document"]),
        Case(f"docx/deep-{n}.docx", FAILED),
        Case(f"docx/not-a-zip-{n}.docx", FAILED),
    ]


def _html(folder: Path, n: int) -> list[Case]:
    marker = f"deephtml{n}"
    deep = "<html><body>" + "<span>" * 3000 + f"{marker} text" + "</span>" * 3000 + "</body>"
    _write(folder, f"html/deep-{n}.html", deep)
    escapes = f"<p>esc&#27;[2J escmarker{n} cleared</p><p>title&#27;]0;PWNED&#7; set</p>"
    _write(folder, f"html/escapes-{n}.html", escapes)
    return [
        Case(f"html/deep-{n}.html", INDEXED, marker),
        Case(f"html/escapes-{n}.html", INDEXED, f"escmarker{n}"),
    ]


def _encodings(folder: Path, n: int) -> list[Case]:
    text = f"Encoded text number {n} mentions the utfmarker{n} word.\n"
    _write(folder, f"text/utf16-{n}.txt", text.encode("utf-16"))
    _write(folder, f"text/utf16be-nobom-{n}.txt", text.encode("utf-16-be"))
    _write(folder, f"text/utf32-{n}.txt", text.encode("utf-32"))
    _write(folder, f"text/latin1-{n}.txt", f"caf\xe9 cr\xe8me latinmarker{n}\n".encode("latin-1"))
    _write(folder, f"text/binary-{n}.txt", b"\x00\x01\x02\x03binary\x00" * 20)
    _write(folder, f"text/ansi-{n}.md", f"Plain \x1b[2J\x1b]0;PWNED\x07ansimarker{n} words.\n")
    return [
        Case(f"text/utf16-{n}.txt", INDEXED, f"utfmarker{n}"),
        Case(f"text/utf16be-nobom-{n}.txt", INDEXED, f"utfmarker{n}"),
        Case(f"text/utf32-{n}.txt", INDEXED, f"utfmarker{n}"),
        Case(f"text/latin1-{n}.txt", PARTLY, f"latinmarker{n}"),  # read as cp1252, said so
        Case(f"text/binary-{n}.txt", FAILED),
        Case(f"text/ansi-{n}.md", INDEXED, f"ansimarker{n}"),
    ]


def _pdf(folder: Path, n: int) -> list[Case]:
    marker = f"pdfmarker{n}"
    _write(folder, f"pdf/garbage-page-{n}.pdf", pdf_with_garbage_page(marker))
    _write(folder, f"pdf/truncated-{n}.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    return [
        Case(f"pdf/garbage-page-{n}.pdf", PARTLY, marker),
        Case(f"pdf/truncated-{n}.pdf", FAILED),
    ]


def _sizes(folder: Path, n: int) -> list[Case]:
    marker = f"bigwordtail{n}"
    _write(folder, f"sizes/no-spaces-{n}.txt", "a" * 2_000_000 + f"\n\nThe {marker} is here.\n")
    _write(folder, f"sizes/empty-{n}.md", "")
    _write(folder, f"sizes/blank-{n}.md", "\n\n   \n")
    return [
        Case(f"sizes/no-spaces-{n}.txt", INDEXED, marker),
        Case(f"sizes/empty-{n}.md", INDEXED),
        Case(f"sizes/blank-{n}.md", INDEXED),
    ]


_MAKERS: list[Callable[[Path, int], list[Case]]] = [
    _good,
    _symlinks,
    _special_files,
    _names,
    _docx,
    _html,
    _encodings,
    _pdf,
    _sizes,
]

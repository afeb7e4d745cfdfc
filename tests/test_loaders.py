"""Each loader on a real file of its format, and each kind of unreadable file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gptchat.ingest.documents import UnreadableDocument
from gptchat.ingest.loaders import document_kind, load_document


def blocks_of(name: str, data: bytes) -> list:
    return load_document(Path(name), data).blocks


def test_markdown_headings_paragraphs_and_fences_keep_their_lines() -> None:
    text = (
        "# Title\n\nFirst paragraph\nstill first.\n\n"
        "Setext heading\n--------------\n\n"
        "```python\nx = 1\n\ny = 2\n```\n\n"
        "## Deeper ##\nLast line.\n"
    )
    blocks = blocks_of("a.md", text.encode())
    assert [(b.text, b.heading_level, b.line_start, b.line_end) for b in blocks] == [
        ("Title", 1, 1, 1),
        ("First paragraph\nstill first.", 0, 3, 4),
        ("Setext heading", 2, 6, 6),
        ("```python\nx = 1\n\ny = 2\n```", 0, 9, 13),
        ("Deeper", 2, 15, 15),
        ("Last line.", 0, 16, 16),
    ]


def test_rst_section_levels_follow_adornment_order() -> None:
    text = "=====\nTop\n=====\n\nIntro.\n\nPart\n----\n\nBody text.\n\nOther\n-----\n"
    blocks = blocks_of("a.rst", text.encode())
    assert [(b.text, b.heading_level, b.line_start) for b in blocks] == [
        ("Top", 1, 2),
        ("Intro.", 0, 5),
        ("Part", 2, 7),
        ("Body text.", 0, 10),
        ("Other", 2, 12),
    ]


def test_plain_text_and_code_split_on_blank_lines() -> None:
    code = b"def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    blocks = blocks_of("m.py", code)
    assert [(b.text, b.line_start, b.line_end) for b in blocks] == [
        ("def a():\n    return 1", 1, 2),
        ("def b():\n    return 2", 5, 6),
    ]
    assert document_kind(Path("m.py")) == "code"
    assert document_kind(Path("Makefile")) == "code"
    assert document_kind(Path("photo.png")) is None


def test_html_keeps_visible_text_only() -> None:
    html = (
        "<html><head><style>p {color: red}</style><title>x</title></head><body>\n"
        "<h1>Guide</h1>\n<script>alert('no')</script>\n"
        "<p>Visible <b>bold</b> words.</p>\n<!-- a comment -->\n"
        "<ul><li>one</li><li>two</li></ul></body></html>"
    )
    blocks = blocks_of("p.html", html.encode())
    texts = [b.text for b in blocks]
    assert texts == ["Guide", "Visible bold words.", "one", "two"]
    assert blocks[0].heading_level == 1
    assert blocks[1].line_start == 4
    assert not any("alert" in t or "color" in t or "comment" in t for t in texts)


def test_pdf_pages_are_numbered() -> None:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "The first page talks about apples.")
    pdf.showPage()
    pdf.drawString(72, 720, "The second page talks about pears.")
    pdf.showPage()
    pdf.save()
    blocks = blocks_of("fruit.pdf", buffer.getvalue())
    assert [(b.page, b.text) for b in blocks] == [
        (1, "The first page talks about apples."),
        (2, "The second page talks about pears."),
    ]


def test_docx_headings_paragraphs_and_tables() -> None:
    import docx

    document = docx.Document()
    document.add_heading("Report", level=1)
    document.add_paragraph("Sales rose in spring.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "month", "sales"
    table.cell(1, 0).text, table.cell(1, 1).text = "May", "12"
    buffer = io.BytesIO()
    document.save(buffer)
    blocks = blocks_of("r.docx", buffer.getvalue())
    assert [(b.text, b.heading_level) for b in blocks] == [
        ("Report", 1),
        ("Sales rose in spring.", 0),
        ("month | sales\nMay | 12", 0),
    ]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary content"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage", "corrupt PDF"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "corrupt DOCX"),
    ],
)
def test_unreadable_files_raise_with_a_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument, match=reason):
        load_document(Path(name), data)


def test_a_pdf_with_no_pages_or_no_text_says_so() -> None:
    from pypdf import PdfWriter

    empty = io.BytesIO()
    PdfWriter().write(empty)
    with pytest.raises(UnreadableDocument, match="PDF with no pages"):
        load_document(Path("empty.pdf"), empty.getvalue())
    blank = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.write(blank)
    document = load_document(Path("scan.pdf"), blank.getvalue())
    assert document.blocks == [] and "no text on any page" in document.problems[0]


def test_a_docx_that_inflates_past_the_limit_is_refused_unread() -> None:
    import zipfile

    from gptchat.ingest.loaders.docx import MAX_INFLATED_BYTES

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/media/zeros.bin", b"\0" * (MAX_INFLATED_BYTES + 1))
    assert len(bomb.getvalue()) < 1_000_000
    with pytest.raises(UnreadableDocument, match=r"inflates to 64 MB, over the 64 MB"):
        load_document(Path("bomb.docx"), bomb.getvalue())


def test_a_zip_that_is_not_a_word_document_is_named_so() -> None:
    import zipfile

    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UnreadableDocument) as refused:
        load_document(Path("other.docx"), other.getvalue())
    assert "corrupt DOCX" in str(refused.value) and "BytesIO" not in str(refused.value)


def test_a_big_one_line_html_page_streams_without_a_tree() -> None:
    """A page of 50,000 paragraphs on one line: read as blocks, each with its line."""
    page = "<html><body>" + "".join(f"<p>Note {i} <b>bold</b>.</p>" for i in range(50_000))
    blocks = blocks_of("big.html", (page + "</body></html>").encode())
    assert len(blocks) == 50_000 and blocks[-1].text == "Note 49999 bold."
    assert {block.line_start for block in blocks} == {1}


def test_legacy_8_bit_text_is_decoded_and_said_so() -> None:
    latin = load_document(Path("latin1.md"), "Café au lait, très bon.".encode("latin-1"))
    assert [b.text for b in latin.blocks] == ["Café au lait, très bon."]
    assert latin.problems == ["read as cp1252 (not UTF-8)"]
    cyrillic = load_document(Path("ru.txt"), "Привет мир, как дела?".encode("cp1251"))
    assert [b.text for b in cyrillic.blocks] == ["Привет мир, как дела?"]
    assert cyrillic.problems == ["read as cp1251 (not UTF-8)"]

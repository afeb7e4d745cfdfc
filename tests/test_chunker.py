"""Chunk bounds, heading trails, overlap and locations, with the embedder's real tokenizer."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from gptchat.index.embedder import Embedder
from gptchat.ingest.chunker import Chunker, ChunkOptions
from gptchat.ingest.documents import Block, Document
from gptchat.ingest.loaders import load_document

MODEL_LIMIT = 256  # all-MiniLM-L6-v2 reads at most this many word pieces, [CLS] and [SEP] included


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(Embedder().token_counter(), ChunkOptions(max_tokens=254, overlap_tokens=32))


def model_tokens(text: str) -> int:
    """Length as the model sees it, special tokens included, with nothing truncated."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Embedder().path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return len(tokenizer.encode(text).ids)


def test_no_chunk_exceeds_the_model_limit(chunker: Chunker) -> None:
    # A long paragraph, an endless "sentence" of rare words, and a heading trail to fit in too.
    long_paragraph = " ".join(
        f"Sentence {i} mentions antidisestablishmentarianism." for i in range(200)
    )
    no_full_stops = " ".join(f"pneumonoultramicroscopic{i}" for i in range(600))
    text = f"# Top\n\n## Sub section\n\n{long_paragraph}\n\n{no_full_stops}\n\nShort tail.\n"
    chunks = chunker.chunk(load_document(Path("long.md"), text.encode()))
    assert len(chunks) > 10
    for chunk in chunks:
        length = model_tokens(chunk.embed_text)
        assert length <= MODEL_LIMIT
        assert chunk.token_count + 2 == length  # the chunker's own count is exact
        assert chunk.heading == "Top > Sub section"
    joined = " ".join(c.text for c in chunks)
    assert "Sentence 199 mentions" in joined and "pneumonoultramicroscopic599" in joined


def test_short_paragraphs_are_packed_and_sections_split_at_headings(chunker: Chunker) -> None:
    text = "# A\n\nOne.\n\nTwo.\n\n# B\n\nThree.\n"
    chunks = chunker.chunk(load_document(Path("s.md"), text.encode()))
    assert [(c.heading, c.text, c.line_start, c.line_end) for c in chunks] == [
        ("A", "One.\n\nTwo.", 3, 5),
        ("B", "Three.", 9, 9),
    ]


def test_neighbouring_chunks_overlap_by_whole_pieces(chunker: Chunker) -> None:
    sentences = [f"Fact {i} is that the number {i} follows {i - 1} in order." for i in range(120)]
    document = Document(Path("o.txt"), "text", [Block(" ".join(sentences), 1, 1)])
    chunks = chunker.chunk(document)
    assert len(chunks) >= 3
    for previous, following in itertools.pairwise(chunks):
        before, after = previous.text.split("\n\n"), following.text.split("\n\n")
        carried = after[: after.index(before[-1]) + 1]  # fails if the last piece is not carried
        assert carried == before[-len(carried) :]
        assert sum(len(piece.split()) for piece in carried) <= 32


def test_line_ranges_point_at_the_source_lines(chunker: Chunker) -> None:
    lines = [f"Line {i} of a long note about rivers and their many tributaries." for i in range(80)]
    text = "\n".join(lines) + "\n"
    chunks = chunker.chunk(load_document(Path("n.txt"), text.encode()))
    assert len(chunks) > 1
    for chunk in chunks:
        first = chunk.text.splitlines()[0]
        assert lines[chunk.line_start - 1].startswith(first.split(" of a")[0])
        assert chunk.line_start <= chunk.line_end <= 80
    assert chunks[0].line_start == 1 and chunks[-1].line_end == 80


def test_pages_never_share_a_chunk(chunker: Chunker) -> None:
    blocks = [Block("Page one text.", 1, 1, page=1), Block("Page two text.", 1, 1, page=2)]
    chunks = chunker.chunk(Document(Path("d.pdf"), "pdf", blocks))
    assert [(c.page, c.text) for c in chunks] == [(1, "Page one text."), (2, "Page two text.")]


def test_an_overlong_heading_is_shortened_to_leave_room(chunker: Chunker) -> None:
    heading = " ".join(["verylongheadingword"] * 200)
    text = f"# {heading}\n\nBody.\n"
    (chunk,) = chunker.chunk(load_document(Path("h.md"), text.encode()))
    assert chunk.text == "Body."
    assert model_tokens(chunk.embed_text) <= MODEL_LIMIT


def test_a_long_paragraph_is_never_split_after_e_g_or_i_e(chunker: Chunker) -> None:
    sentences = [
        f"Rule {i} holds for small inputs (e.g. size {i}) and, i.e. in short, fails on large ones."
        for i in range(80)
    ]
    document = Document(Path("r.txt"), "text", [Block(" ".join(sentences), 1, 1)])
    chunks = chunker.chunk(document)
    assert len(chunks) >= 2  # the paragraph had to be split into sentences
    pieces = [piece for chunk in chunks for piece in chunk.text.split("\n\n")]
    assert pieces and all(piece.startswith("Rule ") for piece in pieces)

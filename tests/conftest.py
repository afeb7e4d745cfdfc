"""Shared fixtures: a workspace in tmp_path, the real embedder, small document folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptchat.document_index import DocumentIndex
from gptchat.embedder import Embedder
from gptchat.indexer import Indexer
from gptchat.workspace import HOME_ENV, Workspace


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Every test gets its own workspace; nothing touches the user's."""
    home = tmp_path / "workspace"
    home.mkdir()
    monkeypatch.setenv(HOME_ENV, str(home))
    return Workspace(home)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real bundled all-MiniLM-L6-v2, loaded once per test session."""
    return Embedder()


@pytest.fixture
def index(workspace: Workspace) -> Iterator[DocumentIndex]:
    opened = DocumentIndex.open(workspace.index_dir("default"), create=True)
    yield opened
    opened.close()


@pytest.fixture
def indexer(index: DocumentIndex, embedder: Embedder) -> Indexer:
    return Indexer(index, embedder)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A small folder of real documents in several formats."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "solar.md").write_text(
        "# Solar power\n\nPhotovoltaic panels turn sunlight into electricity.\n\n"
        "## Storage\n\nBatteries store the surplus for the night.\n"
    )
    (folder / "tea.txt").write_text(
        "Green tea is steeped at 80 degrees for two minutes.\n\nBlack tea takes boiling water.\n"
    )
    sub = folder / "guides"
    sub.mkdir()
    (sub / "bikes.rst").write_text(
        "Bicycles\n========\n\nA chain needs oil every 300 kilometres.\n"
    )
    (sub / "page.html").write_text(
        "<html><head><title>t</title><script>var hidden = 1;</script></head>"
        "<body><h1>Volcanoes</h1><p>Magma that reaches the surface is called lava.</p>"
        "</body></html>"
    )
    return folder


def write_paragraphs(path: Path, count: int, topic: str) -> None:
    """A Markdown file with `count` distinct paragraphs about `topic`."""
    paragraphs = [
        f"Paragraph {i} about {topic}: fact number {i} says {topic} item {i * 7} is notable."
        for i in range(count)
    ]
    path.write_text(f"# {topic}\n\n" + "\n\n".join(paragraphs) + "\n")

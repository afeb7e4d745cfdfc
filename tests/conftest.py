"""Shared fixtures: a workspace in tmp_path, the real embedder, small document folders."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptchat.answer.retriever import Retriever
from gptchat.answer.session import ChatSession
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.log.store import AppStore, StoredSource
from gptchat.main import main
from gptchat.model.generator import DecodeOptions, Generator
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


CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _tiny_tokenizer():  # -> PreTrainedTokenizerFast
    """A small byte-level BPE tokenizer trained here, so no model download is needed."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [
        "The quick brown fox jumps over the lazy dog. Sources: [1] solar.md",
        "Photovoltaic panels turn sunlight into electricity. Question: what is it?",
    ] * 20
    tokenizer.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )


def _save_tiny_model(folder: Path, chat_template: str | None) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tiny_tokenizer()
    tokenizer.chat_template = chat_template
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Llama with a chat template: fast, wording meaningless."""
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-chat-model"), CHAT_TEMPLATE)


@pytest.fixture(scope="session")
def tiny_plain_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny model without a chat template, like GPT-2."""
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-plain-model"), None)


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run `gptchat ARGS` in-process; returns exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["gptchat", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def stored_source(number: int | None, path: str, text: str = "passage") -> StoredSource:
    """A logged source, as ChatSession stores it."""
    return StoredSource(
        rank=number or 9,
        source_number=number,
        chunk_ids=[1],
        location=f"{path}:1-4",
        heading="",
        score=0.5,
        similarity=0.6,
        text=text,
        path=path,
    )


def versions(workspace: Workspace) -> list:
    """The workspace's model versions, oldest first."""
    with AppStore(workspace.app_db_path) as store:
        return store.model_versions()


FAST = ("--max-steps", "3", "--batch-size", "2")  # fine-tuning options for a quick run


@pytest.fixture
def store(workspace: Workspace):
    """The workspace's gptchat.db, open for the test."""
    opened = AppStore(workspace.app_db_path)
    yield opened
    opened.close()


@pytest.fixture
def session(
    indexer: Indexer,
    index: DocumentIndex,
    embedder: Embedder,
    docs: Path,
    tiny_model_dir: Path,
    store: AppStore,
) -> ChatSession:
    """A ChatSession over `docs`, indexed, with the tiny model answering in 8 tokens."""
    indexer.run([docs])
    generator = Generator(tiny_model_dir, name="tiny")
    return ChatSession(
        Retriever(index, embedder),
        generator,
        store,
        "default",
        k=3,
        decode=DecodeOptions(max_new_tokens=8),
    )

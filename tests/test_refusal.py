"""The refusal penalty follows how close the shown sources are to the question."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gptchat.answer.closeness import best_closeness
from gptchat.answer.prompt import NOT_COVERED, REFUSAL
from gptchat.answer.refusal import RefusalPenalty
from gptchat.answer.retriever import Hit, Retriever, RetrieverOptions
from gptchat.answer.session import Answer, ChatSession
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.log.store import AppStore
from gptchat.model.generator import DecodeOptions, Generator
from gptchat.render.answers import final_label
from gptchat.workspace import Workspace


def hit(similarity: float | None) -> Hit:
    return Hit("notes.md", "", "text", 1, 2, None, (1,), 0.03, similarity)


def test_close_sources_discourage_the_refusal_and_distant_ones_encourage_it() -> None:
    rule = RefusalPenalty(similar=0.45, close=3.0, distant=-0.5)  # distant as a bonus
    assert rule.for_sources([hit(0.2), hit(0.61)]) == 3.0  # the best source counts
    assert rule.for_sources([hit(0.45)]) == 3.0
    assert rule.for_sources([hit(0.44), hit(None)]) == -0.5
    assert rule.for_sources([hit(None)]) == -0.5  # keyword hits alone: no cosine to trust
    assert rule.for_sources([]) == -0.5


class RecordingGenerator(Generator):
    """The real generator, keeping the decode settings of each answer."""

    def __init__(self, model_dir: Path, learned_refusal: bool = False) -> None:
        super().__init__(model_dir, name="tiny", learned_refusal=learned_refusal)
        self.seen: list[DecodeOptions] = []

    def stream(self, prompt, settings=None, cancel=None, plain=False):  # type: ignore[override]
        self.seen.append(settings)
        return super().stream(prompt, settings, cancel, plain)


DECODE = DecodeOptions(max_new_tokens=4)
QUESTION = "How long should green tea steep?"


@pytest.fixture
def taught(tiny_model_dir: Path) -> RecordingGenerator:
    """A generator that counts as having learned the refusal, as the starter has."""
    return RecordingGenerator(tiny_model_dir, learned_refusal=True)


@pytest.fixture
def untaught(tiny_model_dir: Path) -> RecordingGenerator:
    return RecordingGenerator(tiny_model_dir)


Ask = Callable[..., tuple[Answer, ChatSession]]


@pytest.fixture
def ask(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path, workspace: Workspace
) -> Iterator[Ask]:
    """Asks QUESTION of the tea documents with a generator, retrieval settings and a refusal
    floor, through a real ChatSession; returns the finished answer and its session."""
    indexer.run([docs])
    with AppStore(workspace.app_db_path) as store:

        def asking(
            generator: Generator, settings: RetrieverOptions | None = None, floor: float = 0.0
        ) -> tuple[Answer, ChatSession]:
            retriever = Retriever(index, embedder, settings)
            session = ChatSession(retriever, generator, store, "default", k=3, decode=DECODE)
            session.refusal = replace(session.refusal, floor=floor)
            answer = session.ask(QUESTION)
            list(answer)
            return answer, session

        yield asking


def test_each_answer_of_a_model_taught_to_refuse_weighs_its_sources(
    ask: Ask, taught: RecordingGenerator, untaught: RecordingGenerator
) -> None:
    answer, session = ask(taught)
    ask(untaught)
    (settings,) = taught.seen
    assert settings.discouraged_opening == REFUSAL and settings.max_new_tokens == 4
    best = best_closeness(answer.sources)
    assert settings.opening_penalty == session.refusal.for_closeness(best) != 0
    # A model that never learned the reply decodes as asked.
    assert untaught.seen == [DECODE]


def test_a_model_taught_to_refuse_reads_passages_under_retrievals_floor_down_to_its_own(
    ask: Ask, taught: RecordingGenerator, untaught: RecordingGenerator
) -> None:
    # Retrieval's floor above anything the question reaches: nothing is relevant to it.
    strict = RetrieverOptions(min_similarity=0.99, min_word_share=1.01)
    far, session = ask(taught, strict)
    retrieval = session.retriever.retrieve(QUESTION, 3)
    assert not retrieval.relevant
    assert far.relevant and far.far and far.sources and len(taught.seen) == 1
    # The tiny model's words are in no source: from passages that far, that is invented,
    # and the app says "not covered"; the log keeps what the model wrote.
    assert far.attribution is not None and not far.attribution.cited
    assert far.text == NOT_COVERED and far.status == "no_answer" and far.raw_text
    assert session.store.message(far.message_id).raw_content == far.raw_text
    # The same words from passages retrieval finds close are the model's answer.
    close, _ = ask(taught)
    assert not close.far and close.raw_text == far.raw_text and close.text != NOT_COVERED
    assert final_label(far) == "Not kept, no passage supports it" != final_label(close)
    # Under the rule's own floor the model is not asked.
    taught.seen = []
    below, _ = ask(taught, strict, floor=retrieval.closeness + 0.01)
    assert taught.seen == [] and below.text == NOT_COVERED and below.status == "no_answer"
    # A model that never learned the reply gets retrieval's floor alone.
    plain, _ = ask(untaught, strict)
    assert untaught.seen == [] and plain.text == NOT_COVERED and not plain.relevant

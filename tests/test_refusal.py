"""The refusal penalty follows how close the shown sources are to the question."""

from __future__ import annotations

from pathlib import Path

from gptchat.answer.prompt import REFUSAL
from gptchat.answer.refusal import RefusalPenalty
from gptchat.answer.retriever import Hit, Retriever
from gptchat.answer.session import ChatSession
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.log.store import AppStore
from gptchat.model.generator import DecodeSettings, Generator
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

    seen: list[DecodeSettings]

    def stream(self, prompt, settings=None, cancel=None, plain=False):  # type: ignore[override]
        self.seen.append(settings)
        return super().stream(prompt, settings, cancel, plain)


def test_each_answer_of_a_model_taught_to_refuse_weighs_its_sources(
    indexer: Indexer,
    index: DocumentIndex,
    embedder: Embedder,
    docs: Path,
    tiny_model_dir: Path,
    workspace: Workspace,
) -> None:
    indexer.run([docs])
    decode = DecodeSettings(max_new_tokens=4)
    taught = RecordingGenerator(tiny_model_dir, name="tiny", learned_refusal=True)
    untaught = RecordingGenerator(tiny_model_dir, name="tiny")
    with AppStore(workspace.app_db_path) as store:
        for generator in (taught, untaught):
            generator.seen = []
            session = ChatSession(
                Retriever(index, embedder), generator, store, "default", k=3, decode=decode
            )
            answer = session.ask("How long should green tea steep?")
            list(answer)
    (settings,) = taught.seen
    assert settings.discouraged_opening == REFUSAL and settings.max_new_tokens == 4
    best = max(s.similarity for s in answer.sources if s.similarity is not None)
    assert settings.opening_penalty == session.refusal.for_similarity(best) != 0
    # A model that never learned the reply decodes as asked.
    assert untaught.seen == [decode]

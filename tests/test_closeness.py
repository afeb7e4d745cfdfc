"""A passage's closeness to a question: the cosine of its closest sentence."""

from __future__ import annotations

from gptchat.answer.closeness import MAX_SENTENCES, best_closeness, closeness, with_closeness
from gptchat.answer.retriever import Hit
from gptchat.index.embedder import Embedder

QUESTION = "What does the transportation law allow personal aircraft to share?"
# The answer's sentence stands among sentences on other topics, as chunks of an article do.
MIXED = (
    "It is also the home of a Shakespeare festival which began performances in the park in"
    " 2005. Formed in 1946, the Sky Park Airport is a community born of an agreement in"
    " transportation law to allow personal aircraft and automobiles to share certain roads."
    " The city's largest park hosts a zoo and a rotary storyland for children."
)


def hit(text: str, similarity: float | None = None) -> Hit:
    return Hit(
        path="city.md",
        heading="",
        text=text,
        line_start=1,
        line_end=1,
        page=None,
        chunk_ids=(1,),
        score=1.0,
        similarity=similarity,
    )


def test_a_passage_is_as_close_as_its_closest_sentence(embedder: Embedder) -> None:
    vectors = embedder.encode([QUESTION, MIXED, "The city's largest park hosts a zoo."])
    question, whole, other = vectors
    (mixed, unrelated) = with_closeness(
        embedder, question, [hit(MIXED, float(whole @ question)), hit("The park has a zoo.")]
    )
    # The answer's sentence alone is far closer than the passage it stands in.
    assert mixed.closest_sentence is not None and mixed.similarity is not None
    assert mixed.closest_sentence > mixed.similarity + 0.1
    assert mixed.closest_sentence > float(other @ question)
    assert unrelated.closest_sentence is not None
    assert mixed.closest_sentence > unrelated.closest_sentence
    assert best_closeness([mixed, unrelated]) == mixed.closest_sentence


def test_closeness_falls_back_to_the_passage_cosine_and_to_none() -> None:
    taught = hit("", similarity=0.8)  # no sentence: a taught answer's question similarity stands
    assert closeness(taught) == 0.8 and best_closeness([taught]) == 0.8
    assert best_closeness([hit("")]) == 0.0 and best_closeness([]) == 0.0


def test_only_a_long_passages_first_sentences_are_embedded(embedder: Embedder) -> None:
    filler = " ".join(f"Sentence {n} is about nothing much." for n in range(MAX_SENTENCES))
    question = embedder.encode([QUESTION])[0]
    (late,) = with_closeness(embedder, question, [hit(filler + " " + MIXED)])
    (early,) = with_closeness(embedder, question, [hit(MIXED)])
    assert late.closest_sentence is not None and early.closest_sentence is not None
    assert late.closest_sentence < early.closest_sentence

"""Citations checked after the answer: inserted, dropped, kept; cut answers end whole."""

from __future__ import annotations

from gptchat.answer.attribution import attribute, complete_sentences, split_sentences
from gptchat.index.embedder import Embedder

SOURCES = [
    "Photovoltaic panels turn sunlight into electricity. Batteries store the surplus.",
    "Green tea is steeped at 80 degrees for two minutes. Black tea takes boiling water.",
]


def test_a_missing_citation_is_inserted_for_the_supporting_source() -> None:
    result = attribute("Green tea is steeped for two minutes.", SOURCES)
    assert result.text == "Green tea is steeped for two minutes [2]."
    assert result.inserted == 1 and result.dropped == 0
    [sentence] = result.sentences
    # The supporting sentence of the passage, for the app to mark.
    assert sentence.evidence == {2: "Green tea is steeped at 80 degrees for two minutes."}


def test_a_wrong_citation_is_fixed_and_a_right_one_kept() -> None:
    wrong = attribute("Panels turn sunlight into electricity [2].", SOURCES)
    assert wrong.text == "Panels turn sunlight into electricity [1]."
    assert wrong.dropped == 1 and wrong.inserted == 1
    right = attribute(
        "Batteries store the surplus [1]. Black tea takes boiling water [2].", SOURCES
    )
    assert right.text == "Batteries store the surplus [1]. Black tea takes boiling water [2]."
    assert right.inserted == right.dropped == 0 and right.cited == {1, 2}
    # A number beyond the sources is dropped too.
    assert attribute("Batteries store the surplus [7].", SOURCES).text == (
        "Batteries store the surplus [1]."
    )


def test_an_unsupported_sentence_cites_nothing() -> None:
    result = attribute("Volcanoes erupt lava at night [1].", SOURCES)
    assert result.text == "Volcanoes erupt lava at night." and result.dropped == 1
    assert result.cited == set()


def test_meaning_lets_a_paraphrase_cite_its_source(embedder: Embedder) -> None:
    paraphrase = "Solar panels convert light into power."
    assert attribute(paraphrase, SOURCES).cited == set()  # too few shared words alone
    assert attribute(paraphrase, SOURCES, embedder.encode).cited == {1}


def test_answers_cut_by_the_token_cap_end_at_a_complete_sentence() -> None:
    assert complete_sentences("Tea is green [1]. Black tea takes boil") == (
        "Tea is green [1].",
        True,
    )
    assert complete_sentences("It is two minutes [2]") == ("It is two minutes [2]", False)
    assert complete_sentences("Done.") == ("Done.", False)
    assert complete_sentences("no sentence ends here") == ("no sentence ends here", True)
    assert split_sentences("One [1]. Two? Three!") == ["One [1].", "Two?", "Three!"]

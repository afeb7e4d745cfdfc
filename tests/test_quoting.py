"""Explanations get the source's sentence that holds the model's short answer, and the
sentences closest to the question."""

from __future__ import annotations

from gptchat.answer.quoting import asks_for_explanation, quoted_answer, source_sentences

GUIDE = (
    "## Leaving files out\n\n"
    "Hidden files are never indexed. To leave out more,\n"
    "put a `.gptchatignore` file at the top of the indexed folder; it uses the same patterns\n"
    "as `.gitignore`.\n\n"
    "- Files over 50 MB are skipped.\n"
    "- Change the limit with `--max-file-mb`.\n\n"
    "```sh\ngptchat index ./docs --max-file-mb 100\n```\n"
)


def test_how_and_why_ask_for_an_explanation_how_many_does_not() -> None:
    assert asks_for_explanation("How do I leave files out?")
    assert asks_for_explanation("  why is the sky blue?")
    assert asks_for_explanation("How did the Normans win?")
    assert asks_for_explanation("What does a 529 error mean?")
    assert asks_for_explanation("What happens when the index is empty?")
    assert asks_for_explanation("Explain the prompt budget.")
    assert asks_for_explanation("What is the difference between a chunk and a passage?")
    assert asks_for_explanation("What are the key steps of indexing?")
    assert asks_for_explanation("What should you do when a file is skipped?")
    # Two things at once: no span answers both.
    assert asks_for_explanation("Which model is used, and how fast is it?")
    for question in (
        "How many files are indexed?",
        "How long is tea steeped?",
        "What is it?",
        "What does the guide recommend?",
        "What year did it happen?",
        "Who founded Warsaw and the Old Town?",
        "What are the two colours of the flag?",
    ):
        assert not asks_for_explanation(question)


def test_a_passage_splits_into_whole_sentences_without_markup() -> None:
    assert source_sentences(GUIDE) == [
        "Leaving files out",
        "Hidden files are never indexed.",
        "To leave out more, put a `.gptchatignore` file at the top of the indexed folder; it"
        " uses the same patterns as `.gitignore`.",
        "Files over 50 MB are skipped.",
        "Change the limit with `--max-file-mb`.",
    ]


def test_a_short_answer_to_how_becomes_its_sentence_citing_where_it_stands() -> None:
    sources = ["Black tea takes boiling water.", GUIDE]
    answer = quoted_answer("How do I leave files out of an index?", "`gptchatignore` [2].", sources)
    assert answer == (
        "To leave out more, put a `.gptchatignore` file at the top of the indexed folder; it uses"
        " the same patterns as `.gitignore` [2]."
    )
    # A wrong citation does not decide where the sentence comes from: the words do.
    wrong = quoted_answer("How do I leave files out of an index?", "`gptchatignore` [1].", sources)
    assert wrong == answer
    # Of several sentences holding the span, the one closest to the question.
    limit = quoted_answer("How do I change the size limit?", "`--max-file-mb`", sources)
    assert limit == "Change the limit with `--max-file-mb` [2]."


def test_answers_that_are_not_quotable_stay_as_the_model_wrote_them() -> None:
    sources = [GUIDE]
    # Not a how or why question: a span is the answer.
    assert quoted_answer("What file leaves files out?", "`.gptchatignore` [1].", sources) is None
    # Words that stand in no source, or only across two sentences.
    assert quoted_answer("How do I do it?", "Delete the folder [1].", sources) is None
    assert quoted_answer("How is it done?", "skipped change limit [1].", sources) is None
    # Already the whole sentence: nothing to add.
    whole = "Files over 50 MB are skipped [1]."
    assert quoted_answer("How are big files treated?", whole, sources) is None
    # A "sentence" too long to be one statement (a table or list run together) is not quoted.
    table = " ".join(f"cell{i}" for i in range(60)) + " gptchatignore here."
    assert quoted_answer("How do I leave files out?", "gptchatignore", [table]) is None
    # Nor is code, fenced or not.
    command = 'curl https://example.com/v1 \\ --header "x-api-key: $KEY" \\ --data {}'
    assert quoted_answer("How do I call it?", "curl [1].", [command]) is None
    assert quoted_answer("How do I index?", "--max-file-mb 100", sources) is None


STREAMING = (
    "Streaming sends the answer in events. Each event carries a short delta of text.\n\n"
    "A client joins the deltas in order to rebuild the answer. The last event is message_stop,"
    " after which no more deltas arrive. Pricing is per token."
)
RETRIES = "An overloaded error means the service is busy. Retry the request after a pause."


def test_an_explanation_adds_the_sentences_closest_to_the_question_each_cited() -> None:
    sources = [RETRIES, STREAMING]
    answer = quoted_answer(
        "How does a client rebuild a streaming answer?", "joins the deltas [2].", sources
    )
    # The sentence holding the model's words leads; the others that share two or more of the
    # question's words follow in the order they stand, each citing its own source.
    assert answer == (
        "A client joins the deltas in order to rebuild the answer [2]."
        " Streaming sends the answer in events [2]."
    )
    # The rest comes from the lead's passage, even where another shares the question's words.
    lead_only = quoted_answer(
        "How does a client retry a streaming request?", "joins the deltas [2].", sources
    )
    assert lead_only is not None and "[1]" not in lead_only
    # The model's words in no source: the closest sentences alone, from whichever source.
    invented = quoted_answer(
        "Why retry a request after an overloaded error?", "Buy a bigger plan [1].", sources
    )
    assert (
        invented
        == "An overloaded error means the service is busy [1]. Retry the request after a pause [1]."
    )


def test_a_quoted_answer_stays_within_three_sentences_and_eighty_words() -> None:
    filler = " ".join(["words"] * 20)
    sentences = [f"Deltas rebuild answers {filler} number{n}." for n in range(6)]
    answer = quoted_answer("How do deltas rebuild answers?", "", [" ".join(sentences)])
    assert answer is not None
    assert 2 <= answer.count("[1]") <= 3 and len(answer.split()) <= 80 + 3


def test_a_repeated_sentence_is_said_once_and_a_line_that_does_not_end_not_at_all() -> None:
    page = (
        "Retry limits\n\nRetry the request after a pause. Retry the request after a pause.\n\n"
        "Retry request menu Home Docs Support"
    )
    assert quoted_answer("Why retry a request?", "a pause [1].", [page]) == (
        "Retry the request after a pause [1]."
    )


def test_e_g_does_not_end_a_sentence() -> None:
    assert source_sentences("Some errors (e.g. Timeouts) pass. Others stay.") == [
        "Some errors (e.g. Timeouts) pass.",
        "Others stay.",
    ]

"""Other languages: telling a text's language, translating text and Markdown files, and
answering a question asked in another language than the documents'."""

from __future__ import annotations

import json
import re
from pathlib import Path
from threading import Event

import pytest

from gptchat.answer.question_language import QuestionLanguages
from gptchat.answer.retriever import Retriever
from gptchat.answer.session import ChatSession
from gptchat.answer.translate import Translator, copied, kept_parts_missing, missing_citations
from gptchat.answer.translate_document import DocumentTranslator, markdown_blocks
from gptchat.errors import BadInput
from gptchat.language.detect import detect_language, documents_language
from gptchat.language.languages import ENGLISH, language_named
from gptchat.learn.examples import dataset_from_feedback
from gptchat.log.store import AppStore
from gptchat.model.generator import Generator
from gptchat.render.answers import language_line
from tests.conftest import run_cli

MARKDOWN = """---
title: Streaming
---
# Streaming responses

Set `stream=True` to receive tokens as they are generated.
See [the guide](https://docs.example.com/streaming) for more.

- Events arrive in order.
- 1. A nested-looking item
2. A numbered item
> A quoted remark
> that runs on.

```python
client.messages.stream(model="x")
# a comment in code
```

| event | meaning |
|---|---|
| ping | keep-alive |

    indented code stays
"""


@pytest.fixture
def translator(tiny_model_dir: Path) -> Translator:
    """The tiny model taken for one that translates: its words mean nothing, its structure is
    what these tests read."""
    return Translator(Generator(tiny_model_dir, name="tiny", translates=True))


def test_questions_are_told_apart_by_language() -> None:
    assert detect_language("什么是速率限制？")[0] == language_named("zh")
    assert detect_language("Comment diffuser les réponses en continu ?")[0] == language_named("fr")
    assert detect_language("Wie streame ich Antworten?")[0] == language_named("de")
    assert detect_language("How do I stream responses?")[0] in (ENGLISH, None)
    # Too short or all names to be sure: taken for the documents' language, never translated.
    for unsure in ("Claude 3 Haiku", "rate limits", "Tokenizer", "529?", ""):
        language, confidence = detect_language(unsure)
        assert language in (ENGLISH, None), (unsure, language, confidence)
    french = ["Le thé noir se prépare avec de l'eau bouillante.", "Les panneaux solaires."]
    assert documents_language(french) == language_named("fr")
    assert documents_language([]) == ENGLISH


def test_the_documents_language_is_told_again_once_they_change(
    session: ChatSession, indexer, docs: Path
) -> None:
    assert session.languages.documents_language() == ENGLISH
    for path in docs.rglob("*.*"):
        path.unlink()
    (docs / "the.md").write_text(
        "# Le thé\n\nLe thé noir se prépare avec de l'eau bouillante pendant quatre minutes."
        " Le thé vert demande une eau à quatre-vingts degrés, jamais bouillante.\n"
    )
    indexer.run([docs])
    assert session.languages.documents_language() == language_named("fr")


def test_languages_are_named_by_code_or_name() -> None:
    assert language_named("zh") == language_named("Chinese") == language_named("中文")
    assert language_named(" FR ") == language_named("french")
    with pytest.raises(BadInput, match=r"no language called 'klingon'.*zh \(Chinese"):
        language_named("klingon")


def test_markdown_structure_is_kept_and_only_prose_translated(translator: Translator) -> None:
    blocks = markdown_blocks(MARKDOWN)
    # Rendered back one block per line with the text untouched, the document is the same.
    assert "\n".join("\n".join(block.lines) for block in blocks) == MARKDOWN
    translated = [(b.prefix, b.text) for b in blocks if b.text is not None]
    assert translated == [
        ("# ", "Streaming responses"),
        (
            "",
            "Set `stream=True` to receive tokens as they are generated. "
            "See [the guide](https://docs.example.com/streaming) for more.",
        ),
        ("- ", "Events arrive in order."),
        ("- ", "1. A nested-looking item"),
        ("2. ", "A numbered item"),
        ("> ", "A quoted remark that runs on."),
    ]

    output = "".join(DocumentTranslator(translator).stream(MARKDOWN, language_named("fr")))
    lines = output.split("\n")
    # Code, tables, front matter and indented code come through byte for byte.
    for kept in (
        "---\ntitle: Streaming\n---",
        '```python\nclient.messages.stream(model="x")\n# a comment in code\n```',
        "| event | meaning |\n|---|---|\n| ping | keep-alive |",
        "    indented code stays",
    ):
        assert kept in output
    assert lines[3].startswith("# ")
    assert sum(line.startswith("- ") for line in lines) == 2
    assert any(line.startswith("2. ") for line in lines)
    assert any(line.startswith("> ") for line in lines)
    # A link the model dropped is given back, never lost.
    assert "https://docs.example.com/streaming" in output


def test_a_model_that_cannot_translate_says_which_can(
    tiny_model_dir: Path, monkeypatch, capsys
) -> None:
    with pytest.raises(BadInput, match=r"tiny cannot translate; Qwen2\.5-Coder-0\.5B-Instruct can"):
        Translator(Generator(tiny_model_dir, name="tiny"))
    # The workspace's default (SmolLM2 with its starter) is refused before it is even fetched.
    code, out, err = run_cli(monkeypatch, capsys, "translate", "Hello there", "--to", "fr")
    assert code == 2 and out == ""
    assert "cannot translate" in err and "--model qwen" in err and err.count("\n") == 1


def test_translate_command_text_file_and_stdin(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    model = ("--model", str(tiny_model_dir))
    code, out, _ = run_cli(monkeypatch, capsys, "translate", "Hello there", "--to", "zh", *model)
    assert code == 0 and out.strip()
    source = tmp_path / "guide.md"
    source.write_text(MARKDOWN)
    target = tmp_path / "guide.fr.md"
    args = ("translate", str(source), "--to", "French", "--out", str(target), *model)
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0 and f"Written to {target}" in err
    assert "| ping | keep-alive |" in target.read_text()
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("Bonjour"))
    code, out, _ = run_cli(monkeypatch, capsys, "translate", "-", "--to", "en", *model)
    assert code == 0 and out.strip()
    code, _, err = run_cli(monkeypatch, capsys, "translate", "x", "--to", "klingon", *model)
    assert code == 2 and "no language called 'klingon'" in err
    code, _, err = run_cli(monkeypatch, capsys, "translate", str(tmp_path), "--to", "fr", *model)
    assert code == 2 and "is a folder" in err


PHRASES = {"红茶需要用什么温度的水来泡？": "What water does black tea take?"}


class Phrasebook(Translator):
    """The tiny model's translator, but for the phrases it knows: a question's translation
    must mean something for retrieval to find its passage; the answer's drops its marks."""

    def stream(self, text, target, source=None, cancel=None):
        known = PHRASES.get(text.strip())
        return iter([known] if known else ["红茶用沸水。"])


@pytest.fixture
def translating_session(session: ChatSession, tiny_model_dir: Path) -> ChatSession:
    """The fixture's session, its tiny model taken for one that translates, by phrasebook."""
    session.generator = Generator(tiny_model_dir, name="tiny", translates=True)
    session.languages = QuestionLanguages(session.sample_texts, Phrasebook)
    return session


def test_a_question_in_another_language_is_searched_and_answered_in_the_documents(
    translating_session: ChatSession, store: AppStore
) -> None:
    session = translating_session
    answer = session.ask("红茶需要用什么温度的水来泡？")
    streamed = "".join(answer)
    asked = answer.asked
    assert asked.foreign and asked.language == language_named("zh")
    assert asked.documents == ENGLISH and asked.translated == "What water does black tea take?"
    assert answer.status == "complete" and answer.hits[0].path.endswith("tea.txt")
    # What streamed is the answer in the question's language; the English one stays beside it.
    assert streamed.strip() == answer.text
    # The citations of the English answer, all of them, even those the translation dropped.
    assert answer.text.startswith("红茶用沸水。")
    assert not missing_citations(answer.answered_text, answer.text)
    stored = store.messages(answer.conversation_id)[-1]
    assert stored.content == answer.text
    assert stored.timings["question_language"] == "zh"
    assert stored.timings["answer_language"] == "zh"
    assert stored.timings["translated_question"] == asked.translated
    assert stored.timings["documents_language_answer"] == answer.answered_text
    # Learning keeps to the prompt's language: a +1 trains on the English answer under the
    # shown one; a correction typed in the question's language is not taught to that prompt.
    store.set_feedback(answer.message_id, rating=1)
    dataset = dataset_from_feedback(store.feedback_examples())
    assert [example.target for example in dataset.examples] == [answer.answered_text]
    store.set_feedback(answer.message_id, correction="用沸水。")
    dataset = dataset_from_feedback(store.feedback_examples())
    assert not dataset.examples
    assert dataset.skipped["a correction of an answer given in another language"] == 1
    # An English question takes the English path, untouched.
    english = session.ask("What does black tea take?")
    "".join(english)
    assert not english.asked.foreign and "question_language" not in english.timings


def test_what_is_taught_on_a_question_in_another_language_is_given_back_in_it(
    translating_session: ChatSession, store: AppStore
) -> None:
    session = translating_session
    first = session.ask("红茶需要用什么温度的水来泡？")
    "".join(first)
    store.set_feedback(first.message_id, rating=1)
    # Taught as it was searched and answered: in the documents' language.
    (taught,) = store.taught_answers()
    assert taught.question == "What water does black tea take?"
    assert taught.answer == first.answered_text != first.text

    # Asked again, it is given back (no generation), translated into the question's language.
    again = session.ask("红茶需要用什么温度的水来泡？")
    streamed = "".join(again)
    assert again.taught is not None and again.taught.id == taught.id
    assert streamed.startswith("红茶用沸水。") and again.text == streamed.strip()
    assert again.answered_text == taught.answer
    assert not missing_citations(taught.answer, again.text)
    stored = store.messages(again.conversation_id)[-1]
    assert stored.content == again.text and stored.taught_id == taught.id
    assert stored.timings["answer_language"] == "zh" and stored.prompt is None
    # Asked in English, the same question gets the taught answer as it is.
    english = session.ask("What water does black tea take?")
    assert "".join(english) == taught.answer and english.taught is not None

    # A correction typed in the question's language is given back as it is typed.
    store.set_feedback(first.message_id, correction="用沸水泡 [1]。")
    corrected = session.ask("红茶需要用什么温度的水来泡？")
    assert "".join(corrected) == "用沸水泡 [1]。"
    assert "answer_language" not in corrected.timings


def test_a_model_that_cannot_translate_searches_the_question_as_written(
    session: ChatSession,
) -> None:
    answer = session.ask("Comment prépare-t-on le thé noir avec de l'eau bouillante ?")
    "".join(answer)
    assert answer.asked.language == language_named("fr") and not answer.asked.foreign
    assert "tiny cannot translate" in answer.asked.note and "--model qwen" in answer.asked.note
    assert answer.timings["question_language"] == "fr"
    assert language_line(answer).startswith("Asked in French; tiny cannot translate")


def test_translated_retrieval_fuses_the_question_as_asked(index, indexer, embedder, docs) -> None:
    indexer.run([docs])
    retriever = Retriever(index, embedder)
    translated = "How often does a chain need it?"  # the translation lost "oil" and the number
    alone = retriever.retrieve(translated, 3)
    fused = retriever.retrieve(translated, 3, also="链条每 300 公里需要什么？")
    assert fused.hits[0].path.endswith("bikes.rst")
    # The number, written as asked, matched by keyword search, was fused in.
    bikes = {hit.path: hit.score for hit in alone.hits}[fused.hits[0].path]
    assert fused.hits[0].score > bikes
    # Relevance is judged on the translation: the asked wording's cosines do not count.
    assert fused.relevant == alone.relevant and fused.best_similarity == alone.best_similarity
    # Nor is the asked wording's embedding searched: the English embedder reads it as noise,
    # so a question with no word written as the documents write them changes nothing.
    unmatched = retriever.retrieve(translated, 3, also="链条需要什么？")
    assert [hit.score for hit in unmatched.hits] == [hit.score for hit in alone.hits]


def test_citations_dropped_by_a_translation_are_given_back(tiny_model_dir: Path) -> None:
    assert missing_citations("Boiling water [1]. Two minutes [2][1].", "沸水 [1]。") == ["[2]"]
    assert missing_citations("No marks.", "Pas de marques.") == []
    generator = Generator(tiny_model_dir, name="tiny", translates=True)
    languages = QuestionLanguages(lambda: ["Black tea takes boiling water."], Phrasebook)
    asked = languages.read("红茶需要用什么温度的水来泡？", generator)
    pieces = languages.answer("Boiling water [1], for two minutes [2].", asked, generator, Event())
    assert "".join(pieces) == "红茶用沸水。 [1][2]"


def test_ask_json_shows_the_translated_question(
    indexer, docs, tiny_model_dir: Path, monkeypatch, capsys
) -> None:
    indexer.run([docs])
    args = ("ask", "红茶需要用什么温度的水？", "--json", "--model", str(tiny_model_dir))
    code, out, _ = run_cli(monkeypatch, capsys, *args)
    assert code == 0
    shown = json.loads(out)
    assert shown["question_language"] == "zh" and shown["answer_language"] == "zh"
    assert shown["translated_question"] and shown["answer_in_documents_language"] is not None
    assert re.sub(r"\s", "", shown["answer"]) != ""


def test_summarize_command_in_another_language(
    indexer, docs: Path, tiny_model_dir: Path, monkeypatch, capsys
) -> None:
    indexer.run([docs])
    model = ("--model", str(tiny_model_dir))
    code, out, err = run_cli(monkeypatch, capsys, "summarize", "solar.md", *model)
    assert code == 0 and "Summarizing" in err and "- **Solar power**" in out
    code, out, _ = run_cli(monkeypatch, capsys, "summarize", "solar.md", "--to", "fr", *model)
    assert code == 0 and sum(line.startswith("- ") for line in out.split("\n")) == 2
    code, _, err = run_cli(monkeypatch, capsys, "summarize", "nowhere.md", *model)
    assert code == 2 and "nowhere.md: not in index 'default'" in err


def test_a_translation_that_copies_its_text_is_told() -> None:
    text = "Arriva mainly operates from Haymarket Bus Station [1]."
    zh, fr = language_named("zh"), language_named("fr")
    assert copied(text, "Arriva mainly operates from", zh)
    assert copied(text, "Arrival mainly operates from", zh)  # no Chinese in it: not translated
    assert not copied(text, "Arriva主要从Haymarket", zh)
    assert copied(text, "Arriva mainly  operates", fr)
    assert not copied(text, "Arriva opère principalement", fr)
    assert not copied("529 [1].", "529 [1].", zh)  # too short to tell: a number stays a number


def test_code_and_link_addresses_a_translation_lost_are_named() -> None:
    text = "Change it with `--max-file-mb`; see [the guide](https://example.com/a) [1]."
    assert kept_parts_missing(text, "Changez-le ; voir [le guide](https://example.com/a).") == [
        "`--max-file-mb`"
    ]
    assert kept_parts_missing(text, "Changez-le avec `--max-file-mb`.") == [
        "<https://example.com/a>"
    ]
    assert kept_parts_missing("No code here.", "Pas de code.") == []
    assert kept_parts_missing("Files (`.md`) [1].", "Fichiers (.md) [1].") == []

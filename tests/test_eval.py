"""`gptchat eval`: the question-file parser, the metrics, and small end-to-end runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptchat.answer.citations import strip_citations
from gptchat.answer.retriever import Hit
from gptchat.errors import BadInput
from gptchat.eval.evaluate import (
    LONG_ANSWER_MATCH,
    QuestionResult,
    judged_feedback,
    retrieval_scorable,
    summarize,
)
from gptchat.eval.metrics import contains_answer, rouge_l_recall
from gptchat.eval.qa_set import QAItem, load_qa_set, supports
from gptchat.log.store import AppStore
from tests.conftest import run_cli


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_bad_rows_are_reported_by_line_and_the_rest_is_kept(tmp_path: Path) -> None:
    qa = write_lines(
        tmp_path / "qa.jsonl",
        [
            {"id": "a", "question": "Q1?", "answers": ["A1"], "sources": ["x.md"]},
            "{not json",
            {"question": "Q3?"},
            {"question": "", "answers": ["A"]},
            {"question": "Q5?", "answers": ["A5"], "sources": "x.md"},
            ["a", "list"],
            {"question": "Q7?", "answers": ["A7", "A7b"]},
        ],
    )
    qa_set = load_qa_set(qa)
    assert [item.question for item in qa_set.items] == ["Q1?", "Q7?"]
    assert qa_set.items[0] == QAItem("a", "Q1?", ["A1"], ["x.md"])
    assert [p.split(":")[0] for p in qa_set.problems] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]
    assert "invalid JSON" in qa_set.problems[0] and "missing 'answers'" in qa_set.problems[1]


def test_an_empty_result_is_an_error_not_a_zero(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"no usable questions.*line 1"):
        load_qa_set(write_lines(tmp_path / "bad.jsonl", ["oops"]))
    with pytest.raises(BadInput, match="no such question file"):
        load_qa_set(tmp_path / "missing.jsonl")


def test_squad_v1_json_is_read_directly(tmp_path: Path) -> None:
    squad = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "c",
                        "qas": [{"id": "1", "question": "Q?", "answers": [{"text": "A"}]}],
                    }
                ],
            }
        ]
    }
    (tmp_path / "dev.json").write_text(json.dumps(squad))
    assert load_qa_set(tmp_path / "dev.json").items == [QAItem("1", "Q?", ["A"])]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"data": "nope"}, "'data' is not a list of articles"),
        ([], "not SQuAD v1.1 JSON"),
        ({"data": [{"paragraphs": [{"qas": [{"question": "q?", "answers": "a"}]}]}]}, "answers"),
    ],
)
def test_malformed_squad_json_is_one_line(tmp_path: Path, document: object, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BadInput, match=message):
        load_qa_set(path)


def test_bad_squad_entries_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    good = {"id": "x", "question": "Where?", "answers": [{"text": "here"}]}
    paragraphs = [{"qas": [5, {"question": "q?", "answers": [{"text": 7}]}, good]}, "junk"]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"data": [1, {"paragraphs": 3}, {"paragraphs": paragraphs}]}))
    qa_set = load_qa_set(path)
    assert [item.question for item in qa_set.items] == ["Where?"]
    assert qa_set.problems == [
        "article 1: no 'paragraphs' list",
        "article 2: no 'paragraphs' list",
        "article 3: a question that is not a JSON object",
        "question ?: missing 'answers' (a list of strings)",
        "article 3: a paragraph without a 'qas' list",
    ]


def test_questions_retrieval_cannot_score_are_left_out_of_hit_at_k() -> None:
    short = QAItem("1", "Q?", ["A"])
    long_without_files = QAItem("2", "Explain?", [" ".join(["word"] * 20)])
    long_with_files = QAItem("3", "Explain?", [" ".join(["word"] * 20)], ["a.md"])
    assert not retrieval_scorable(long_without_files)
    assert retrieval_scorable(short) and retrieval_scorable(long_with_files)
    results = [
        QuestionResult(short, rank=1, retrieval_ms=1.0),
        QuestionResult(long_without_files, rank=None, retrieval_ms=1.0, retrieval_scored=False),
    ]
    metrics = summarize(results)
    assert metrics["hit@1"] == 1.0 and metrics["retrieval_unscored"] == 1  # not a miss
    assert metrics["questions"] == 2


def test_rouge_l_recall_by_hand() -> None:
    # reference: "cat sat on mat" (4 tokens); LCS with "cat was on red mat" = cat on mat = 3
    assert rouge_l_recall("the cat was on the red mat", "the cat sat on the mat") == 0.75
    assert rouge_l_recall("nothing", "") == 0.0


def hit(path: str, text: str) -> Hit:
    return Hit(path, "", text, 1, 1, None, chunk_ids=(1,), score=1.0, similarity=0.5)


def test_relevance_by_answer_string_or_by_source_file() -> None:
    short = QAItem("1", "Q?", ["Denver Broncos"], ["nfl.md"])
    assert supports(hit("/d/other.md", "The Denver Broncos won."), short)
    long_answer = " ".join(["word"] * 20)
    long = QAItem("2", "Q?", [long_answer], ["api/errors.md"])
    assert supports(hit("/docs/api/errors.md", "unrelated text"), long)
    assert not supports(hit("/docs/errors.md", long_answer), long)


def test_summary_metrics_by_hand() -> None:
    item = QAItem("1", "Q?", ["A"])
    results = [
        QuestionResult(
            item,
            rank=1,
            retrieval_ms=10.0,
            answer="A [1]",
            status="complete",
            exact_match=1.0,
            token_f1=1.0,
            contains_gold=True,
            answer_words=1,
            citations=[True],
        ),
        QuestionResult(
            item,
            rank=4,
            retrieval_ms=20.0,
            answer="B [1] [2]",
            status="complete",
            exact_match=0.0,
            token_f1=0.5,
            contains_gold=True,  # right, but in 12 words where the gold has 1
            answer_words=12,
            citations=[False, True],
            quoted=True,  # the model's span scored 0.25 before its sentence was quoted
            model_score=0.25,
        ),
        QuestionResult(
            item,
            rank=None,
            retrieval_ms=30.0,
            answer="none",
            status="no_answer",
            exact_match=0.0,
            token_f1=0.0,
            contains_gold=False,
            answer_words=1,
        ),
    ]
    metrics = summarize(results)
    assert metrics["hit@1"] == pytest.approx(1 / 3)
    assert metrics["hit@5"] == pytest.approx(2 / 3)
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 4) / 3)
    assert metrics["exact_match"] == pytest.approx(1 / 3)
    assert metrics["token_f1"] == pytest.approx(0.5)
    assert metrics["contains_gold"] == pytest.approx(2 / 3)
    assert metrics["answer_words_p50"] == 1 and 1 < metrics["answer_words_p95"] <= 12
    # Only one result says what the model's own words scored; the others do not count.
    assert metrics["model_token_f1"] == pytest.approx(0.25)
    assert "model_rouge_l_recall" not in metrics
    assert metrics["not_in_documents_rate"] == pytest.approx(1 / 3)
    # Of the two that are not "not covered" replies, both cite.
    assert metrics["answers_with_citation"] == pytest.approx(1.0)
    assert metrics["quoted"] == pytest.approx(0.5)
    assert metrics["cited_sources_gold"] == pytest.approx(2 / 3)
    assert metrics["retrieval_ms_p50"] == 20.0


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "qa.jsonl",
        [
            {
                "question": "How long is green tea steeped?",
                "answers": ["two minutes"],
                "sources": ["tea.txt"],
            },
            {
                "question": "What is magma at the surface called?",
                "answers": ["lava"],
                "sources": ["guides/page.html"],
            },
            {
                "question": "How often does a bicycle chain need oil?",
                "answers": ["every 300 kilometres"],
                "sources": ["guides/bikes.rst"],
            },
            "not json",
        ],
    )


def test_retrieval_only_eval_end_to_end(monkeypatch, capsys, docs, qa_file, workspace) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(qa_file), "--retrieval-only")
    assert code == 0
    assert "| retrieval hit@1 | 1.000 |" in out and "| questions | 3 |" in out
    assert "| baseline: dense alone hit@5 | 1.000 |" in out
    assert "| baseline: BM25 alone hit@10 |" in out
    assert "line 4: invalid JSON" in err
    report = json.loads((workspace.root / "eval" / "run-1.json").read_text())
    assert report["metrics"]["mrr@10"] == 1.0 and len(report["questions"]) == 3


def test_eval_with_answers_and_history(
    monkeypatch, capsys, docs, qa_file, tiny_model_dir, workspace
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, out, _ = run_cli(
        monkeypatch, capsys, "eval", str(qa_file), "--json", "--model", str(tiny_model_dir)
    )
    assert code == 0
    report = json.loads(out)
    metrics = {"token_f1", "exact_match", "contains_gold", "answer_words_p50"}
    assert metrics <= report["metrics"].keys()
    assert all(q["answer"] is not None for q in report["questions"])
    for question in report["questions"]:  # the random model's words, judged as they are
        gold = contains_answer(question["answer"], question["answers"])
        assert question["contains_gold"] == gold
        assert question["answer_words"] == len(strip_citations(question["answer"]).split())
    code, history, _ = run_cli(monkeypatch, capsys, "eval", "--history")
    assert code == 0 and "| 1 |" in history and tiny_model_dir.name in history
    code, listed, _ = run_cli(monkeypatch, capsys, "history")
    assert "No conversations yet" in listed  # eval answers stay out of the user's history


def test_record_feedback_then_export_a_golden_set(
    monkeypatch, capsys, docs, qa_file, tiny_model_dir, workspace, tmp_path
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    model = ("--model", str(tiny_model_dir))
    code, _, _ = run_cli(monkeypatch, capsys, "eval", str(qa_file), "--record-feedback", *model)
    assert code == 0
    with AppStore(workspace.app_db_path) as store:
        examples = store.feedback_examples()
        conversations = store.conversations()
    # The random model matches no gold answer, so each answer gets the gold one as correction,
    # citing the source that holds it, as a careful user would.
    assert len(conversations) == 3 and len(examples) == 3
    assert {(e.feedback.rating, e.feedback.correction) for e in examples} == {
        (-1, "two minutes [1]."),
        (-1, "lava [1]."),
        (-1, "every 300 kilometres [1]."),
    }
    assert all(e.prompt and e.model == tiny_model_dir.name for e in examples)
    golden = tmp_path / "golden.jsonl"
    code, out, _ = run_cli(monkeypatch, capsys, "eval", "--export-golden", str(golden))
    assert code == 0 and "Wrote 3 questions" in out
    rows = [json.loads(line) for line in golden.read_text().splitlines()]
    assert {row["answers"][0] for row in rows} == {
        "two minutes [1].",
        "lava [1].",
        "every 300 kilometres [1].",
    }
    assert all(row["sources"] for row in rows)
    # The exported set is itself a question file gptchat eval reads.
    code, out, _ = run_cli(monkeypatch, capsys, "eval", str(golden), "--retrieval-only")
    assert code == 0 and "| questions | 3 |" in out


def test_judged_feedback_approves_matches_and_corrects_the_rest() -> None:
    short = QAItem("s", "Q?", ["lava", "molten rock"])
    right = QuestionResult(short, 1, 1.0, answer="Lava.", exact_match=1.0, token_f1=1.0)
    wrong = QuestionResult(short, 1, 1.0, answer="Ash.", exact_match=0.0, token_f1=0.0)
    assert judged_feedback(right) == (1, None)
    assert judged_feedback(wrong) == (-1, "lava")  # no source holds it: the gold answer alone
    wrong.sources = [Hit("/d/v.md", "", "Magma becomes lava.", 1, 1, None, (1,), 0.1, 0.5)]
    assert judged_feedback(wrong) == (-1, "lava [1].")
    long_item = QAItem("l", "Q?", ["a long reference answer " * 4])
    close = QuestionResult(long_item, 1, 1.0, answer="...", rouge_l=LONG_ANSWER_MATCH)
    assert judged_feedback(close) == (1, None)


def test_record_feedback_needs_answers(monkeypatch, capsys, docs, qa_file) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, _, err = run_cli(
        monkeypatch, capsys, "eval", str(qa_file), "--record-feedback", "--retrieval-only"
    )
    assert code == 2 and "--record-feedback needs answers" in err


def test_a_bom_and_a_line_separator_inside_a_string_keep_every_row(tmp_path: Path) -> None:
    rows = [
        {"question": "First row after the BOM?", "answers": ["yes"]},
        {"question": "A line\u2028separator inside?", "answers": ["kept\u2029whole"]},
        {"question": "Third?", "answers": ["three"]},
    ]
    path = tmp_path / "qa.jsonl"
    body = "".join(json.dumps(row, ensure_ascii=False) + "\r\n" for row in rows)
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    qa_set = load_qa_set(path)
    assert qa_set.problems == []
    assert [item.question for item in qa_set.items] == [row["question"] for row in rows]

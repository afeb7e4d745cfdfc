"""`finetune --from-qa`: the app's prompts with cited gold targets, refusals and negatives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptchat.answer.prompt import REFUSAL, is_refusal
from gptchat.answer.retriever import Hit, Retriever, RetrieverOptions
from gptchat.eval.qa_set import QAItem
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.learn.qa_examples import QAExampleOptions, cited_target, dataset_from_qa
from gptchat.log.store import AppStore
from gptchat.model.generator import Generator
from tests.conftest import FAST, run_cli, versions


def hit(path: str, text: str) -> Hit:
    return Hit(path, "", text, 1, 2, None, (1,), 0.1, 0.5)


def test_the_target_cites_the_first_source_that_holds_the_answer() -> None:
    item = QAItem("1", "How long is tea steeped?", ["two minutes", "2 minutes"], ["tea.txt"])
    sources = [hit("/d/solar.md", "Panels."), hit("/d/tea.txt", "Steep for two minutes.")]
    assert cited_target(item, sources) == "two minutes [2]."
    # The variant the source holds word for word is the one written.
    assert cited_target(item, [hit("/d/tea.txt", "Steep for 2 minutes.")]) == "2 minutes [1]."
    assert cited_target(item, sources[:1]) is None  # no support: the caller refuses
    reference = " ".join(["The long reference answer"] * 4)
    long = QAItem("2", "Explain tea.", [reference], ["tea.txt"])
    # A long answer is supported by its gold file, whatever the passage's words.
    assert cited_target(long, sources) == f"{reference} [2]."
    # ...but a passage of that file quoting it word for word is the one cited.
    quoted = [*sources, hit("/d/tea.txt", f"Intro. {reference}.")]
    assert cited_target(long, quoted) == f"{reference} [3]."


@pytest.fixture
def tea_retriever(index, embedder: Embedder, docs: Path) -> Retriever:
    Indexer(index, embedder).run([docs])
    return Retriever(index, embedder)


def test_examples_are_the_apps_prompts_with_refusals_and_negatives(
    tea_retriever: Retriever, tiny_model_dir: Path
) -> None:
    model = Generator(tiny_model_dir)
    items = [
        QAItem("a", "How long is green tea steeped?", ["two minutes"], ["tea.txt"]),
        QAItem("b", "What do photovoltaic panels turn into electricity?", ["sunlight"]),
        # Retrieved sources hold no gold answer: the target is the refusal.
        QAItem("c", "How long is green tea steeped?", ["forty seconds"], ["tea.txt"]),
        QAItem("d", "Explain it.", [" ".join(["word"] * 20)]),  # long, no files: unusable
    ]
    settings = QAExampleOptions(k=2, negatives=1.0)
    dataset = dataset_from_qa(items, tea_retriever, model, settings)
    assert dataset.skipped["long answer without source files"] == 1
    first = dataset.examples[0]
    # The prompt is the one the app builds: template, numbered sources, the question last.
    assert first.prompt.endswith("<|im_start|>assistant\n")
    assert "Question: How long is green tea steeped?" in first.prompt
    number = int(first.target.split("[")[1].rstrip("]."))
    block = first.prompt.split(f"[{number}] ")[1]
    assert "two minutes" in block.split('"""')[1]
    assert first.target.startswith("two minutes [")
    targets = [e.target for e in dataset.examples]
    # Each question with a negative: shown only other files' passages, it must refuse.
    negative = dataset.examples[1]
    assert negative.target == REFUSAL and "tea.txt" not in negative.prompt
    assert dataset.answered == 2 and dataset.refusals == targets.count(REFUSAL) >= 3
    assert is_refusal(REFUSAL) and not is_refusal(first.target)
    # Misses left out: only the planted negatives teach the refusal.
    skipping = QAExampleOptions(k=2, negatives=0.0, refuse_misses=False)
    kept = dataset_from_qa(items, tea_retriever, model, skipping)
    assert kept.refusals == 0 and kept.answered == 2
    assert kept.skipped["no retrieved source holds the gold answer"] == 1


def test_questions_far_from_the_documents_are_kept_for_a_model_taught_to_refuse(
    index, embedder: Embedder, docs: Path, tiny_model_dir: Path
) -> None:
    Indexer(index, embedder).run([docs])
    # Retrieval's floor above anything the question reaches: it finds nothing relevant.
    strict = Retriever(index, embedder, RetrieverOptions(min_similarity=0.99, min_word_share=1.01))
    items = [QAItem("a", "How long is green tea steeped?", ["two minutes"], ["tea.txt"])]
    settings = QAExampleOptions(k=2, negatives=0.0)
    model = Generator(tiny_model_dir)
    untaught = dataset_from_qa(items, strict, model, settings)
    assert untaught.examples == [] and sum(untaught.skipped.values()) == 1
    # The app shows such passages to a model taught to refuse, so its examples hold them too.
    taught = dataset_from_qa(items, strict, model, settings, learned_refusal=True)
    assert [e.target.split(" [")[0] for e in taught.examples] == ["two minutes"]


def test_finetune_from_qa_and_a_golden_file_round_trip(
    monkeypatch, capsys, workspace, tiny_model_dir, docs, tmp_path
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    rows = [
        {"question": f"How long is green tea steeped, case {n}?", "answers": ["two minutes"]}
        for n in range(12)
    ]
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n")
    model = ("--model", str(tiny_model_dir))
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "finetune",
        "--from-qa",
        str(qa),
        "--dry-run",
        "--negatives",
        "0",
        *model,
    )
    assert code == 0 and out.startswith("12 training examples")
    assert "left out, unreadable row, line 13: invalid JSON" in out
    assert "target: two minutes [" in out
    code, out, _ = run_cli(monkeypatch, capsys, "finetune", "--from-qa", str(qa), *FAST, *model)
    assert code == 0 and "| token_f1 |" in out
    [v1] = versions(workspace)
    assert v1.source == "qa" and v1.examples > 0
    # A user's approved answers, exported, train through the same path.
    assert run_cli(monkeypatch, capsys, "models", "use", "1")[0] == 0
    for n in range(10):
        assert run_cli(monkeypatch, capsys, "ask", f"How long is green tea steeped ({n})?")[0] == 0
    with AppStore(workspace.app_db_path) as store:
        for conversation in store.conversations():
            answer = store.messages(conversation.id)[-1]
            store.set_feedback(answer.id, rating=-1, correction="Two minutes [1].")
    golden = tmp_path / "golden.jsonl"
    assert run_cli(monkeypatch, capsys, "eval", "--export-golden", str(golden))[0] == 0
    code, out, _ = run_cli(
        monkeypatch, capsys, "finetune", "--from-qa", str(golden), "--dry-run", "--negatives", "0"
    )
    # Renumbered for the prompt each question gets now: "[1]" of the old prompt is not kept.
    assert code == 0 and out.startswith("10 training examples") and "target: Two minutes [" in out
    code, _, err = run_cli(monkeypatch, capsys, "finetune", "--from-qa", str(tmp_path / "no.jsonl"))
    assert code == 2 and "no such question file" in err
    code, _, err = run_cli(
        monkeypatch, capsys, "finetune", "--from-qa", str(qa), "--from-feedback", *model
    )
    assert code == 2 and "choose one of" in err

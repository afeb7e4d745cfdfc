"""The real default model, SmolLM2-135M-Instruct, end to end (provisioned on first use)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gptchat.log.store import AppStore
from gptchat.model.generator import Generator
from gptchat.model.provision import check_model_dir, ensure_default_model
from gptchat.workspace import guide_path
from tests.conftest import run_cli
from tests.test_prompt import assert_no_forged_turns

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_model() -> Path:
    return ensure_default_model()


def test_models_pull_says_where_the_model_is(monkeypatch, capsys, default_model: Path) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "models", "pull")
    assert code == 0, err
    assert out == f"SmolLM2-135M-Instruct is ready in {default_model}\n"


def test_the_default_model_is_a_plain_safetensors_folder(default_model: Path) -> None:
    assert check_model_dir(default_model) == default_model
    config = json.loads((default_model / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config


def test_ask_answers_from_the_documents(monkeypatch, capsys, docs: Path, default_model) -> None:
    # The base model: the starter can copy a number from the prompt's source paths, and a test
    # folder's name (/tmp/pytest-202/) has one (BENCHMARKS.md, "Then the prompt changed"); the
    # starter's own answers are tested below on questions whose answer is words.
    assert run_cli(monkeypatch, capsys, "models", "use", "base")[0] == 0
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "How long is green tea steeped?", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "complete"
    assert Path(result["sources"][0]["path"]).name == "tea.txt"
    assert re.search(r"[A-Za-z]{3,}", result["answer"])
    assert result["timings"]["new_tokens"] >= 1


def test_documents_cannot_forge_turns_with_the_real_tokenizer(default_model: Path) -> None:
    assert_no_forged_turns(Generator(default_model))


def test_the_starter_answers_short_cited_and_from_the_source(
    monkeypatch, capsys, docs: Path, default_model, workspace
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "What does black tea take?", "--json")
    assert code == 0
    result = json.loads(out)
    tea = next(s["number"] for s in result["sources"] if s["path"].endswith("tea.txt"))
    assert result["status"] == "complete" and "boiling water" in result["answer"].lower()
    assert f"[{tea}]" in result["answer"] and result["cited"] == [tea]
    assert result["timings"]["new_tokens"] < 30  # short, not a ramble
    # Without the starter, the base model answers (and is named so in the log).
    assert run_cli(monkeypatch, capsys, "models", "use", "base")[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "What does black tea take?", "--json")
    assert code == 0
    with AppStore(workspace.app_db_path) as store:
        models = [store.messages(c.id)[-1].model for c in store.conversations()]
    assert sorted(models) == ["SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct+starter"]


def test_the_starter_answers_how_in_the_guides_own_words(
    monkeypatch, capsys, default_model, workspace
) -> None:
    """What holds on every x86-64 CPU: greedy decoding of the same weights picks other words
    where the matrix kernels differ (AMX, AVX512-BF16, AVX2), so the exact answer is not
    asserted; that it is short, cited, and grounded in the passages it cites is."""
    assert run_cli(monkeypatch, capsys, "index", str(guide_path()))[0] == 0
    question = "How do I leave files out of an index?"
    code, out, _ = run_cli(monkeypatch, capsys, "ask", question, "--json")
    assert code == 0
    result = json.loads(out)
    # Retrieval puts the guide's section on leaving files out among the passages shown.
    assert any(s["path"].endswith("indexing.md") for s in result["sources"] if s["number"])
    # "cited" holds only the sources the citation check found supporting a sentence: grounded.
    assert result["status"] == "complete" and result["cited"]
    assert len(result["raw_answer"].split()) < 12  # the starter answers in a few words
    files = {s["number"]: Path(s["path"]).read_text() for s in result["sources"] if s["number"]}
    assert set(result["cited"]) <= files.keys()
    assert any(f"[{number}]" in result["answer"] for number in result["cited"])
    if result["quoted"]:  # then every sentence is the cited file's own words, with its [n]
        sentences = re.findall(r"(.+?) \[(\d+)\]([.!?])\s*", result["answer"])
        rebuilt = "".join(f"{b} [{n}]{e}" for b, n, e in sentences)
        assert sentences and rebuilt.replace(" ", "") == result["answer"].replace(" ", "")
        for body, number, _ in sentences:
            assert body in " ".join(files[int(number)].split())


def test_generate_continues_hello_my_name_is(monkeypatch, capsys, default_model) -> None:
    code, out, _ = run_cli(
        monkeypatch, capsys, "generate", "Hello, my name is", "--max-tokens", "12"
    )
    assert code == 0 and out.startswith("Hello, my name is")
    assert re.search(r"[A-Za-z]{2,}", out[len("Hello, my name is") :])


def test_a_short_real_lora_run_from_recorded_feedback(
    monkeypatch, capsys, docs: Path, default_model, workspace, tmp_path
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    facts = [
        ("How long is green tea steeped?", "two minutes"),
        ("What temperature is green tea steeped at?", "80 degrees"),
        ("What does black tea take?", "boiling water"),
        ("What turns sunlight into electricity?", "photovoltaic panels"),
        ("What stores the surplus for the night?", "batteries"),
        ("How often does a bicycle chain need oil?", "every 300 kilometres"),
    ]
    rows = [
        {"question": f"{question}{' Please answer.' * n}", "answers": [answer]}
        for n in range(2)
        for question, answer in facts
    ]
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, _, _ = run_cli(
        monkeypatch, capsys, "eval", str(qa), "--record-feedback", "--max-tokens", "8"
    )
    assert code == 0
    code, out, _ = run_cli(
        monkeypatch, capsys, "finetune", "--from-feedback", "--max-steps", "2", "--force"
    )
    assert code == 0 and "Trained on 10 examples: 2 steps" in out and "v1 is now active" in out
    assert (workspace.root / "models" / "v1" / "adapter" / "adapter_model.safetensors").is_file()
    code, out, _ = run_cli(monkeypatch, capsys, "models")
    assert "| * v1 |" in out
    # A question the recorded feedback taught comes back as taught, without the model.
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "What does black tea take?")
    assert code == 0 and "Given back: your answer of" in out
    # One it did not: the new version answers, trained on top of the shipped starter.
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "What does black tea need?")
    assert code == 0
    with AppStore(workspace.app_db_path) as store:
        latest = store.messages(store.conversations()[0].id)[-1]
    assert latest.model == "SmolLM2-135M-Instruct+starter@v1"
    with AppStore(workspace.app_db_path) as store:
        assert store.model_version(1).base_model == "starter"

"""The real default model, SmolLM2-135M-Instruct, end to end (provisioned on first use)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gptchat.model_provision import check_model_dir, ensure_default_model
from tests.test_cli import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_model() -> Path:
    return ensure_default_model()


def test_the_default_model_is_a_plain_safetensors_folder(default_model: Path) -> None:
    assert check_model_dir(default_model) == default_model
    config = json.loads((default_model / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config


def test_ask_answers_from_the_documents(monkeypatch, capsys, docs: Path, default_model) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "How long is green tea steeped?", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "complete"
    assert Path(result["sources"][0]["path"]).name == "tea.txt"
    assert re.search(r"[A-Za-z]{3,}", result["answer"])
    assert result["timings"]["new_tokens"] >= 1


def test_generate_continues_hello_my_name_is(monkeypatch, capsys, default_model) -> None:
    code, out, _ = run_cli(
        monkeypatch, capsys, "generate", "Hello, my name is", "--max-tokens", "12"
    )
    assert code == 0 and out.startswith("Hello, my name is")
    assert re.search(r"[A-Za-z]{2,}", out[len("Hello, my name is") :])

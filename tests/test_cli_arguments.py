"""Hostile values for every number and id the CLI takes: one line, exit 2, no traceback,
and nothing heavy loaded first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

# Values that no whole-number option accepts.
NOT_WHOLE_NUMBERS = [
    "99999999999999999999",
    "-99999999999999999999",
    "-1",
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\u0661",  # Arabic-Indic one: int() reads it as 1
    "",
    " ",
    "1e3",
    "0x10",
    "nan",
    "/etc/passwd",
    "../x",
]
# Values that no number option accepts.
NOT_FINITE_NUMBERS = ["inf", "-inf", "nan", "1e999", "", "abc", "-1"]

WHOLE_NUMBER_PLACES = [
    ["history", "{}"],
    ["history", "-n", "{}"],
    ["history", "{}", "--json"],
    ["ask", "--conversation", "{}", "What is lava?", "--json"],
    ["ask", "What is lava?", "--k", "{}"],
    ["generate", "Once", "--max-tokens", "{}"],
    ["eval", "{qa}", "--limit", "{}"],
    ["eval", "{qa}", "--k", "{}"],
    ["finetune", "--from-feedback", "--epochs", "{}"],
    ["finetune", "--from-feedback", "--max-steps", "{}"],
    ["finetune", "--from-feedback", "--batch-size", "{}"],
    ["finetune", "--from-feedback", "--seed", "{}"],
    ["finetune", "--from-qa", "{qa}", "--max-examples", "{}"],
    ["index", "{docs}", "--chunk-tokens", "{}"],
    ["index", "{docs}", "--overlap-tokens", "{}"],
    ["index", "{docs}", "--ray", "--ray-workers", "{}"],
    ["models", "use", "{}"],
]
NUMBER_PLACES = [
    ["index", "{docs}", "--max-file-mb", "{}"],
    ["generate", "Once", "--temperature", "{}"],
    ["finetune", "--from-feedback", "--lr", "{}"],
]


def cases(places: list[list[str]], values: list[str]) -> list[tuple[list[str], str]]:
    return [(place, value) for place in places for value in values]


@pytest.mark.parametrize(
    ("place", "value"),
    cases(WHOLE_NUMBER_PLACES, NOT_WHOLE_NUMBERS) + cases(NUMBER_PLACES, NOT_FINITE_NUMBERS),
)
def test_a_hostile_number_is_one_line_and_exit_2(
    monkeypatch, capsys, docs: Path, tmp_path: Path, place: list[str], value: str
) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "What is lava?", "answers": ["lava"]}\n')
    args = [
        value if part == "{}" else part.format(qa=qa, docs=docs) if "{" in part else part
        for part in place
    ]
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2, (args, out, err)
    assert "Traceback" not in out + err
    assert err.startswith("gptchat: error: ") and err.count("\n") == 1, err
    assert "Loading" not in err and "Indexing" not in err  # refused before any work
    if "--json" in args:
        assert json.loads(out)["exit_code"] == 2


def test_a_version_in_other_digits_is_not_v1(monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "models", "use", "\u0661")
    assert code == 2 and "a version is a number like 2" in err


def test_a_conversation_that_does_not_exist_is_refused_before_the_model_loads(
    monkeypatch, capsys, docs: Path
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, out, err = run_cli(
        monkeypatch, capsys, "ask", "What is lava?", "--conversation", "7", "--json"
    )
    assert code == 2 and "no conversation 7" in err and "Loading" not in err
    assert json.loads(out) == {"error": "no conversation 7 (see `gptchat history`)", "exit_code": 2}

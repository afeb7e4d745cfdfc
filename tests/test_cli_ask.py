"""`gptchat ask`, `generate` and `history` from the command line, with a tiny random model."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from gptchat.log.store import AppStore
from gptchat.workspace import Workspace
from tests.conftest import run_cli


@pytest.fixture
def indexed(monkeypatch, capsys, docs: Path) -> Path:
    code, _, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0
    return docs


def test_ask_streams_an_answer_then_sources(monkeypatch, capsys, indexed, tiny_model_dir):
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "ask",
        "How long should green tea steep?",
        "--model",
        str(tiny_model_dir),
        "--k",
        "2",
    )
    assert code == 0
    answer, sources = out.split("\nSources:\n")
    assert answer.strip()
    first = sources.splitlines()[0]
    assert first.startswith("[1] ") and first.endswith("tea.txt:1-3")


def test_ask_json_and_history(monkeypatch, capsys, indexed, tiny_model_dir) -> None:
    model = ["--model", str(tiny_model_dir)]
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "What is lava?", "--json", *model)
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "complete" and result["relevant"] is True
    assert Path(result["sources"][0]["path"]).name == "page.html"
    assert result["sources"][0]["number"] == 1
    # Its closest sentence is about as close to the question as the whole passage, or closer.
    first = result["sources"][0]
    assert first["closeness"] >= first["similarity"] - 0.05 and first["closeness"] > 0.3
    assert {"retrieval_ms", "first_token_ms", "decode_tokens_per_s"} <= result["timings"].keys()
    conversation = str(result["conversation_id"])

    code, out, _ = run_cli(
        monkeypatch, capsys, "ask", "And magma?", "--conversation", conversation, "--json", *model
    )
    assert code == 0 and json.loads(out)["conversation_id"] == int(conversation)

    code, out, _ = run_cli(monkeypatch, capsys, "history")
    assert code == 0 and "What is lava?" in out and "4 msgs" in out
    code, out, _ = run_cli(monkeypatch, capsys, "history", conversation)
    assert code == 0 and "> What is lava?" in out and "> And magma?" in out
    assert "page.html" in out


def test_generate_continues_plain_text(monkeypatch, capsys, tiny_plain_model_dir) -> None:
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "generate",
        "Hello, my name is",
        "--max-tokens",
        "5",
        "--model",
        str(tiny_plain_model_dir),
    )
    assert code == 0 and out.startswith("Hello, my name is") and len(out) > 18


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "anything?", "--index", "nope"], "no index named 'nope'"),
        (["ask", "   "], "empty"),
        (["history", "42"], "no conversation 42"),
    ],
)
def test_bad_input_is_exit_2(monkeypatch, capsys, indexed, tiny_model_dir, args, message):
    model = ["--model", str(tiny_model_dir)] if args[0] == "ask" else []
    code, _, err = run_cli(monkeypatch, capsys, *args, *model)
    assert code == 2 and message in err


def test_a_model_folder_that_is_not_a_model(monkeypatch, capsys, indexed, tmp_path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "ask", "What is lava?", "--model", str(tmp_path))
    assert code == 2 and "is not a model folder" in err and err.count("\n") == 1


def test_an_empty_index_is_exit_2(monkeypatch, capsys, tmp_path, tiny_model_dir) -> None:
    folder = tmp_path / "emptied"
    folder.mkdir()
    (folder / "only.md").write_text("The only note.\n")
    (folder / "photo.png").write_bytes(b"\x89PNG")  # the folder is not bare once the note goes
    ask = ("ask", "Anything?", "--index", "hollow", "--model", str(tiny_model_dir))
    code, _, err = run_cli(monkeypatch, capsys, *ask)
    assert code == 2 and "no index named 'hollow'" in err
    # An index whose files all left is still there, and empty.
    assert run_cli(monkeypatch, capsys, "index", str(folder), "--name", "hollow")[0] == 0
    (folder / "only.md").unlink()
    assert run_cli(monkeypatch, capsys, "index", "--name", "hollow")[0] == 0
    code, _, err = run_cli(monkeypatch, capsys, *ask)
    assert code == 2 and "is empty" in err


def test_history_on_a_new_workspace(monkeypatch, capsys, workspace: Workspace) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "history")
    assert code == 0 and "No conversations yet" in out


def test_escape_sequences_never_reach_the_terminal(
    monkeypatch, capsys, indexed, tiny_model_dir
) -> None:
    question = "What is lava?\x1b]0;PWNED\x07\x1b[2J"
    code, out, _ = run_cli(monkeypatch, capsys, "ask", question, "--model", str(tiny_model_dir))
    assert code == 0
    code, listing, _ = run_cli(monkeypatch, capsys, "history")
    code, shown, _ = run_cli(monkeypatch, capsys, "history", "1")
    for output in (out, listing, shown):
        assert "\x1b" not in output and "\x07" not in output
    assert "What is lava?\u241b]0;PWNED\u2407\u241b[2J" in shown  # visible, not obeyed


def test_a_question_too_long_for_the_prompt_is_refused_before_anything(
    monkeypatch, capsys, indexed, tiny_model_dir, workspace: Workspace
) -> None:
    question = "why " * 32_000  # 128,000 characters
    code, _, err = run_cli(monkeypatch, capsys, "ask", question, "--model", str(tiny_model_dir))
    assert code == 2 and "the question is too long" in err
    code, out, _ = run_cli(monkeypatch, capsys, "history")
    assert "No conversations yet" in out  # nothing stored, nothing retrieved


def test_scripting_stdin_continue_history_filters_and_json(
    monkeypatch, capsys, indexed, tiny_model_dir, workspace: Workspace
) -> None:
    model = ["--model", str(tiny_model_dir)]
    monkeypatch.setattr("sys.stdin", io.StringIO("What is lava?\n"))
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "--json", *model)
    assert code == 0 and json.loads(out)["conversation_id"] == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("How long is green tea steeped?"))
    assert run_cli(monkeypatch, capsys, "ask", "-", *model)[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "-c", "And black tea?", "--json", *model)
    assert code == 0 and json.loads(out)["conversation_id"] == 2  # the latest one, continued
    with AppStore(workspace.app_db_path) as store:
        answer = store.messages(2)[-1]
        store.set_feedback(answer.id, rating=-1, correction="Boiling water [1].", comment="vague")
    code, out, _ = run_cli(monkeypatch, capsys, "history", "-n", "1")
    assert code == 0 and len(out.splitlines()) == 1 and "green tea" in out
    code, out, _ = run_cli(monkeypatch, capsys, "history", "-q", "lava")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["1"]
    code, out, _ = run_cli(monkeypatch, capsys, "history", "-q", "volcanic basalt")
    assert code == 0 and "No conversation mentions" in out
    code, out, _ = run_cli(monkeypatch, capsys, "history", "2")
    assert "  rated -1" in out and "  corrected: Boiling water [1]." in out
    assert "  comment: vague" in out
    code, out, _ = run_cli(monkeypatch, capsys, "history", "--json")
    assert code == 0 and [c["id"] for c in json.loads(out)] == [2, 1]
    code, out, _ = run_cli(monkeypatch, capsys, "history", "2", "--json")
    messages = json.loads(out)["messages"]
    assert messages[-1]["feedback"]["correction"] == "Boiling water [1]."
    assert messages[-1]["sources"] and messages[0]["role"] == "user"
    code, out, _ = run_cli(monkeypatch, capsys, "eval", "--history", "--json")
    assert code == 0 and json.loads(out) == []
    # Under --json a failure is a JSON object on stdout too, with the same exit code.
    code, out, err = run_cli(monkeypatch, capsys, "history", "42", "--json")
    assert code == 2 and "no conversation 42" in err
    assert json.loads(out) == {
        "error": err.strip().removeprefix("gptchat: error: "),
        "exit_code": 2,
    }
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "-c", "--conversation", "1", "q", "--json")
    assert code == 2 and "choose one of" in json.loads(out)["error"]


def test_a_person_at_a_terminal_sees_the_wait_a_script_sees_only_the_answer(
    indexed, workspace: Workspace, tiny_model_dir: Path
) -> None:
    """`python -m gptchat ask` in a new process, as the command runs: a status line on a
    terminal's stderr at once, erased before the answer; none for a script; the exit code and
    every line of output intact through the quick exit."""
    command = [
        *(sys.executable, "-m", "gptchat", "--home", str(workspace.root)),
        *("ask", "How long should green tea steep?", "--model", str(tiny_model_dir)),
    ]
    primary, secondary = pty.openpty()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=secondary, timeout=300)
    os.close(secondary)
    shown = _read_all(primary)
    assert done.returncode == 0
    assert shown.startswith("\r\x1b[KLoading the model…") and shown.endswith("\r\x1b[K")
    answer = done.stdout.decode()
    sources = answer.split("\nSources:\n")[1].splitlines()
    assert len(sources) == 3 and all(line.startswith("[") for line in sources)  # all of it

    script = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert script.returncode == 0 and script.stderr == ""
    assert script.stdout.split("\nSources:\n")[1] == answer.split("\nSources:\n")[1]


def _read_all(terminal: int) -> str:
    """What a process wrote to a pty that it has closed."""
    data = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: nothing more, the other end is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(terminal)
    return data.decode()

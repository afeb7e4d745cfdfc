"""The command line as a user meets it: help, version, exit codes, summaries, the first run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gptchat import __version__
from gptchat.index.runtimes import RUNTIMES
from gptchat.workspace import Workspace, guide_path
from tests.conftest import run_cli


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["index"],
        ["indexes"],
        ["ask"],
        ["generate"],
        ["history"],
        ["models"],
        ["models", "pull"],
    ],
)
def test_every_command_has_help(monkeypatch, capsys, command: list[str]) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, *command, "--help")
    assert code == 0 and "Usage: gptchat" in out


def test_version_flag(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "--version")
    assert code == 0 and __version__ in out


def test_missing_path_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path: Path) -> None:
    code, _out, err = run_cli(monkeypatch, capsys, "index", str(tmp_path / "missing"))
    assert code == 2
    assert err.strip().count("\n") == 0 and "no such file or folder" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_path_is_exit_2(monkeypatch, capsys, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        code, _, err = run_cli(monkeypatch, capsys, "index", str(locked))
    finally:
        locked.chmod(0o755)
    assert code == 2 and "not readable" in err


def test_bad_index_name_is_exit_2(monkeypatch, capsys, docs: Path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs), "--name", "../escape")
    assert code == 2 and "invalid index name" in err


def test_index_summary_rerun_and_list(
    monkeypatch, capsys, docs: Path, workspace: Workspace
) -> None:
    (docs / "logo.png").write_bytes(b"\x89PNG")
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0
    assert "added 4, updated 0, removed 0, unchanged 0, skipped 1, failed 0" in out
    assert "skipped, unsupported type: .png x1" in out
    assert (workspace.root / "indexes" / "default" / "index.db").is_file()
    [said] = [line.split()[2] for line in out.splitlines() if "embedded with" in line]
    assert said in RUNTIMES  # the fastest runtime that gives PyTorch's vectors on this machine

    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0 and "added 0, updated 0, removed 0, unchanged 4" in out
    assert "embedded with" not in out  # nothing was

    code, out, _ = run_cli(monkeypatch, capsys, "index", "--list")
    header, row = out.strip().splitlines()
    assert header.split() == ["index", "files", "chunks", "embedder", "runtime", "size", "updated"]
    assert row.split()[:5] == ["default", "4", "5", "all-MiniLM-L6-v2", said]
    _, listed, _ = run_cli(monkeypatch, capsys, "indexes")
    assert listed == out


def test_other_chunk_settings_name_rebuild(monkeypatch, capsys, docs: Path) -> None:
    run_cli(monkeypatch, capsys, "index", str(docs))
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs), "--chunk-tokens", "100")
    assert code == 3 and "--rebuild" in err
    code, out, _ = run_cli(
        monkeypatch, capsys, "index", str(docs), "--chunk-tokens", "100", "--rebuild"
    )
    assert code == 0 and "added 4" in out


def test_home_option_picks_the_workspace(monkeypatch, capsys, docs: Path, tmp_path) -> None:
    other = tmp_path / "elsewhere"
    code, _, _ = run_cli(monkeypatch, capsys, "--home", str(other), "index", str(docs))
    assert code == 0 and (other / "indexes" / "default" / "index.db").is_file()


def test_first_run_indexes_the_user_guide(monkeypatch, capsys, workspace: Workspace) -> None:
    code, out, _ = run_cli(monkeypatch, capsys)
    assert code == 0 and "indexing the gptchat user guide" in out
    assert workspace.index_names() == ["default"]
    code, out, _ = run_cli(monkeypatch, capsys)
    assert code == 0 and "indexing the gptchat user guide" not in out
    assert "default" in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--chunk-tokens", "1000"], "more than all-MiniLM-L6-v2 reads (254)"),
        (["--chunk-tokens", "64", "--overlap-tokens", "40"], "under half the chunk size"),
    ],
)
def test_impossible_chunk_settings_are_exit_2(monkeypatch, capsys, docs, options, message):
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs), *options)
    assert code == 2 and message in err


def test_indexing_a_folder_with_nothing_to_index_warns(monkeypatch, capsys, tmp_path) -> None:
    empty, binaries = tmp_path / "empty", tmp_path / "binaries"
    empty.mkdir()
    binaries.mkdir()
    (binaries / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    for folder in (empty, binaries):
        code, out, _ = run_cli(monkeypatch, capsys, "index", str(folder))
        assert code == 0 and f"warning: nothing to index in {folder}" in out


def test_reading_commands_in_a_new_folder_create_nothing(monkeypatch, capsys, workspace) -> None:
    for args in (["history"], ["models"], ["eval", "--history"], ["history", "-q", "tea"]):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 0, (args, err)
    code, _, err = run_cli(monkeypatch, capsys, "index", "/no/such/folder")
    assert code == 2 and err == "gptchat: error: /no/such/folder: no such file or folder\n"
    assert list(workspace.root.iterdir()) == []


def test_a_folder_with_nothing_to_read_leaves_no_empty_index(
    monkeypatch, capsys, workspace, tmp_path: Path
) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(pictures))
    assert code == 0 and "nothing to index in" in out
    assert workspace.index_names() == []
    assert "No indexes yet" in run_cli(monkeypatch, capsys, "index", "--list")[1]


def test_the_time_left_is_known_after_steps_slower_than_half_a_minute() -> None:
    from gptchat.cli.progress import CountProgressBar

    bar = CountProgressBar()
    clock = [1000.0]
    bar._progress.get_time = lambda: clock[0]  # a clock the test moves: two 45 s steps
    bar.start(10, "Training", "steps")
    bar._progress.tasks[0]._get_time = lambda: clock[0]
    for _ in range(2):
        clock[0] += 45
        bar.advance()
    assert bar._progress.tasks[0].time_remaining == 360


def test_your_first_documents_replace_the_bundled_guide(
    monkeypatch, capsys, workspace, docs: Path
) -> None:
    from gptchat.index.document_index import DocumentIndex

    guide = str(guide_path().resolve())
    assert run_cli(monkeypatch, capsys, "index", guide)[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0 and "the bundled user guide left 'default'" in out
    with DocumentIndex.open(workspace.index_dir("default")) as index:
        assert index.roots() == [str(docs.resolve())]
        assert not index.files_under(guide) and len(index.vectors()) == index.counts().chunks
    # Asked for again, it stays beside them.
    assert run_cli(monkeypatch, capsys, "index", guide)[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs / "tea.txt"))
    assert code == 0 and "guide left" not in out


def test_an_os_error_is_said_in_words_with_its_path(monkeypatch, capsys, docs: Path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "--home", "/dev/null/x", "index", str(docs))
    assert code == 1
    assert err == "gptchat: error: Not a directory: /dev/null/x/indexes/default\n"  # no [Errno 20]

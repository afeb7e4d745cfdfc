"""Links planted in the workspace: gptchat never writes through them, nor outside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptchat.log.store import AppStore
from gptchat.tui.assistant import Assistant
from gptchat.workspace import Workspace
from tests.conftest import FAST, run_cli, versions
from tests.test_finetune import record_feedback

PRECIOUS = "the user's own file\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file and a folder outside the workspace that a planted link points at."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_text(PRECIOUS)
    return folder


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    """A one-question file about the `docs` fixture."""
    path = tmp_path / "qa.jsonl"
    row = {"question": "How long is green tea steeped?", "answers": ["two minutes"]}
    path.write_text(json.dumps(row) + "\n")
    return path


def untouched(outside: Path) -> bool:
    return [p.name for p in outside.iterdir()] == ["precious.txt"] and (
        outside / "precious.txt"
    ).read_text() == PRECIOUS


def test_an_eval_report_replaces_a_link_instead_of_following_it(
    monkeypatch,
    capsys,
    docs,
    questions,
    workspace: Workspace,
    outside: Path,
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    workspace.eval_dir.mkdir()
    planted = workspace.eval_dir / "run-1.json"
    planted.symlink_to(outside / "precious.txt")
    code, _, err = run_cli(monkeypatch, capsys, "eval", str(questions), "--retrieval-only")
    assert code == 0, err
    assert untouched(outside)
    assert not planted.is_symlink() and json.loads(planted.read_text())["run_id"] == 1


def test_a_linked_eval_folder_is_refused(
    monkeypatch,
    capsys,
    docs,
    questions,
    workspace: Workspace,
    outside: Path,
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    workspace.eval_dir.symlink_to(outside)
    code, _, err = run_cli(monkeypatch, capsys, "eval", str(questions), "--retrieval-only")
    assert code == 2 and "is a symbolic link" in err and "Evaluating" not in err
    assert untouched(outside)


def export_through(workspace: Workspace, plant) -> Path:  # type: ignore[no-untyped-def]
    with AppStore(workspace.app_db_path) as store:
        conversation = store.new_conversation("Tea", "default")
        store.add_message(conversation, "user", "How long is green tea steeped?")
    plant()
    assistant = Assistant(workspace)
    try:
        return assistant.export(conversation)
    finally:
        assistant.close()


def test_an_export_replaces_a_link_and_a_linked_exports_folder_is_refused(
    workspace: Workspace, outside: Path
) -> None:
    exports = workspace.exports_dir

    def plant_file() -> None:
        exports.mkdir()
        (exports / "conversation-1.md").symlink_to(outside / "precious.txt")

    written = export_through(workspace, plant_file)
    assert untouched(outside) and not written.is_symlink()
    assert "How long is green tea steeped?" in written.read_text()

    def plant_folder() -> None:
        for path in exports.iterdir():
            path.unlink()
        exports.rmdir()
        exports.symlink_to(outside)

    with pytest.raises(Exception, match="is a symbolic link"):
        export_through(workspace, plant_folder)
    assert untouched(outside)


@pytest.mark.parametrize("planted", ["gptchat.db", "gptchat.db-wal"])
def test_a_linked_database_is_refused(
    monkeypatch, capsys, workspace: Workspace, outside: Path, planted: str
) -> None:
    if planted != "gptchat.db":
        AppStore(workspace.app_db_path).close()  # the log exists; its WAL file is the link
        (workspace.root / planted).unlink(missing_ok=True)
    (workspace.root / planted).symlink_to(outside / "precious.txt")
    code, _, err = run_cli(monkeypatch, capsys, "history")
    assert code == 2 and "is a symbolic link" in err
    assert untouched(outside)


@pytest.mark.parametrize("planted", ["indexes", "indexes/default", "indexes/default/index.db"])
def test_a_linked_index_is_refused(
    monkeypatch, capsys, docs, workspace: Workspace, outside: Path, planted: str
) -> None:
    place = workspace.root / planted
    place.parent.mkdir(parents=True, exist_ok=True)
    place.symlink_to(outside if not planted.endswith(".db") else outside / "precious.txt")
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 2 and "is a symbolic link" in err
    assert untouched(outside)


def test_a_linked_models_folder_is_refused_before_training(
    monkeypatch, capsys, workspace: Workspace, tiny_model_dir: Path, outside: Path
) -> None:
    record_feedback(workspace, 12)
    workspace.models_dir.symlink_to(outside)
    model = ("--model", str(tiny_model_dir))
    code, out, err = run_cli(monkeypatch, capsys, "finetune", "--from-feedback", *FAST, *model)
    assert code == 2 and "is a symbolic link" in err and "Training" not in out + err
    assert untouched(outside) and versions(workspace) == []


def test_a_version_name_taken_on_disk_is_skipped_and_no_phantom_is_recorded(
    monkeypatch, capsys, workspace: Workspace, tiny_model_dir: Path, outside: Path
) -> None:
    """models/v1 left over (gptchat.db reset) or planted as a link: the new version is v2."""
    record_feedback(workspace, 12)
    workspace.models_dir.mkdir()
    (workspace.models_dir / "v1").symlink_to(outside)
    model = ("--model", str(tiny_model_dir))
    code, _, err = run_cli(
        monkeypatch, capsys, "finetune", "--from-feedback", "--force", *FAST, *model
    )
    assert code == 0, err
    assert [v.id for v in versions(workspace)] == [2]
    assert (workspace.models_dir / "v2" / "version.json").is_file()
    assert untouched(outside)
    leftovers = [p.name for p in workspace.models_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_link_at_the_vector_cache_is_replaced_not_followed(
    monkeypatch, capsys, docs, workspace: Workspace, outside: Path
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    cache = workspace.index_dir("default") / "vectors.faiss"
    cache.unlink()
    cache.symlink_to(outside / "precious.txt")
    (docs / "new.md").write_text("Owls can turn their heads a long way.\n")
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0, err
    assert untouched(outside) and not cache.is_symlink()

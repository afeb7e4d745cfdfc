"""gptchat.db writes are all or nothing: a failing second statement leaves no first one."""

from __future__ import annotations

import sqlite3

import pytest

from gptchat.log.migrations import app_migrations
from gptchat.log.store import AppStore
from gptchat.workspace import Workspace
from tests.conftest import stored_source


def fail_on(store: AppStore, table: str, event: str) -> None:
    """A trigger, made from a second connection, that aborts every `event` on `table`."""
    with sqlite3.connect(store.path) as other:
        other.execute(
            f"CREATE TRIGGER fail_{event.lower()} BEFORE {event} ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
        )


def test_add_message_stores_nothing_when_the_conversation_update_fails(
    workspace: Workspace,
) -> None:
    with AppStore(workspace.app_db_path) as store:
        conversation = store.new_conversation("Q", "default")
        fail_on(store, "conversations", "UPDATE")
        with pytest.raises(sqlite3.IntegrityError, match="disk gone"):
            store.add_message(conversation, "user", "What is it?")
        assert store.messages(conversation) == []


def test_finish_answer_keeps_the_old_text_when_its_sources_fail(workspace: Workspace) -> None:
    with AppStore(workspace.app_db_path) as store:
        conversation = store.new_conversation("Q", "default")
        question = store.add_message(conversation, "user", "What is it?")
        answer = store.add_message(conversation, "assistant", "", "streaming", question)
        fail_on(store, "retrievals", "INSERT")
        with pytest.raises(sqlite3.IntegrityError):
            store.finish_answer(
                answer, "Blue.", "Blue.", "complete", "m", "p", {}, [stored_source(1, "a")]
            )
        message = store.message(answer)
        assert (message.content, message.status, message.prompt) == ("", "streaming", None)


def test_activating_a_version_is_one_step(workspace: Workspace) -> None:
    with AppStore(workspace.app_db_path) as store:
        first = store.add_model_version("qa", "lora", "default", None, 10, {}, {})
        second = store.add_model_version("qa", "lora", "default", first, 10, {}, {})
        store.activate_model_version(first)
        with sqlite3.connect(store.path) as other:
            other.execute(
                "CREATE TRIGGER fail_activate BEFORE UPDATE ON model_versions WHEN NEW.active = 1"
                " BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
            )
        with pytest.raises(sqlite3.IntegrityError):
            store.activate_model_version(second)
        # Not "none active": the clearing of the old flag was rolled back with the failure.
        assert store.active_model_version().id == first


def test_an_answer_left_streaming_by_a_killed_process_is_interrupted_on_the_next_open(
    workspace: Workspace,
) -> None:
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    with AppStore(workspace.app_db_path) as store:
        conversation = store.new_conversation("Q", "default")
        question = store.add_message(conversation, "user", "What?")
        mine = store.add_message(conversation, "assistant", "", "streaming", question)
        killed = store.add_message(conversation, "assistant", "", "streaming", question)
        store._conn.execute("UPDATE messages SET writer_pid = ? WHERE id = ?", (gone.pid, killed))
    with AppStore(workspace.app_db_path) as reopened:
        assert reopened.message(killed).status == "interrupted"
        assert reopened.message(mine).status == "streaming"  # this process still writes it


def test_nul_bytes_never_reach_the_database(workspace: Workspace) -> None:
    with AppStore(workspace.app_db_path) as store:
        conversation = store.new_conversation("Ti\x00tle", "default")
        message = store.add_message(conversation, "user", "What\x00 is lava?")
        store.rename_conversation(conversation, "Re\x00named")
        assert store.message(message).content == "What is lava?"
        assert store.conversation(conversation).title == "Renamed"


def test_the_same_rating_again_takes_it_back(workspace: Workspace) -> None:
    with AppStore(workspace.app_db_path) as store:
        conversation = store.new_conversation("Q", "default")
        question = store.add_message(conversation, "user", "What?")
        answer = store.add_message(conversation, "assistant", "That.", "complete", question)
        store.set_feedback(answer, comment="keep this")
        assert store.toggle_rating(answer, 1).rating == 1
        assert store.toggle_rating(answer, -1).rating == -1
        cleared = store.toggle_rating(answer, -1)
        assert cleared.rating is None and cleared.comment == "keep this"


def test_a_database_from_an_earlier_gptchat_goes_on_from_its_last_migration(tmp_path) -> None:
    """Earlier versions recorded migrations through sqlite-utils, in this table and layout: a
    database they left half-way up the schema gets only the steps it lacks."""
    path = tmp_path / "gptchat.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        'CREATE TABLE "_sqlite_migrations" ("id" INTEGER PRIMARY KEY, "migration_set" TEXT,'
        ' "name" TEXT, "applied_at" TEXT)'
    )
    earlier = app_migrations._steps[:3]
    for name, step in earlier:
        step(conn)
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('gptchat.app', ?, '2026-11-01 10:00:00.000000+00:00')",
            (name,),
        )
    conn.close()
    with AppStore(path) as store:
        conversation = store.new_conversation("after the upgrade", "default")
        store.add_message(conversation, "user", "still here?")
        assert app_migrations.pending(store._conn) == []
    applied = sqlite3.connect(path).execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = 'gptchat.app' ORDER BY id"
    )
    assert [row[0] for row in applied] == [name for name, _ in app_migrations._steps]

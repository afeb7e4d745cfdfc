"""The terminal app driven like a person, with Textual's Pilot: real index, real database,
real embedder and a tiny random model."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, TextArea

from gptchat.errors import BadInput
from gptchat.index.indexer import Indexer
from gptchat.language.languages import language_named
from gptchat.log.store import AppStore
from gptchat.model.loading import ModelOptions
from gptchat.tui.app import GptchatApp
from gptchat.tui.assistant import Assistant
from gptchat.tui.chat_log import AnswerView, ChatLog, NoteView, QuestionView
from gptchat.tui.conversation_list import ConversationList
from gptchat.tui.dialogs import ConfirmDialog, LineDialog, PassageDialog, TextDialog
from gptchat.tui.slash_commands import SlashCommand, parse_slash_command
from gptchat.tui.sources_panel import SourceItem, SourcesPanel
from gptchat.workspace import Workspace, guide_path
from tests.conftest import stored_source

Scenario = Callable[[GptchatApp, Pilot], Awaitable[None]]


def run_app(
    workspace: Workspace,
    model_dir: Path,
    scenario: Scenario,
    size: tuple[int, int] = (140, 45),
    **options,
) -> list[str]:
    """Run the app headless through `scenario`; returns the notifications it showed."""
    assistant = Assistant(workspace, model=ModelOptions(model_dir), **options)
    app = GptchatApp(assistant)
    shown: list[str] = []
    original_notify = app.notify

    def notify(message: str, **kwargs) -> None:
        shown.append(message)
        original_notify(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]

    async def drive() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    try:
        asyncio.run(drive())
    finally:
        assistant.close()
    return shown


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.02)


async def type_and_send(pilot: Pilot, text: str) -> None:
    await pilot.click("#question")
    await pilot.press(*text)  # one key per character, as typed
    await pilot.press("enter")


async def send_and_wait_for_text(app: GptchatApp, pilot: Pilot, question: str) -> None:
    """Send `question` and wait until its own answer (not the one before) shows text."""
    answers_before = len(app.query(AnswerView))
    await type_and_send(pilot, question)
    # Enter's handler mounts the new answer a moment after the key press returns.
    await wait_for(
        pilot,
        lambda: len(app.query(AnswerView)) > answers_before and app.query(AnswerView).last().text,
    )


def finished(app: GptchatApp) -> bool:
    answers = app.query(AnswerView)
    return bool(answers) and answers.last().status not in ("", "streaming")


def stored_messages(workspace: Workspace) -> list:
    with AppStore(workspace.app_db_path) as store:
        return [m for c in store.conversations() for m in store.messages(c.id)]


@pytest.fixture
def indexed(indexer: Indexer, docs: Path) -> Path:
    indexer.run([docs])
    return docs


def test_ask_streams_a_cited_answer_and_logs_it(
    workspace, indexed, tiny_model_dir, monkeypatch
) -> None:
    events: list[tuple[str, int]] = []  # what reached the answer on screen, in order
    append, finish = AnswerView.append, AnswerView.finish

    async def recording_append(view: AnswerView, piece: str) -> None:
        await append(view, piece)
        events.append(("piece", len(view.text)))

    async def recording_finish(
        view: AnswerView, status: str, sources: list, text: str | None = None, roots=()
    ) -> None:
        events.append(("finish", len(view.text)))
        await finish(view, status, sources, text, roots)

    monkeypatch.setattr(AnswerView, "append", recording_append)
    monkeypatch.setattr(AnswerView, "finish", recording_finish)

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        assert "default: 4 files" in app.sub_title and tiny_model_dir.name in app.sub_title
        await type_and_send(pilot, "How long is green tea steeped?")
        await wait_for(pilot, lambda: finished(app))
        assert app.query_one("#question", Input).value == ""
        view = app.query(AnswerView).last()
        assert view.status == "complete" and view.text
        # The answer lists its sources relative to the indexed folder, not as absolute paths.
        details = str(view.query_one(".details").render())
        assert "tea.txt" in details and str(indexed) not in details
        # The sources panel follows the answer, two lines a passage: where in the file first
        # (a long name cannot hide it), then the name; no score; the heading under it.
        panel = app.query_one(SourcesPanel)
        assert len(panel.children) == len(view.sources) > 0
        assert any(s.path.endswith("tea.txt") for s in view.sources)
        first = panel.query(SourceItem).first()
        label = str(first.query_one(".source-label").render())
        top = view.sources[0]
        place = top.location[len(top.path) :].strip(" :()")
        assert label == f"[1] {place} · {Path(top.path).name}"
        assert all(item.outer_size.height <= 3 for item in panel.query(SourceItem))
        await pilot.press("ctrl+o")
        assert app.focused is panel and panel.index == 0
        await pilot.press("enter")
        assert isinstance(app.screen, PassageDialog)
        assert app.screen.text == view.sources[0].text
        await pilot.press("escape")
        assert not isinstance(app.screen, PassageDialog)

    run_app(workspace, tiny_model_dir, scenario)
    # Token by token: many pieces, each growing the text, all before the answer finished.
    kinds = [kind for kind, _ in events]
    assert kinds.count("piece") > 10 and kinds[-1] == "finish"
    lengths = [length for _, length in events]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    question, answer = stored_messages(workspace)
    assert question.content == "How long is green tea steeped?"
    assert answer.status == "complete" and "tea.txt" in answer.prompt


def test_escape_stops_the_answer_and_keeps_it(
    workspace, indexed, tiny_model_dir, monkeypatch
) -> None:
    append = AnswerView.append

    async def slow_append(view: AnswerView, piece: str) -> None:
        # The tiny model is faster than a person: a slow screen gives Esc time to land.
        await asyncio.sleep(0.05)
        await append(view, piece)

    monkeypatch.setattr(AnswerView, "append", slow_append)

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, "What do batteries store?")
        await wait_for(pilot, lambda: app.query(AnswerView).last().text)
        await pilot.press("escape")
        await wait_for(pilot, lambda: finished(app))
        view = app.query(AnswerView).last()
        assert view.status == "interrupted" and "stopped" in view.border_title

    run_app(workspace, tiny_model_dir, scenario)
    answer = stored_messages(workspace)[-1]
    assert answer.status == "interrupted" and answer.content and answer.prompt


def test_rate_correct_and_comment_land_with_the_prompt(workspace, indexed, tiny_model_dir) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, "What is magma at the surface called?")
        await wait_for(pilot, lambda: finished(app))
        await pilot.press("up")  # from the empty input to the latest answer
        view = app.query(AnswerView).last()
        assert app.focused is view
        await pilot.press("minus")
        assert "rated -1" in view.border_title
        await pilot.press("e")
        assert isinstance(app.screen, TextDialog)
        # The old answer starts selected: typing replaces it, no select-all first.
        editor = app.screen.query_one(TextArea)
        assert editor.text and editor.selected_text == editor.text
        await pilot.press(*"It is called lava [1].")
        await pilot.press("ctrl+s")
        await pilot.press("c")
        await pilot.press(*"too long")
        await pilot.press("ctrl+s")
        assert view.border_title.endswith("rated -1 · corrected · commented")
        # Asked again, the correction comes back at once, named as the user's own.
        await type_and_send(pilot, "What is magma at the surface called?")
        await wait_for(pilot, lambda: finished(app) and app.query(AnswerView).last() is not view)
        again = app.query(AnswerView).last()
        assert again.text == "It is called lava [1]."
        assert again.border_title.startswith("your answer of")
        await type_and_send(pilot, "/taught")
        listed = str(app.query(NoteView).last().render())
        assert "#1" in listed and "What is magma at the surface called?" in listed
        await type_and_send(pilot, "/taught edit 1")
        assert isinstance(app.screen, TextDialog)
        editor = app.screen.query_one(TextArea)
        assert editor.text == "It is called lava [1]."
        await pilot.press(*"Lava [1].")
        await pilot.press("ctrl+s")
        await type_and_send(pilot, "What is magma at the surface called?")
        await wait_for(pilot, lambda: finished(app) and app.query(AnswerView).last() is not again)
        again = app.query(AnswerView).last()
        assert again.text == "Lava [1]."
        await type_and_send(pilot, "/taught forget 1")
        await type_and_send(pilot, "What is magma at the surface called?")
        await wait_for(pilot, lambda: finished(app) and app.query(AnswerView).last() is not again)
        assert app.query(AnswerView).last().border_title.startswith("answer")

    shown = run_app(workspace, tiny_model_dir, scenario)
    assert "Forgotten: #1 What is magma at the surface called?" in shown
    with AppStore(workspace.app_db_path) as store:
        [example] = store.feedback_examples()
    assert example.feedback.rating == -1
    assert example.feedback.correction == "It is called lava [1]."
    assert example.feedback.comment == "too long"
    assert example.question == "What is magma at the surface called?"
    assert "page.html" in example.prompt  # the exact prompt, sources included


def test_conversations_new_switch_rename_delete_and_reopen(
    workspace, indexed, tiny_model_dir
) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, "How often does a chain need oil?")
        await wait_for(pilot, lambda: finished(app))
        first = app.conversation_id
        await pilot.press("ctrl+n")
        assert app.conversation_id is None and not app.query(AnswerView)
        await type_and_send(pilot, "What do panels turn sunlight into?")
        await wait_for(pilot, lambda: finished(app))
        listed = app.query_one(ConversationList)
        assert len(listed.children) == 2
        # Switch back to the first conversation from the list.
        listed.focus()
        listed.index = [item.conversation.id for item in listed.children].index(first)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation_id == first)
        await wait_for(pilot, lambda: app.query(QuestionView))
        assert "chain" in str(app.query(QuestionView).first().render())
        # Each entry shows its date; rename it in a one-line input: the highlight stays on it.
        assert "msgs" in str(listed.highlighted_child.query_one(".when").render())
        await pilot.press("r")
        assert isinstance(app.screen, LineDialog)
        app.screen.query_one(Input).value = ""
        await pilot.press(*"Bikes", "enter")
        await wait_for(pilot, lambda: listed.highlighted_child.conversation.title == "Bikes")
        # d acts on the renamed one, not its neighbour; Esc at the question keeps both.
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog) and "Bikes" in app.screen.question
        await pilot.press("escape")
        listed.index = [item.conversation.id for item in listed.children].index(first) ^ 1
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(listed.children) == 1)
        # /find lists only the conversations that mention a word; /find alone, all again.
        await type_and_send(pilot, "/find chain")
        await wait_for(pilot, lambda: listed.border_title == "Chats with “chain”")
        assert [item.conversation.title for item in listed.children] == ["Bikes"]
        await type_and_send(pilot, "/find volcanoes")
        await wait_for(pilot, lambda: not listed.children)
        await type_and_send(pilot, "/find")
        await wait_for(pilot, lambda: len(listed.children) == 1 and listed.border_title == "Chats")
        # Ctrl+B goes to the list and back.
        await pilot.press("ctrl+b")
        assert app.focused is listed and not listed.has_class("-hidden")
        await pilot.press("ctrl+b")
        assert app.focused is app.question_input and listed.has_class("-hidden")

    run_app(workspace, tiny_model_dir, scenario)
    with AppStore(workspace.app_db_path) as store:
        assert [c.title for c in store.conversations()] == ["Bikes"]

    async def reopened(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.query(AnswerView))
        assert app.conversation_id is not None
        assert "chain" in str(app.query(QuestionView).first().render())

    run_app(workspace, tiny_model_dir, reopened)


def test_first_run_indexes_the_user_guide(workspace, tiny_model_dir, monkeypatch) -> None:
    asked = threading.Event()
    index = Assistant.index

    def index_once_asked(assistant: Assistant, paths, progress=None) -> list[str]:
        asked.wait(timeout=60)  # the question comes in while the guide is being indexed
        return index(assistant, paths, progress)

    monkeypatch.setattr(Assistant, "index", index_once_asked)

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        # Asked at once, while the guide is being indexed: it waits, then is answered.
        await type_and_send(pilot, "How do I leave files out of an index?")
        assert app.assistant.indexing
        asked.set()
        await wait_for(pilot, lambda: finished(app))
        view = app.query(AnswerView).last()
        assert view.status == "complete"
        assert any("gptchatignore" in s.text for s in view.sources)
        # The index summary lands above the question, and the answer stays last, in view.
        shown = list(app.log_view.children)
        assert isinstance(shown[-2], QuestionView) and shown[-1] is view
        assert any("Indexed the user guide" in str(n.render()) for n in shown[:-2])
        assert view.region.bottom <= app.log_view.region.bottom
        await wait_for(pilot, lambda: app.model_state == "ready")
        guide_files = len(list(guide_path().glob("*.md")))
        assert f"default: {guide_files} files" in app.sub_title

    run_app(workspace, tiny_model_dir, scenario)


def test_slash_commands(workspace, indexed, tiny_model_dir, tmp_path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "owls.md").write_text(
        "# Owls\n\n## Hunting\n\nOwls hunt at night.\n\n## Sleeping\n\nOwls sleep by day.\n"
    )

    def chat_list(app: GptchatApp) -> list[str]:
        return [str(label.render()) for label in app.query_one(ConversationList).query(Label)]

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, f"/index {extra}")
        await wait_for(pilot, lambda: "5 files" in app.sub_title)
        await type_and_send(pilot, "/summarize owls.md")
        await wait_for(pilot, lambda: finished(app))
        summary = app.query(AnswerView).last()
        assert summary.heading == "summary of owls.md" and summary.status == "complete"
        # Every section has its point, and the summary cites nothing.
        assert "**Hunting**" in summary.text and "**Sleeping**" in summary.text
        assert not re.search(r"\[\d+\]", summary.text)
        # A chat started with a command is named for what it holds, not the raw command.
        assert chat_list(app)[0] == "Summary of owls.md" and "2 msgs" in chat_list(app)[1]
        await type_and_send(pilot, "/generate Once upon a time")
        await wait_for(pilot, lambda: finished(app) and app.query(AnswerView).last() is not summary)
        assert "4 msgs" in chat_list(app)[1]  # counted as it grows, not when reopened
        continuation = app.query(AnswerView).last()
        assert continuation.text.startswith("Once upon a time")
        assert len(continuation.text) > len("Once upon a time")
        # Both are kept in the conversation like questions and answers.
        logged = [(m.role, m.content, m.status) for m in stored_messages(workspace)]
        assert logged == [
            ("user", "/summarize owls.md", "complete"),
            ("assistant", summary.text.strip(), "complete"),
            ("user", "/generate Once upon a time", "complete"),
            ("assistant", continuation.text.strip(), "complete"),
        ]
        await type_and_send(pilot, "/model")
        await type_and_send(pilot, "/help")

        def notes() -> str:
            return " ".join(str(n.render()) for n in app.query(".note"))

        await wait_for(pilot, lambda: "/summarize FILE" in notes(), timeout=5)
        assert f"Model: {tiny_model_dir.name}" in notes()

    run_app(workspace, tiny_model_dir, scenario)
    # Kept, but never training data: they have no prompt from the documents.
    assert all(m.prompt is None for m in stored_messages(workspace))

    async def reopened(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: len(app.query(AnswerView)) == 2)
        assert [v.heading for v in app.query(AnswerView)] == ["summary of owls.md", "continuation"]
        # /find, then Ctrl+B to the list, then Enter opens the first match at once.
        await pilot.press("ctrl+n")
        await type_and_send(pilot, "/find owls")
        listed = app.query_one(ConversationList)
        if listed.has_focus:
            await pilot.press("ctrl+b")  # back to the input: the list hides
        await pilot.press("ctrl+b")
        assert listed.has_focus
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation_id is not None, timeout=5)
        assert len(app.query(AnswerView)) == 2

    run_app(workspace, tiny_model_dir, reopened)


def test_errors_are_shown_and_nothing_typed_is_lost(workspace, indexed, tmp_path) -> None:
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "not loaded")
        await type_and_send(pilot, "/nope")
        assert app.query_one("#question", Input).value == "/nope"  # kept to fix
        app.query_one("#question", Input).value = ""
        await type_and_send(pilot, "/summarize nowhere.md")
        await wait_for(pilot, lambda: finished(app))
        await type_and_send(pilot, "What do batteries store?")
        await wait_for(pilot, lambda: app.query_one("#question", Input).value)
        assert app.query_one("#question", Input).value == "What do batteries store?"

    shown = run_app(workspace, not_a_model, scenario)
    assert any("not-a-model" in message and "/model PATH" in message for message in shown)
    assert any("/nope: no such command" in message for message in shown)
    assert any("your question is back in the input" in message for message in shown)


def test_a_missing_index_says_what_to_do(workspace, tiny_model_dir) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await pilot.pause(0.2)
        assert app.model_state == "no index"

    shown = run_app(workspace, tiny_model_dir, scenario, index_name="notes")
    assert any("index 'notes' is empty or missing" in m and "/index PATH" in m for m in shown)


def test_slash_command_parsing() -> None:
    assert parse_slash_command("How do I index?") is None
    assert parse_slash_command("//etc is a folder?") is None  # a question that starts with /
    assert parse_slash_command("/index  ~/notes ") == SlashCommand("index", "~/notes")
    assert parse_slash_command("/MODEL") == SlashCommand("model", "")
    with pytest.raises(BadInput, match="/summarize needs FILE"):
        parse_slash_command("/summarize")
    with pytest.raises(BadInput, match="no such command"):
        parse_slash_command("/frobnicate now")


def test_paths_and_document_text_are_shown_as_text(workspace, indexed, tiny_model_dir) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await type_and_send(pilot, "/index no-such-[/]dir")
        await pilot.pause(0.5)  # the toast renders: "[/]" must not be read as markup
        await type_and_send(pilot, "/nope")
        assert app.is_running and app.query_one("#question", Input).value == "/nope"
        # A passage from an index built before escapes were dropped at ingest.
        panel = app.query_one(SourcesPanel)
        await panel.show([stored_source(1, "/d/esc.md", "clear\x1b[2J title\x1b]0;PWNED\x07")])
        await pilot.pause()
        shown = str(panel.query_one(".snippet").render())
        assert "\x1b" not in shown and "\u241b[2J" in shown

    shown = run_app(workspace, tiny_model_dir, scenario)
    assert any("no-such-[/]dir" in message for message in shown)


def test_the_chat_follows_a_streaming_answer_unless_scrolled_up(
    workspace, indexed, tiny_model_dir, monkeypatch
) -> None:
    append = AnswerView.append
    samples: list[bool] = []  # after each piece had time to land: is the answer's end on screen?

    async def paced_append(view: AnswerView, piece: str) -> None:
        await append(view, piece)
        await asyncio.sleep(0.05)  # a real model's pace; the screen refreshes meanwhile
        log = view.app.query_one(ChatLog)
        if log.max_scroll_y > 0:
            samples.append(log.scroll_y + log.size.height >= view.virtual_region.bottom - 1)

    monkeypatch.setattr(AnswerView, "append", paced_append)

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        log = app.log_view
        for question in ("How long is green tea steeped?", "What do batteries store?"):
            samples.clear()
            await send_and_wait_for_text(app, pilot, question)
            await wait_for(pilot, lambda: finished(app))
            assert samples and all(samples), samples
        # Scrolled up by the user, it stays where the user put it while the next answer streams.
        await send_and_wait_for_text(app, pilot, "Which file types are indexed?")
        log.scroll_home(animate=False, immediate=True)  # as a wheel or PageUp would
        await wait_for(pilot, lambda: finished(app))
        assert log.scroll_y == 0

    # Short enough that each answer of the tiny model outgrows the view.
    run_app(workspace, tiny_model_dir, scenario, size=(60, 14))


def test_an_idle_screen_settles_at_every_width(workspace, indexed, tiny_model_dir) -> None:
    """No width makes the chat view show and hide its scrollbar for ever (idle CPU, slow keys)."""
    layouts: list[int] = []

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        log = app.log_view
        original = log.refresh

        def counting_refresh(*args, **kwargs):
            if kwargs.get("layout") and layouts:
                layouts[-1] += 1
            return original(*args, **kwargs)

        log.refresh = counting_refresh  # type: ignore[method-assign]
        for width in range(60, 141, 4):
            layouts.append(0)
            await pilot.resize_terminal(width, 18)
            await pilot.pause(0.3)  # let the resize itself settle
            layouts[-1] = 0
            await asyncio.sleep(0.3)
        log.refresh = original  # type: ignore[method-assign]

    run_app(workspace, tiny_model_dir, scenario, size=(80, 18))
    assert layouts and not any(layouts), layouts


def test_a_narrow_terminal_keeps_the_chat_wide_and_shows_panels_on_demand(
    workspace, indexed, tiny_model_dir
) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        sources, chats = app.query_one(SourcesPanel), app.query_one(ConversationList)
        assert app.log_view.size.width >= 70 and not sources.display and not chats.display
        await type_and_send(pilot, "How long is green tea steeped?")
        await wait_for(pilot, lambda: finished(app))
        await pilot.press("ctrl+o")
        assert sources.display and sources.has_focus and sources.children
        await pilot.press("enter")  # the passage dialog covers the panel; closing it returns
        assert isinstance(app.screen, PassageDialog)
        await pilot.press("escape")
        assert sources.display and sources.has_focus
        await pilot.click("#question")
        assert not sources.display
        await pilot.press("ctrl+b")
        assert chats.display and chats.has_focus
        await pilot.press("ctrl+b")
        assert not chats.display and app.focused is app.question_input
        # Wide again, both panels are back beside the chat.
        await pilot.resize_terminal(170, 40)
        await pilot.pause(0.2)
        assert sources.display and app.log_view.size.width >= 80

    run_app(workspace, tiny_model_dir, scenario, size=(80, 24))


def test_work_shows_between_enter_and_the_first_token(
    workspace, indexed, tiny_model_dir, monkeypatch
) -> None:
    shown: list[str] = []  # the status line and the answer's first piece, in order
    set_status, append = GptchatApp.set_status, AnswerView.append

    def recording_status(app: GptchatApp, text: str) -> None:
        shown.append(f"status:{text}")
        set_status(app, text)

    async def recording_append(view: AnswerView, piece: str) -> None:
        shown.append("piece")
        await append(view, piece)

    monkeypatch.setattr(GptchatApp, "set_status", recording_status)
    monkeypatch.setattr(AnswerView, "append", recording_append)

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        # "ready" means loaded: the embedder too, not on the first question.
        opened = app.assistant._opened
        assert opened is not None and opened.session.retriever.embedder.loaded
        shown.clear()
        await type_and_send(pilot, "How long is green tea steeped?")
        await wait_for(pilot, lambda: finished(app))

    run_app(workspace, tiny_model_dir, scenario)
    # Set by the Enter handler itself, before the worker starts; then what the worker does.
    first_piece = shown.index("piece")
    assert shown[:first_piece] == [
        "status:Searching your documents…",
        "status:Reading 3 sources…",
        "status:",
    ]


def test_a_question_too_long_stays_in_the_input_with_the_reason(
    workspace, indexed, tiny_model_dir
) -> None:
    question = "why " * 5_000

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        app.question_input.value = question
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.question_input.value)
        assert app.question_input.value == question.strip()  # as typed, ready to shorten
        assert stored_messages(workspace) == []

    shown = run_app(workspace, tiny_model_dir, scenario)
    [error] = [m for m in shown if "too long" in m]
    assert "your question is back in the input" in error and "partial answer" not in error


def test_copy_export_correction_shown_theme_kept_and_help(
    workspace, indexed, tiny_model_dir, tmp_path
) -> None:
    exported = tmp_path / "chat.md"

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, "How long is green tea steeped?")
        await wait_for(pilot, lambda: finished(app))
        view = app.query(AnswerView).last()
        view.focus()
        await pilot.press("y")
        assert app.clipboard == view.text
        await pilot.press("e")
        assert isinstance(app.screen, TextDialog) and "Ctrl+S saves" in str(
            app.screen.query_one(Label).render()
        )
        app.screen.query_one(TextArea).text = "Two minutes at 80 degrees [1]."
        await pilot.press("ctrl+s")
        details = str(view.query_one(".details").render())
        assert "Your correction: Two minutes at 80 degrees [1]." in details
        await type_and_send(pilot, f"/export {exported}")
        await wait_for(pilot, exported.exists)
        await type_and_send(pilot, "/help")
        note = str(app.query(NoteView).last().render())
        assert "/export [FILE]" in note and "Ctrl+O" in note and "y" in note
        app.theme = "nord"
        await pilot.pause()

    shown = run_app(workspace, tiny_model_dir, scenario)
    assert "Answer copied to the clipboard." in shown
    markdown = exported.read_text()
    assert markdown.startswith("# How long is green tea steeped?")
    assert "## How long is green tea steeped?" in markdown and "tea.txt" in markdown
    assert "> corrected: Two minutes at 80 degrees [1]." in markdown

    async def reopened(app: GptchatApp, pilot: Pilot) -> None:
        await pilot.pause()
        assert app.theme == "nord"  # the choice is kept

    run_app(workspace, tiny_model_dir, reopened)


def test_a_repair_made_while_answering_shows_as_a_warning(
    workspace, indexed, tiny_model_dir
) -> None:
    (workspace.index_dir("default") / "vectors.faiss").write_bytes(b"junk")

    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, "How long is green tea steeped?")
        await wait_for(pilot, lambda: finished(app))
        assert app.query(AnswerView).last().status == "complete"

    shown = run_app(workspace, tiny_model_dir, scenario)
    assert any("vectors.faiss is damaged" in m and "rebuilt from index.db" in m for m in shown)


def screen_lines(app: GptchatApp) -> list[str]:
    """The screen as text, row by row, as a terminal would show it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def test_the_model_state_and_every_key_show_at_80_by_24(workspace, indexed, tiny_model_dir) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await pilot.pause(0.2)
        lines = screen_lines(app)
        assert "gptchat — ready" in lines[0]
        footer = lines[-1]
        for key in ("Quit", "Stop", "New", "Chats", "Sources"):
            assert key in footer, footer
        await type_and_send(pilot, "How long is green tea steeped?")
        await wait_for(pilot, lambda: finished(app))
        await pilot.press("up")  # an answer selected: its keys join the footer
        await pilot.pause(0.2)
        footer = screen_lines(app)[-1]
        for key in ("Rate", "Correct", "Comment", "Copy", "Quit", "Stop", "Chats", "Sources"):
            assert key in footer, footer
        await pilot.resize_terminal(120, 30)
        await pilot.pause(0.2)
        assert "gptchat — ready" in screen_lines(app)[0]

    run_app(workspace, tiny_model_dir, scenario, size=(80, 24))


def test_translate_and_a_summary_in_another_language(workspace, indexed, tiny_model_dir) -> None:
    async def scenario(app: GptchatApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.model_state == "ready")
        await type_and_send(pilot, "/translate fr Green tea is steeped at 80 degrees.")
        await wait_for(pilot, lambda: finished(app))
        translation = app.query(AnswerView).last()
        assert translation.heading == "translation into fr"
        assert translation.status == "complete" and translation.text.strip()
        await type_and_send(pilot, "/summarize solar.md --to zh")
        await wait_for(
            pilot, lambda: finished(app) and app.query(AnswerView).last() is not translation
        )
        summary = app.query(AnswerView).last()
        assert summary.heading == "summary of solar.md in zh" and summary.status == "complete"
        # One point per section, each still a list item after the translation.
        assert sum(line.startswith("- ") for line in summary.text.split("\n")) == 2
        count = len(app.query(AnswerView))
        await type_and_send(pilot, "/translate klingon Hello")
        await wait_for(pilot, lambda: len(app.query(AnswerView)) > count and finished(app))

    shown = run_app(workspace, tiny_model_dir, scenario)
    assert any("no language called 'klingon'" in message for message in shown)
    logged = [(m.role, m.content) for m in stored_messages(workspace) if m.role == "user"]
    assert [content for _, content in logged][:2] == [
        "/translate fr Green tea is steeped at 80 degrees.",
        "/summarize solar.md --to zh",
    ]


def test_translate_and_summarize_commands_parse() -> None:
    command = parse_slash_command("/summarize notes/solar.md --to Chinese")
    assert command is not None
    assert command.summary_file() == ("notes/solar.md", language_named("zh"))
    assert SlashCommand("summarize", "solar.md").summary_file() == ("solar.md", None)
    with pytest.raises(BadInput, match="name the file and the language"):
        SlashCommand("summarize", "solar.md --to ").summary_file()
    translate = parse_slash_command("/translate de Where is the station?")
    assert translate is not None
    assert translate.translation() == (language_named("de"), "Where is the station?")
    assert SlashCommand("translate", "fr").translation() == (language_named("fr"), "")
    with pytest.raises(BadInput, match="/translate needs LANG"):
        parse_slash_command("/translate")

"""`gptchat serve` and `gptchat mcp`: the real server on a free local port, called with the
official OpenAI client, raw HTTP and the MCP SDK's client; the tiny model answers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from gptchat.log.store import AppStore
from gptchat.model.generator import DecodeOptions
from gptchat.model.loading import ModelOptions
from gptchat.serve.api import create_app
from gptchat.serve.guards import MAX_BODY_BYTES
from gptchat.serve.service import MAX_QUESTION_CHARS, DocumentService, ServedIndex
from gptchat.workspace import HOME_ENV, Workspace
from tests.conftest import run_cli

QUESTION = "How long is green tea steeped?"
KEY = "s3cret-key"


@dataclass
class Served:
    """A running server: its address, the service behind it, and the workspace's log."""

    url: str
    service: DocumentService
    workspace: Workspace

    def client(self, api_key: str = "unused") -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=api_key, max_retries=0)

    def post(self, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
        """A raw POST; the status and the JSON body, error or not."""
        headers = headers or {"Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def answers(self) -> list:
        """Every logged answer, oldest first."""
        with AppStore.reading(self.workspace.app_db_path) as store:
            return [
                message
                for conversation in reversed(store.conversations())
                for message in store.messages(conversation.id)
                if message.role == "assistant"
            ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(workspace: Workspace, model: Path, api_key: str | None = None) -> Iterator[Served]:
    served = ServedIndex(workspace, "default", ModelOptions(model), 3)
    service = DocumentService(served, lambda _: None)
    service._answering.session.decode = DecodeOptions(max_new_tokens=8)
    port = free_port()
    config = uvicorn.Config(
        create_app(service, api_key), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", service, workspace)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        service.close()


@pytest.fixture
def indexed(monkeypatch, capsys, docs: Path) -> Path:
    code, _, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0
    return docs


@pytest.fixture
def served(indexed: Path, workspace: Workspace, tiny_model_dir: Path) -> Iterator[Served]:
    yield from start(workspace, tiny_model_dir)


def test_the_openai_client_gets_a_cited_answer_and_it_is_logged(served: Served) -> None:
    completion = served.client().chat.completions.create(
        model="gptchat", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content
    extra = completion.model_extra
    answer, sources = content.split("\n\nSources:\n")
    assert answer == extra["answer"] and sources.splitlines()[0].endswith("tea.txt:1-3")
    assert Path(extra["sources"][0]["path"]).name == "tea.txt"
    logged = served.answers()
    assert [m.id for m in logged] == [extra["message_id"]]
    assert logged[0].status == extra["status"] == "complete" and logged[0].prompt
    assert logged[0].content == answer

    # The conversation it names is continued, with its history.
    again = served.client().chat.completions.create(
        model=completion.model,
        messages=[{"role": "user", "content": "And black tea?"}],
        extra_body={"conversation_id": extra["conversation_id"]},
    )
    assert again.model_extra["conversation_id"] == extra["conversation_id"]
    assert len(served.answers()) == 2


def test_a_streamed_answer_ends_with_its_sources(served: Served) -> None:
    stream = served.client().chat.completions.create(
        model="gptchat", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason in ("stop", "length")
    assert "\n\nSources:\n[1] " in text
    logged = served.answers()[-1]
    assert logged.id == last.model_extra["message_id"]
    assert text.startswith(logged.raw_content)
    assert next(s["number"] for s in last.model_extra["sources"] if s["number"]) == 1


def test_models_lists_the_versions_and_marks_the_one_served(
    served: Served, tiny_model_dir: Path
) -> None:
    models = served.client().models.list().data
    ids = [model.id for model in models]
    assert ids[0] == "base" and "starter" in ids
    served_ids = [model.id for model in models if model.model_extra["served"]]
    assert served_ids == [tiny_model_dir.name]  # the folder given with --model
    with pytest.raises(openai.NotFoundError, match="no model named 'gpt-4o'"):
        served.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    with pytest.raises(openai.BadRequestError, match="this server answers with"):
        served.client().chat.completions.create(
            model="base", messages=[{"role": "user", "content": QUESTION}]
        )


def test_search_finds_passages_and_feedback_teaches_an_answer(served: Served) -> None:
    status, found = served.post("/v1/search", json.dumps({"query": "lava", "k": 2}).encode())
    assert status == 200 and found["relevant"]
    assert Path(found["data"][0]["path"]).name == "page.html" and found["data"][0]["number"] == 1
    assert served.answers() == []  # a search asks no model and logs nothing

    first = served.client().chat.completions.create(
        model="gptchat", messages=[{"role": "user", "content": QUESTION}]
    )
    correction = {"message_id": first.model_extra["message_id"], "correction": "Two minutes."}
    status, stored = served.post("/v1/feedback", json.dumps(correction).encode())
    assert status == 200 and stored["correction"] == "Two minutes."
    again = served.client().chat.completions.create(
        model="gptchat", messages=[{"role": "user", "content": QUESTION}]
    )
    assert again.model_extra["answer"] == "Two minutes."
    assert again.model_extra["given_back"].startswith("your answer of")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b'{"model": "gptchat", "messages": [', 400, "not valid JSON"),
        (b'{"model": "gptchat", "messages": []}', 400, "messages"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', 400, "model: Field required"),
        (
            b'{"model": "gptchat", "messages": [{"role": "assistant", "content": "hi"}]}',
            400,
            "must be the user's question",
        ),
        (
            b'{"model": "gptchat", "messages": [{"role": "user", "content": " "}]}',
            400,
            "the question is empty",
        ),
        (
            json.dumps(
                {
                    "model": "gptchat",
                    "stream": True,
                    "messages": [{"role": "user", "content": "why " * MAX_QUESTION_CHARS}],
                }
            ).encode(),
            400,
            "too long",
        ),
        (
            b'{"model": "gptchat", "conversation_id": 99, "messages": '
            b'[{"role": "user", "content": "hi"}]}',
            400,
            "no conversation 99",
        ),
        (b"x" * (10 * MAX_BODY_BYTES), 413, "over 1,000,000 bytes"),
    ],
)
def test_a_bad_request_gets_a_json_error_and_the_server_keeps_serving(
    served: Served, body: bytes, status: int, says: str
) -> None:
    got, error = served.post("/v1/chat/completions", body)
    assert got == status and says in error["error"]["message"]
    assert served.answers() == []  # nothing half-logged
    ok = served.client().chat.completions.create(
        model="gptchat", messages=[{"role": "user", "content": QUESTION}]
    )
    assert ok.model_extra["status"] == "complete"


def test_bad_search_and_feedback_requests(served: Served) -> None:
    assert served.post("/v1/search", b'{"query": "lava", "k": 0}')[0] == 400
    assert served.post("/v1/search", b'{"query": ""}')[0] == 400
    status, error = served.post("/v1/feedback", b'{"message_id": 7, "rating": 1}')
    assert status == 404 and "no answer with id 7" in error["error"]["message"]
    assert served.post("/v1/feedback", b'{"message_id": 7, "rating": 3}')[0] == 400
    assert served.post("/v1/feedback", b'{"message_id": 7}')[0] == 400


def test_a_client_gone_mid_stream_stops_its_answer(served: Served) -> None:
    served.service._answering.session.decode = DecodeOptions(max_new_tokens=1500)
    body = json.dumps(
        {"model": "gptchat", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    ).encode()
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
        raw.sendall(head.encode() + b"\r\nContent-Type: application/json\r\n\r\n" + body)
        received = b""
        while received.count(b"data: ") < 3:  # the role, then two pieces of the answer
            received += raw.recv(4096)
    deadline = time.monotonic() + 60
    while not served.answers() or served.answers()[-1].status == "streaming":
        assert time.monotonic() < deadline, "the answer was never closed"
        time.sleep(0.1)
    answer = served.answers()[-1]
    assert answer.status == "interrupted"
    with AppStore.reading(served.workspace.app_db_path) as store:
        timings = store.message(answer.id).timings
    assert timings["new_tokens"] < 1500


def test_requests_at_once_are_all_answered_and_each_logged_once(served: Served) -> None:
    def ask(number: int) -> str:
        completion = served.client().chat.completions.create(
            model="gptchat", messages=[{"role": "user", "content": f"{QUESTION} ({number})"}]
        )
        return completion.model_extra["status"]

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(ask, range(6)))
    assert statuses == ["complete"] * 6
    logged = served.answers()
    assert len(logged) == 6 and {m.status for m in logged} == {"complete"}


def test_with_a_key_every_request_must_carry_it(
    indexed: Path, workspace: Workspace, tiny_model_dir: Path
) -> None:
    for served in start(workspace, tiny_model_dir, api_key=KEY):
        with pytest.raises(openai.AuthenticationError):
            served.client("wrong").models.list()
        status, error = served.post("/v1/search", b'{"query": "lava"}')
        assert status == 401 and error["error"]["type"] == "authentication_error"
        assert served.client(KEY).models.list().data


def test_serve_beyond_this_machine_needs_a_key(monkeypatch, capsys) -> None:
    monkeypatch.delenv("GPTCHAT_API_KEY", raising=False)
    code, _, err = run_cli(monkeypatch, capsys, "serve", "--host", "0.0.0.0")
    assert code == 2 and "give --api-key KEY" in err


def test_serve_says_when_its_port_is_taken(monkeypatch, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = run_cli(monkeypatch, capsys, "serve", "--port", port)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def test_an_mcp_agent_searches_and_asks(indexed: Path, workspace: Workspace, tiny_model_dir):
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gptchat", "mcp", "--model", str(tiny_model_dir), "--k", "2"],
        env={HOME_ENV: str(workspace.root), "PYTHONPATH": os.getcwd()},
    )

    async def session() -> tuple:
        async with Client(server) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            found = await client.call_tool("search", {"query": "lava", "k": 1})
            answered = await client.call_tool("ask", {"question": QUESTION})
            refused = await client.call_tool("search", {"query": "  "})
            return tools, found, answered, refused

    tools, found, answered, refused = asyncio.run(session())
    assert tools == {"search", "ask"}
    passages = found.structured_content["passages"]
    assert len(passages) == 1 and Path(passages[0]["path"]).name == "page.html"
    assert answered.structured_content["sources_list"][0] == "Sources:"
    assert answered.structured_content["status"] in ("complete", "no_answer")
    assert refused.is_error and "the question is empty" in refused.content[0].text
    with AppStore.reading(workspace.app_db_path) as store:
        assert len(store.conversations()) == 1  # the answer is in the user's history


def test_the_serve_command_starts_answers_and_stops(
    indexed: Path, workspace: Workspace, tiny_model_dir: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "gptchat", "serve", "--model", str(tiny_model_dir)]
    env = {**os.environ, HOME_ENV: str(workspace.root)}
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="-", max_retries=0)
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline
            try:
                models = client.models.list().data
                break
            except openai.APIConnectionError:
                time.sleep(0.2)
        assert [m.id for m in models if m.model_extra["served"]] == [tiny_model_dir.name]
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = process.communicate(timeout=30)
    assert (
        f"Serving index 'default' with {tiny_model_dir.name} at http://127.0.0.1:{port}/v1" in err
    )
    assert process.returncode == 0

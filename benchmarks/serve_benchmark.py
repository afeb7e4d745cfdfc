"""`gptchat serve` measured: latency through the API against `gptchat ask`, then many clients.

    python benchmarks/serve_benchmark.py [--questions 6] [--clients 20] [--seconds 60]

The workspace is new and holds ../shared/eval/claude-docs/docs, indexed first; the model is the
default one (SmolLM2-135M-Instruct with the starter adapter); the questions are the first
--questions of claude-docs (measured here, never trained on).

1. The same questions, one at a time, idle: `gptchat ask` as a new process each (the command
   to its first answer byte on stdout and to its exit), then through the API of one
   `gptchat serve` started once (the request to its first streamed word and to its end).
2. --clients clients at once for --seconds: each asks (streamed or not), searches and comments
   in turn, as fast as it is answered. Counted: requests and failures of each kind, latency
   p50/p95, "database is locked" in the server's output, and whether every answer the clients
   got is logged in gptchat.db exactly once.

Writes benchmarks/results/serve_benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import openai

REPO = Path(__file__).resolve().parent.parent
CLAUDE_DOCS = REPO.parent / "shared" / "eval" / "claude-docs"
GPTCHAT = [sys.executable, "-m", "gptchat"]
KINDS = ("ask", "search", "stream", "comment")  # a load client's requests, in turn


def questions(count: int) -> list[str]:
    lines = (CLAUDE_DOCS / "qa.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines[:count]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def p(values: list[float], q: float) -> float:
    """The q-quantile of `values` (nearest rank), rounded to ms."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


def timed_ask(env: dict, question: str) -> dict[str, float]:
    """`gptchat ask QUESTION` as a new process: seconds to its first answer byte and exit."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*GPTCHAT, "ask", question], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    process.stdout.read(1)
    first = time.perf_counter() - started
    process.stdout.read()
    if process.wait() != 0:
        raise RuntimeError(f"gptchat ask failed on {question!r}")
    return {"first_byte_s": first, "total_s": time.perf_counter() - started}


def start_server(env: dict, port: int) -> tuple[subprocess.Popen, float, Path]:
    """`gptchat serve` on `port`; seconds until it answers /v1/models."""
    log = Path(env["GPTCHAT_HOME"]) / "serve.log"
    started = time.perf_counter()
    process = subprocess.Popen(
        [*GPTCHAT, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="-", max_retries=0)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gptchat serve exited: {log.read_text()[-2000:]}")
        try:
            client.models.list()
            return process, time.perf_counter() - started, log
        except openai.APIConnectionError:
            time.sleep(0.2)


def timed_stream(client: openai.OpenAI, question: str) -> dict:
    """One streamed answer: seconds to its first word and to its end, and its message id."""
    started = time.perf_counter()
    first = None
    last = None
    for chunk in client.chat.completions.create(
        model="gptchat", messages=[{"role": "user", "content": question}], stream=True
    ):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
        last = chunk
    total = time.perf_counter() - started
    return {"first_word_s": first or total, "total_s": total, "message_id": _message_id(last)}


def _message_id(chunk: object) -> int:
    extra = getattr(chunk, "model_extra", None) or {}
    return int(extra["message_id"])


class LoadClient(threading.Thread):
    """One client asking, searching and commenting in turn until the time is up."""

    def __init__(self, number: int, port: int, asked: list[str], until: float) -> None:
        super().__init__(daemon=True)
        self.number, self.asked, self.until = number, asked, until
        self.client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="-", max_retries=0, timeout=900
        )
        self.latency: dict[str, list[float]] = {
            "ask": [],
            "stream": [],
            "search": [],
            "comment": [],
        }
        self.failures: list[str] = []
        self.message_ids: list[int] = []

    def run(self) -> None:
        turn = self.number
        while time.perf_counter() < self.until:
            kind = KINDS[turn % len(KINDS)]
            if kind == "comment" and not self.message_ids:
                kind = "search"
            question = self.asked[turn % len(self.asked)]
            started = time.perf_counter()
            try:
                self._request(kind, question)
                self.latency[kind].append(time.perf_counter() - started)
            except Exception as exc:  # counted and reported: a failure is the measurement
                self.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            turn += 1

    def _request(self, kind: str, question: str) -> None:
        if kind == "ask":
            completion = self.client.chat.completions.create(
                model="gptchat", messages=[{"role": "user", "content": question}]
            )
            self.message_ids.append(_message_id(completion))
        elif kind == "stream":
            self.message_ids.append(timed_stream(self.client, question)["message_id"])
        elif kind == "search":
            self.client.post("/search", body={"query": question, "k": 5}, cast_to=object)
        else:
            body = {"message_id": self.message_ids[-1], "comment": f"client {self.number}"}
            self.client.post("/feedback", body=body, cast_to=object)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    asked = questions(args.questions)
    home = Path(tempfile.mkdtemp(prefix="gptchat-serve-bench-"))
    env = {**os.environ, "GPTCHAT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = str(REPO)
    subprocess.run(
        [*GPTCHAT, "index", str(CLAUDE_DOCS / "docs")], env=env, check=True, capture_output=True
    )
    subprocess.run([*GPTCHAT, "models", "pull"], env=env, check=True, capture_output=True)

    print(f"1. {len(asked)} claude-docs questions, one at a time")
    asks = [timed_ask(env, question) for question in asked]
    port = free_port()
    server, startup_s, log = start_server(env, port)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="-")
        streams = [timed_stream(client, question) for question in asked]
        results: dict = {
            "questions": len(asked),
            "serve_startup_s": round(startup_s, 2),
            "ask_process": {
                key: {"p50": p([a[key] for a in asks], 0.5), "p95": p([a[key] for a in asks], 0.95)}
                for key in ("first_byte_s", "total_s")
            },
            "api_stream": {
                key: {
                    "p50": p([s[key] for s in streams], 0.5),
                    "p95": p([s[key] for s in streams], 0.95),
                }
                for key in ("first_word_s", "total_s")
            },
        }
        print(json.dumps(results, indent=2))

        print(f"2. {args.clients} clients at once for {args.seconds:.0f} s")
        with sqlite3.connect(home / "gptchat.db") as db:
            before = db.execute("SELECT max(id) FROM messages").fetchone()[0] or 0
        until = time.perf_counter() + args.seconds
        clients = [LoadClient(n, port, asked, until) for n in range(args.clients)]
        started = time.perf_counter()
        for load_client in clients:
            load_client.start()
        for load_client in clients:
            load_client.join()
        elapsed = time.perf_counter() - started
        with sqlite3.connect(home / "gptchat.db") as db:
            logged = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM messages WHERE role = 'assistant' AND id > ?", (before,)
                )
            ]
            unfinished = db.execute(
                "SELECT count(*) FROM messages WHERE role = 'assistant' AND status = 'streaming'"
            ).fetchone()[0]
            comments = db.execute("SELECT count(*) FROM feedback WHERE comment IS NOT NULL")
            commented = comments.fetchone()[0]
        got = [m for c in clients for m in c.message_ids]
        failures = [f for c in clients for f in c.failures]
        server_output = log.read_text()
        load = {
            "clients": args.clients,
            "seconds": round(elapsed, 1),
            "requests": {
                kind: len([x for c in clients for x in c.latency[kind]]) for kind in KINDS
            },
            "latency_s": {
                kind: {
                    "p50": p([x for c in clients for x in c.latency[kind]], 0.5),
                    "p95": p([x for c in clients for x in c.latency[kind]], 0.95),
                }
                for kind in KINDS
            },
            "failed": len(failures),
            "failures": failures[:10],
            "database_is_locked": server_output.count("database is locked"),
            "answers_received": len(got),
            "answers_logged": len(logged),
            "each_logged_once": sorted(got) == sorted(logged) and len(set(got)) == len(got),
            "left_streaming": unfinished,
            "answered_per_minute": round(len(got) / elapsed * 60, 1),
            "comments_stored": commented,
        }
        results["load"] = load
        print(json.dumps(load, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=60)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

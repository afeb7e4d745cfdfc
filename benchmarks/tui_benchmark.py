"""The terminal app's start-up and streaming, from a cold process, on this machine.

    python benchmarks/tui_benchmark.py [--runs 5]

Each run starts a fresh Python process that opens the real app (headless: no terminal to
draw on) on a workspace whose default index holds the user guide, with the default model:
- usable screen: process start to the app mounted with the input focused;
- first token: process start to the first piece of an answer on screen, the question pasted
  and sent as soon as the screen is usable (so it includes loading the model behind the
  status line);
- longest event-loop stall while the answer streams (a frame cannot be drawn during one);
- Enter to the first visible sign of work (the status line says what it does) and Enter to
  the first token, for that cold question and for a warm second one once the model is ready.
The baseline, measured in the same run: a process that opens an empty Textual app holding
one Input, i.e. what any Textual app costs before gptchat's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "How do I leave files out of an index?"


def child_gptchat(started: float, home: Path) -> dict[str, float]:
    """Runs in the measured process: open the app, ask once, watch the event loop."""
    from textual.widgets import Input

    from gptchat.tui.app import GptchatApp
    from gptchat.tui.assistant import Assistant
    from gptchat.tui.chat_log import AnswerView
    from gptchat.workspace import Workspace

    figures: dict[str, float] = {}
    assistant = Assistant(Workspace(home))
    app = GptchatApp(assistant)
    # When the status line first said something, and when the first piece reached an answer,
    # after each Enter (pilot.press may return only once the answer is done).
    seen: dict[str, float] = {}
    set_status, append = app.set_status, AnswerView.append

    def timed_status(text: str) -> None:
        if text and "sign" not in seen:
            seen["sign"] = time.perf_counter()
        set_status(text)

    async def timed_append(view: AnswerView, piece: str) -> None:
        seen.setdefault("token", time.perf_counter())
        await append(view, piece)

    app.set_status = timed_status  # type: ignore[method-assign]
    AnswerView.append = timed_append  # type: ignore[method-assign]

    async def auto_pilot(pilot) -> None:
        await pilot.pause()
        figures["usable_screen_s"] = time.time() - started
        assert app.focused is app.query_one("#question")
        stalls: list[float] = []
        streaming = True

        async def watch_loop() -> None:
            while streaming:
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - before - 0.005)

        watcher = asyncio.create_task(watch_loop())
        # Cold: pasted at once, while the model still loads behind the status line.
        app.query_one("#question", Input).value = QUESTION
        entered = await enter(pilot)
        while "token" not in seen:
            await asyncio.sleep(0.005)
        figures["first_token_s"] = time.time() - started - (time.perf_counter() - seen["token"])
        figures["cold_enter_to_sign_ms"] = (seen["sign"] - entered) * 1000
        figures["cold_enter_to_first_token_s"] = seen["token"] - entered
        stalls.clear()  # from here on: while tokens stream
        view = app.query(AnswerView).last()
        while view.status in ("", "streaming"):
            await asyncio.sleep(0.02)
        streaming = False
        await watcher
        figures["max_stall_ms"] = max(stalls) * 1000
        figures["p99_stall_ms"] = statistics.quantiles(stalls, n=100)[98] * 1000
        figures["answer_chars"] = len(view.text)
        # Warm: the model loaded, a second question, typed into the input as a user would.
        await pilot.click("#question")
        await pilot.press(*"Which file types does gptchat index?")
        entered = await enter(pilot)
        while "token" not in seen:
            await asyncio.sleep(0.005)
        figures["warm_enter_to_sign_ms"] = (seen["sign"] - entered) * 1000
        figures["warm_enter_to_first_token_s"] = seen["token"] - entered
        while app.query(AnswerView).last().status in ("", "streaming"):
            await asyncio.sleep(0.02)
        app.exit()

    async def enter(pilot) -> float:
        """Press Enter; returns when it was pressed, the timings of what follows reset."""
        set_status("")  # whatever the status said before (loading, ready) is not the sign
        seen.clear()
        pressed = time.perf_counter()
        await pilot.press("enter")
        return pressed

    try:
        app.run(headless=True, auto_pilot=auto_pilot)
    finally:
        assistant.close()
    return figures


def child_baseline(started: float) -> dict[str, float]:
    """The same measure for an empty Textual app with one Input."""
    from textual.app import App
    from textual.widgets import Input

    figures: dict[str, float] = {}

    class Empty(App[None]):
        def compose(self):
            yield Input()

        def on_mount(self) -> None:
            self.query_one(Input).focus()

    app = Empty()

    async def auto_pilot(pilot) -> None:
        await pilot.pause()
        figures["usable_screen_s"] = time.time() - started
        app.exit()

    app.run(headless=True, auto_pilot=auto_pilot)
    return figures


def run_child(kind: str, home: Path) -> dict[str, float]:
    started = time.time()
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--started",
            repr(started),
            "--home",
            str(home),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=600,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=["gptchat", "baseline"])
    parser.add_argument("--started", type=float)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args()
    if args.child == "gptchat":
        print(json.dumps(child_gptchat(args.started, args.home)))
        return
    if args.child == "baseline":
        print(json.dumps(child_baseline(args.started)))
        return

    with tempfile.TemporaryDirectory(prefix="gptchat-tui-bench-") as temp:
        home = Path(temp)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        subprocess.run(  # the default index with the guide, as after the first start
            [sys.executable, "-m", "gptchat", "--home", str(home)],
            check=True,
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        run_child("gptchat", home)  # warm the file cache once, not counted
        results = {"baseline": [], "gptchat": []}
        for _ in range(args.runs):
            results["baseline"].append(run_child("baseline", home))
            results["gptchat"].append(run_child("gptchat", home))

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    print(f"{args.runs} cold starts each (median; max in brackets)")
    print("| measure | empty Textual app | gptchat |")
    print("|---|---|---|")
    for key, label in (("usable_screen_s", "process start to usable screen (s)"),):
        worst = max(r[key] for r in results["gptchat"])
        print(
            f"| {label} | {median('baseline', key):.2f} | {median('gptchat', key):.2f}"
            f" ({worst:.2f}) |"
        )
    for key, label, unit in (
        ("first_token_s", "process start to first streamed token", "s"),
        ("cold_enter_to_sign_ms", "cold: Enter to the first sign of work", "ms"),
        ("cold_enter_to_first_token_s", "cold: Enter to the first token", "s"),
        ("warm_enter_to_sign_ms", "warm: Enter to the first sign of work", "ms"),
        ("warm_enter_to_first_token_s", "warm: Enter to the first token", "s"),
        ("max_stall_ms", "longest event-loop stall while streaming", "ms"),
        ("p99_stall_ms", "p99 event-loop stall while streaming", "ms"),
    ):
        worst = max(r[key] for r in results["gptchat"])
        print(f"| {label} ({unit}) | - | {median('gptchat', key):.2f} ({worst:.2f}) |")


if __name__ == "__main__":
    main()

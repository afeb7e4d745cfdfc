"""A cold `gptchat ask`: a new process, as a script or a person at a terminal starts it.

    python benchmarks/cold_ask_benchmark.py [--runs 3] [--baseline REV]

Prints, for the code here (and for commit REV, checked out beside it, in the same run): from
the command to its first line on stderr (a terminal: a pty), to the first answer byte on
stdout, to its list of sources, and to the exit; medians over --runs after one warm-up run (the disk
cache warm, as for anyone's second question). Then where the time goes, phase by phase, in
one process of the code here.

The workspace holds the bundled user guide, indexed first; the model is the default one
(SmolLM2-135M-Instruct with the starter adapter).
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.baseline_tree import code_at  # noqa: E402

QUESTION = "How do I leave files out of an index?"
MARKS = ("first status line", "first answer byte", "sources printed", "exit")
SOURCES = (b"Sources:", b"Closest passages")

# One process of the code here, timing each phase of what `gptchat ask` does.
PHASES = """
import json, sys, time
marks = [("start", time.perf_counter())]
def mark(name): marks.append((name, time.perf_counter()))
from pathlib import Path
import gptchat.main
mark("the CLI's imports")
from gptchat.answer.open_session import open_chat_session
from gptchat.model.loading import ModelOptions
from gptchat.workspace import Workspace
mark("the session's imports")
opened = open_chat_session(Workspace(Path(sys.argv[1])), "default", ModelOptions(), 3, print)
mark("open the index, the database, the model's folder (torch is imported here)")
generator = opened.session.generator
generator.load()
mark("load the model (torch, transformers, weights, adapters)")
answer = opened.session.ask(sys.argv[2])
mark("retrieve (the embedder loads here)")
pieces = iter(answer)
next(pieces)
mark("build the prompt, read it, first token")
for _ in pieces:
    pass
mark("the rest of the answer, citations checked")
opened.close()
mark("close")
print(json.dumps([(b[0], round(b[1] - a[1], 2)) for a, b in zip(marks, marks[1:])]))
"""


def timed_ask(home: Path) -> dict[str, float]:
    """Seconds from the start of `python -m gptchat ask` to each of MARKS."""
    primary, secondary = pty.openpty()  # stderr a terminal: the status line shows
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "gptchat", "--home", str(home), "ask", QUESTION],
        stdout=subprocess.PIPE,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
    )
    os.close(secondary)
    seen: dict[str, float] = {}
    selector = selectors.DefaultSelector()
    assert process.stdout is not None
    selector.register(process.stdout, selectors.EVENT_READ, "stdout")
    selector.register(primary, selectors.EVENT_READ, "stderr")
    output = b""
    while selector.get_map():
        for key, _ in selector.select(timeout=1):
            try:
                data = os.read(key.fd, 65536)
            except OSError:  # the pty reads as an error once the process has closed it
                data = b""
            now = time.perf_counter() - start
            if not data:
                selector.unregister(key.fileobj)
                continue
            if key.data == "stderr":
                seen.setdefault("first status line", now)
            else:
                output += data
                seen.setdefault("first answer byte", now)
                if any(heading in output for heading in SOURCES):
                    seen.setdefault("sources printed", now)
    process.wait()
    seen["exit"] = time.perf_counter() - start
    os.close(primary)
    if process.returncode != 0 or "first answer byte" not in seen:
        raise SystemExit(f"gptchat ask failed ({process.returncode}): {output[-500:]!r}")
    return seen


def cold_asks(home: Path, runs: int) -> dict[str, float]:
    """The medians of MARKS over `runs` asks, after one to warm the disk cache."""
    timed_ask(home)
    timings = [timed_ask(home) for _ in range(runs)]
    return {
        mark: round(statistics.median(t[mark] for t in timings), 2)
        for mark in MARKS
        if all(mark in t for t in timings)
    }


def index_guide(home: Path) -> None:
    guide = REPO / "gptchat" / "guide"
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", str(guide)]
    subprocess.run(command, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", help="also time the code of commit REV")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "now"
        index_guide(home)
        results["now"] = cold_asks(home, args.runs)
        if args.baseline:
            with code_at(args.baseline, Path(scratch) / "baseline-tree"):
                old_home = Path(scratch) / "baseline"
                index_guide(old_home)
                results[f"at {args.baseline}"] = cold_asks(old_home, args.runs)
        phases = subprocess.run(
            [sys.executable, "-c", PHASES, str(home), QUESTION],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        results["phases (now)"] = dict(json.loads(phases.stdout.splitlines()[-1]))
    print(f"cold `gptchat ask`, seconds from the command (median of {args.runs}):")
    for name, marks in results.items():
        if name.startswith("phases"):
            continue
        print(f"  {name}: " + ", ".join(f"{mark} {marks.get(mark, 'none')}" for mark in MARKS))
    print("where the time goes, one process of the code here:")
    for phase, seconds in results["phases (now)"].items():
        print(f"  {seconds:6.2f} s  {phase}")
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "cold_ask_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

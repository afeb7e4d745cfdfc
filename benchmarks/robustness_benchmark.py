"""Index a folder of 100+ malformed inputs beside good files; count crashes, hangs and losses.

    python benchmarks/robustness_benchmark.py [--copies 6] [--timeout 600] [--baseline REV]

Runs the real `gptchat index` in a fresh workspace (a subprocess, so a hang is a timeout
and a crash is a traceback), after a first run that stored good files, and prints:
crashes, hangs, reported (files named in the summary with a reason), wrongly indexed
(malformed files that must not be in the index but are), lost (good text not searchable,
or stored before and gone). Then the database and cache cases: two runs started together
on a new workspace, a junk vectors.faiss, a damaged index.db. Every count but "reported"
must be 0. Then the third round (benchmarks/hostile_cases.py): hostile arguments, folders
moved, unmounted or unreadable, links planted in the workspace, seconds from SIGINT to exit
(floor: 5) and peak RSS for one large file (floor: 1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import hostile_cases  # noqa: E402
from benchmarks.baseline_tree import code_at  # noqa: E402
from benchmarks.malformed_inputs import FAILED, INDEXED, PARTLY, SKIPPED, Case, build  # noqa: E402
from gptchat.index.document_index import DocumentIndex  # noqa: E402


def run_index(home: Path, folder: Path, timeout: float) -> tuple[str, str, int | None, float]:
    """`gptchat index FOLDER` in a subprocess: stdout, stderr, exit code (None: hung), seconds."""
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", str(folder)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return out, "", None, time.perf_counter() - started
    return done.stdout, done.stderr, done.returncode, time.perf_counter() - started


def check(home: Path, folder: Path, cases: list[Case], output: str) -> dict[str, int]:
    """Compare the index with what each case expects."""
    root = folder.resolve()
    with DocumentIndex.open(home / "indexes" / "default") as index:
        stored = index.files_under(str(root))
        wrongly, lost = [], []
        for case in cases:
            path = str(root / case.name)
            if case.expect in (SKIPPED, FAILED) and path in stored:
                wrongly.append(case.name)
            if case.expect in (INDEXED, PARTLY):
                if path not in stored:
                    lost.append(case.name)
                elif case.marker and not _findable(index, case.marker, path):
                    lost.append(f"{case.name} (text not searchable)")
    reported = [
        c
        for c in cases
        if c.expect in (SKIPPED, FAILED, PARTLY) and _named(output, root, c, _label(c.expect))
    ]
    unreported = [c.name for c in cases if c.expect != INDEXED and c not in reported]
    for name in wrongly + lost + unreported:
        print(f"  problem: {name}")
    return {
        "wrongly indexed": len(wrongly),
        "lost": len(lost),
        "reported": len(reported),
        "unreported": len(unreported),
    }


def _findable(index: DocumentIndex, marker: str, path: str) -> bool:
    hits = index.keyword_search(marker, 5)
    return any(chunk.path == path for chunk in index.chunks([chunk_id for chunk_id, _ in hits]))


def _label(expect: str) -> str:
    return {SKIPPED: "skipped", FAILED: "failed", PARTLY: "indexed in part"}[expect]


def _named(output: str, root: Path, case: Case, label: str) -> bool:
    return f"  {label} {root / case.name}: " in output


def _database_cases(scratch: Path, timeout: float) -> int:
    """Races, a damaged cache and a damaged database: each must end as the user expects."""
    failures = 0
    folder = scratch / "small"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe racemarker text.\n")
    home = scratch / "race-home"
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", str(folder)]
    # Two runs at the same moment on a workspace that does not exist yet.
    racing = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    for run in racing:
        _, err = run.communicate(timeout=timeout)
        if run.returncode != 0:
            failures += 1
            print(f"  problem: a run started beside another failed: {err.decode()[-300:]}")
    cache = home / "indexes" / "default" / "vectors.faiss"
    cache.write_bytes(b"junk")
    _, err, code, _ = run_index(home, folder, timeout)
    if code != 0 or "rebuilt from index.db" not in err:
        failures += 1
        print(f"  problem: a junk vectors.faiss was not rebuilt: {err[-300:]}")
    database = home / "indexes" / "default" / "index.db"
    database.write_bytes(b"junk" * 1024)
    _, err, code, _ = run_index(home, folder, timeout)
    if code != 1 or "is damaged" not in err or "Traceback" in err:
        failures += 1
        print(f"  problem: a damaged index.db was not reported: {err[-300:]}")
    return failures


def _round_three(scratch: Path, docs: Path) -> dict[str, float]:
    """The third round's cases, run by the gptchat that `python -m gptchat` finds here."""
    scratch.mkdir()
    counts: dict[str, float] = {}
    counts.update(hostile_cases.tracebacks(scratch))
    counts.update(hostile_cases.unseen_folders(scratch))
    counts.update(hostile_cases.links(scratch, docs))
    counts.update(hostile_cases.ctrl_c(scratch))
    counts.update(hostile_cases.memory(scratch))
    return counts


def _round_three_at(revision: str, scratch: Path, docs: Path) -> dict[str, float]:
    """The same cases on the code of another commit."""
    with code_at(revision, scratch.parent / "baseline-tree"):
        return _round_three(scratch, docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="copies of each malformed class")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the third round on the code of commit REV, for a before/after",
    )
    parser.add_argument(
        "--skip-round-three",
        action="store_true",
        help="leave out the unseen-folder, link, argument, Ctrl-C and memory cases",
    )
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory() as scratch:
        home, folder = Path(scratch) / "home", Path(scratch) / "docs"
        folder.mkdir()
        # First run: good files only, so a later bad run can be seen to keep them.
        (folder / "before.md").write_text("# Before\n\nThe storedbefore text was indexed first.\n")
        first = run_index(home, folder, args.timeout)
        cases = [Case("before.md", INDEXED, "storedbefore"), *build(folder, args.copies)]
        out, err, code, seconds = run_index(home, folder, args.timeout)
        crashed = code not in (0, None) or "Traceback" in err or first[2] != 0
        counts = {
            "inputs": len(cases),
            "malformed": sum(1 for c in cases if c.expect != INDEXED or not c.marker),
            "crashes": int(crashed),
            "hangs": int(code is None),
            **check(home, folder, cases, out),
            "seconds": round(seconds, 1),
        }
        counts["database and cache failures"] = _database_cases(Path(scratch), args.timeout)
        if not args.skip_round_three:
            counts.update(_round_three(Path(scratch) / "now", folder))
            if args.baseline:
                baseline = _round_three_at(args.baseline, Path(scratch) / "baseline", folder)
                counts.update({f"{name} (at {args.baseline})": v for name, v in baseline.items()})
    if crashed:
        print(err[-2000:])
    for name, value in counts.items():
        print(f"{name:>16}: {value}")
    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "robustness_benchmark.json").write_text(json.dumps(counts, indent=2) + "\n")
    failing = (
        "crashes",
        "hangs",
        "wrongly indexed",
        "lost",
        "unreported",
        "database and cache failures",
        "tracebacks",
        "not one line",
        "existing files removed",
        "writes through links",
    )
    too_slow = counts.get("SIGINT to exit s", 0) > 5
    peaks = [v for k, v in counts.items() if k.startswith("peak RSS") and "(at" not in k]
    too_big = any(peak > 1024 for peak in peaks)
    sys.exit(1 if any(counts.get(name) for name in failing) or too_slow or too_big else 0)


if __name__ == "__main__":
    main()

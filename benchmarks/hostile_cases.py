"""The robustness benchmark's third round: unseen folders, links, arguments, Ctrl-C, memory.

Each case runs the real `gptchat` in a subprocess and returns what it counts; see
robustness_benchmark.py, which prints them beside its own.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

GPTCHAT = [sys.executable, "-m", "gptchat"]
# Argument lists that must end in one line and exit 2, before anything loads.
HOSTILE_ARGUMENTS = [
    ["history", "99999999999999999999"],
    ["history", "-n", "99999999999999999999"],
    ["ask", "--conversation", "99999999999999999999", "What?", "--json"],
    ["ask", "--conversation", "7", "What?", "--json"],
    ["models", "use", "\u00b2"],
    ["models", "use", "\u0661"],
    ["ask", "What?", "--k", "-1"],
    ["generate", "Once", "--temperature", "nan"],
    ["index", ".", "--max-file-mb", "inf"],
    ["finetune", "--from-feedback", "--seed", "-5"],
    ["eval", "/no/such.jsonl", "--limit", ""],
    ["index", "--forget", "/never/indexed"],
]


def run(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GPTCHAT, "--home", str(home), *args], capture_output=True, text=True, timeout=timeout
    )


def tracebacks(scratch: Path) -> dict[str, int]:
    """Hostile arguments: tracebacks, and runs that did not end with one line and exit 2."""
    home = scratch / "arguments"
    home.mkdir()
    traced = wrong = 0
    for args in HOSTILE_ARGUMENTS:
        done = run(home, *args, timeout=120)
        traced += "Traceback" in done.stdout + done.stderr
        wrong += done.returncode != 2 or done.stderr.count("\n") != 1
    return {"argument cases": len(HOSTILE_ARGUMENTS), "tracebacks": traced, "not one line": wrong}


def unseen_folders(scratch: Path) -> dict[str, int]:
    """Files removed from the index that still exist: a folder moved away, an empty mount
    point, an unreadable sub-folder (as `nobody` when run as root)."""
    removed = 0
    for case in ("moved", "bare", "unreadable"):
        if case == "unreadable" and os.geteuid() == 0 and shutil.which("setpriv") is None:
            continue
        # Its own folder in the system temporary folder: `nobody` must reach it too.
        place = Path(tempfile.mkdtemp(prefix=f"gptchat-unseen-{case}-"))
        home, docs = place / "home", place / "docs"
        (docs / "sub").mkdir(parents=True)
        (docs / "top.md").write_text("# Top\n\nThe top file.\n")
        (docs / "sub" / "inner.md").write_text("# Inner\n\nThe inner file.\n")
        prefix: list[str] = []
        if case == "unreadable" and os.geteuid() == 0:
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            home.mkdir()
            for path in [place, *place.rglob("*")]:
                os.chown(path, 65534, 65534)
        env = {**os.environ, "HOME": str(place)}
        command = [*prefix, *GPTCHAT, "--home", str(home), "index"]
        subprocess.run([*command, str(docs)], capture_output=True, env=env, check=True)
        if case == "moved":
            docs.rename(place / "elsewhere")
        elif case == "bare":
            shutil.rmtree(docs)
            docs.mkdir()
        else:
            (docs / "sub").chmod(0)
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        removed += sum(int(word) for word in _after(done.stdout, "removed "))
        if case == "unreadable":
            (docs / "sub").chmod(0o755)
        if done.returncode != 0:
            print(f"  problem: the {case} refresh failed: {done.stderr[-300:]}")
        shutil.rmtree(place)
    return {"existing files removed": removed}


def _after(text: str, label: str) -> list[str]:
    return [part.split(",")[0].split()[0] for part in text.split(label)[1:2]]


def links(scratch: Path, docs: Path) -> dict[str, int]:
    """Writes through links planted where gptchat writes: the files outside that changed."""
    home, outside = scratch / "links-home", scratch / "outside"
    outside.mkdir()
    home.mkdir()
    targets = {name: outside / f"{name}.txt" for name in ("report", "db-wal", "export")}
    for target in targets.values():
        target.write_text("precious\n")
    run(home, "index", str(docs))
    (home / "eval").mkdir()
    (home / "eval" / "run-1.json").symlink_to(targets["report"])
    questions = scratch / "links-qa.jsonl"
    questions.write_text('{"question": "What is this?", "answers": ["text"]}\n')
    run(home, "eval", str(questions), "--retrieval-only")
    (home / "exports").symlink_to(outside)
    (home / "gptchat.db-wal").unlink(missing_ok=True)
    (home / "gptchat.db-wal").symlink_to(targets["db-wal"])
    run(home, "history")
    changed = sum(t.read_text() != "precious\n" for t in targets.values())
    changed += len(list(outside.iterdir())) != len(targets)
    return {"writes through links": changed}


def ctrl_c(scratch: Path, timeout_s: float = 300.0) -> dict[str, float]:
    """Seconds from SIGINT to exit for an index run in the middle of embedding: the signal
    goes a second after its first batch of files is committed, while the next one embeds."""
    home, docs = scratch / "sigint-home", scratch / "sigint-docs"
    docs.mkdir()
    for number in range(40):
        paragraphs = [f"Part {number}.{i} about harbours, ships and tides." for i in range(400)]
        (docs / f"long-{number}.md").write_text("\n\n".join(paragraphs))
    process = subprocess.Popen(
        [*GPTCHAT, "--home", str(home), "index", str(docs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background job inherits SIGINT ignored; a terminal's Ctrl-C is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for_a_committed_file(home / "indexes" / "default" / "index.db", timeout_s)
    time.sleep(1.0)
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=600)
    seconds = round(time.perf_counter() - sent, 1)
    return {"SIGINT to exit s": seconds, "SIGINT exit code": process.returncode}


def _wait_for_a_committed_file(database: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if database.is_file():
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                try:
                    if db.execute("SELECT count(*) FROM files").fetchone()[0]:
                        return
                except sqlite3.OperationalError:  # not created yet, or busy: look again
                    pass
        time.sleep(0.2)
    raise TimeoutError(f"no file was committed to {database} in {timeout_s:.0f} s")


def memory(scratch: Path) -> dict[str, float]:
    """Peak RSS of `gptchat index` on one large file, beside a one-line file's (the baseline)."""
    peaks: dict[str, float] = {}
    cases = {
        "one-line file": lambda path: path.write_text("One line.\n"),
        "40 MB of HTML markup": _big_html,
        "DOCX inflating to 300 MB": _docx_bomb,
    }
    for number, (name, make) in enumerate(cases.items()):
        folder = scratch / f"memory-{number}"
        folder.mkdir()
        make(folder / ("page.html" if "HTML" in name else "doc.docx" if "DOCX" in name else "a.md"))
        process = subprocess.Popen(
            [*GPTCHAT, "--home", str(scratch / f"memory-home-{number}"), "index", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, _, usage = os.wait4(process.pid, 0)
        peaks[f"peak RSS MB, {name}"] = round(usage.ru_maxrss / 1024)
    return peaks


def _big_html(path: Path) -> None:
    with path.open("w") as handle:
        handle.write("<html><body><p>The visible paragraph.</p>")
        for number in range(400_000):
            handle.write(f'<div class="c{number}" data-x="{"y" * 60}"><span></span></div>')
        handle.write("</body></html>")


def _docx_bomb(path: Path) -> None:
    import docx

    plain = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("x")
    document.save(plain)
    source = zipfile.ZipFile(plain)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                bomb.writestr(info.filename, source.read(info.filename))
        with bomb.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(b'<w:document xmlns:w="x"><w:body>')
            for _ in range(300):
                body.write(b"<w:p/>" * 166_666)
            body.write(b"</w:body></w:document>")

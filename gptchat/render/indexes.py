"""Plain-text renderings of an indexing run and of the index list."""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path

from rich import filesize

from gptchat.control_chars import one_line
from gptchat.index.document_index import IndexSummary
from gptchat.index.indexer import IndexReport
from gptchat.ingest.walker import UNSUPPORTED
from gptchat.workspace import guide_path


def report_lines(report: IndexReport, index_name: str) -> list[str]:
    """The closing summary of `gptchat index`."""
    lines = [
        f"Index '{index_name}' updated in {report.seconds:.1f} s: "
        f"added {len(report.added)}, updated {len(report.updated)}, "
        f"removed {len(report.removed)}, unchanged {report.unchanged}, "
        f"skipped {len(report.skipped)}, failed {len(report.failed)}",
    ]
    if report.chunks_written:
        reused = report.chunks_written - report.chunks_embedded
        lines.append(
            f"  chunks: {report.chunks_written} written, {report.chunks_embedded} embedded, "
            f"{max(reused, 0)} reused"
        )
    if report.runtime:
        lines.append(
            f"  embedded with {report.runtime} "
            f"(least cosine to PyTorch's vectors {report.runtime_min_cosine:.5f})"
        )
    unsupported = Counter(
        Path(s.path).suffix.lower() or Path(s.path).name
        for s in report.skipped
        if s.reason == UNSUPPORTED
    )
    if unsupported:
        kinds = ", ".join(f"{suffix} x{n}" for suffix, n in unsupported.most_common())
        lines.append(f"  skipped, unsupported type: {kinds}")
    lines.extend(
        f"  skipped {one_line(s.path)}: {s.reason}"
        for s in report.skipped
        if s.reason != UNSUPPORTED
    )
    lines.extend(f"  failed {one_line(path)}: {reason}" for path, reason in report.failed)
    lines.extend(
        f"  indexed in part {one_line(path)}: {problem}" for path, problem in report.warnings
    )
    lines.extend(
        f"  warning: nothing to index in {root} (no file of a type gptchat reads)"
        for root in report.empty_roots
    )
    if report.guide_left:
        lines.append(
            f"  the bundled user guide left '{index_name}' now that it holds your documents "
            f"(bring it back with: gptchat index --name {index_name} "
            f"{shlex.quote(str(guide_path()))})"
        )
    for kept in report.kept:
        files = "file" if kept.files == 1 else "files"
        lines.append(
            f"  kept {kept.files} indexed {files} under {kept.place}: {kept.reason}; they stay "
            f"searchable until it can be read again (to drop them: gptchat index --name "
            f"{index_name} --forget {shlex.quote(kept.place)})"
        )
    return lines


def forget_lines(dropped: list[str], index_name: str) -> list[str]:
    """What `gptchat index --forget` did."""
    files = "file" if len(dropped) == 1 else "files"
    return [f"Index '{index_name}': dropped {len(dropped)} {files}"]


def index_table(summaries: list[IndexSummary]) -> list[str]:
    """`gptchat index --list`: one row per index."""
    if not summaries:
        return ["No indexes yet. Build one with: gptchat index PATH"]
    header = ("index", "files", "chunks", "embedder", "runtime", "size", "updated")
    rows = [
        (
            s.name,
            str(s.files),
            str(s.chunks),
            s.embedder,
            s.runtime or "-",
            filesize.decimal(s.size_bytes),
            s.updated or "never",
        )
        if not s.problem
        else (s.name, "-", "-", "DAMAGED (see below)", "-", "-", "-")
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    table = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return table + [f"{s.name}: cannot be read: {s.problem}" for s in summaries if s.problem]

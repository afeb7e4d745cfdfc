"""The CLI's indexing: a progress bar while it runs, the summary and the index list after."""

from __future__ import annotations

from pathlib import Path

from gptchat.cli.progress import CountProgressBar
from gptchat.index.catalog import IndexOptions, index_summaries, is_empty, run_index
from gptchat.render.indexes import index_table, report_lines
from gptchat.workspace import DEFAULT_INDEX, Workspace, guide_path


def run_index_with_bar(workspace: Workspace, paths: list[Path], options: IndexOptions) -> list[str]:
    """run_index with a progress bar on stderr; returns the summary lines."""
    with CountProgressBar() as bar:
        return report_lines(run_index(workspace, paths, options, bar), options.name)


def list_indexes(workspace: Workspace) -> list[str]:
    """The `gptchat index --list` table."""
    return index_table(index_summaries(workspace))


def open_default_index(workspace: Workspace) -> list[str]:
    """The bare `gptchat`: make sure the default index exists, seeding it with the guide."""
    lines: list[str] = []
    if DEFAULT_INDEX not in workspace.index_names() or is_empty(workspace, DEFAULT_INDEX):
        lines.append(f"First run in {workspace.root}: indexing the gptchat user guide.")
        lines.extend(run_index_with_bar(workspace, [guide_path()], IndexOptions()))
    lines.extend(list_indexes(workspace))
    lines.append('Ask it something:  gptchat ask "How do I leave files out of an index?"')
    lines.append("Add your documents: gptchat index PATH")
    return lines

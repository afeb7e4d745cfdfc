"""Progress bars on stderr, for every long command."""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _DoneOfTotal(ProgressColumn):
    """3/10, or 1.2/4.5 MB when the run counts bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._count, self._bytes = MofNCompleteColumn(), DownloadColumn()

    def render(self, task: Task) -> Text:
        column = self._bytes if task.fields.get("unit") == "bytes" else self._count
        return column.render(task)


class CountProgressBar:
    """gptchat.progress.Progress as bars on stderr, done/total with the time left, one line
    per run (indexing, building prompts, scoring, training, evaluating); a context manager."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _DoneOfTotal(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),  # moves while one slow step (a training step, a score) runs
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            # rich forgets steps older than 30 s by default; a training step can take longer,
            # which left the time left unknown (-:--:--) after the first step.
            speed_estimate_period=3600,
        )
        self._task = None
        self._unit = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._progress.stop()

    def start(self, total: int, label: str, unit: str = "") -> None:
        if self._task is None:
            # Shown from the first bar on: a run that fails before any leaves no empty line.
            self._progress.start()
        self._unit = "" if unit == "bytes" else unit  # bytes are written as kB/MB already
        self._task = self._progress.add_task(label, total=total, note=self._unit, unit=unit)

    def advance(self, steps: int = 1, note: str = "") -> None:
        shown = ", ".join(part for part in (self._unit, note) if part)
        self._progress.update(self._task, advance=steps, note=shown)

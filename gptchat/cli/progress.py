"""Progress bars on stderr: indexing, runs over a list of items, fine-tuning."""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)


def _stderr_progress(*columns: ProgressColumn | str) -> Progress:
    """A bar on stderr: description, bar, done/total, `columns`, then the time left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *columns,
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


class _StderrBar:
    """A context manager that shows `self._progress` while it is open."""

    _progress: Progress

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()


class CountProgressBar(_StderrBar):
    """A done/total bar with ETA on stderr for gptchat.progress.Progress: a line per run
    (indexing, building prompts, scoring, training, evaluating)."""

    def __init__(self) -> None:
        self._progress = _stderr_progress(TextColumn("{task.fields[note]}"))
        self._task = None

    def start(self, total: int, label: str, unit: str = "") -> None:
        self._unit = unit
        self._task = self._progress.add_task(label, total=total, note=unit)

    def advance(self, steps: int = 1, note: str = "") -> None:
        shown = f"{self._unit}, {note}" if note else self._unit
        self._progress.update(self._task, advance=steps, note=shown)

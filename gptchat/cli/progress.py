"""Progress bars on stderr, for every long command."""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)


class CountProgressBar:
    """gptchat.progress.Progress as bars on stderr, done/total with the time left, one line
    per run (indexing, building prompts, scoring, training, evaluating); a context manager."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = None
        self._unit = ""

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def start(self, total: int, label: str, unit: str = "") -> None:
        self._unit = unit
        self._task = self._progress.add_task(label, total=total, note=unit)

    def advance(self, steps: int = 1, note: str = "") -> None:
        shown = f"{self._unit}, {note}" if note else self._unit
        self._progress.update(self._task, advance=steps, note=shown)

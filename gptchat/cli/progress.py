"""Progress bars on stderr: indexing, runs over a list of items, fine-tuning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _ChunkRate(ProgressColumn):
    """Chunks written so far and their rate."""

    def render(self, task: Task) -> Text:
        chunks = task.fields.get("chunks", 0)
        elapsed = task.elapsed or 0.0
        rate = chunks / elapsed if elapsed > 0 else 0.0
        return Text(f"{chunks} chunks {rate:,.0f}/s", style="progress.data.speed")


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


class IndexProgressBar(_StderrBar):
    """Draws indexing progress on stderr; a context manager around one run."""

    def __init__(self, description: str) -> None:
        self._progress = _stderr_progress(TextColumn("files"), _ChunkRate())
        self._description = description
        self._task = None
        self._chunks = 0

    def start(self, total_files: int) -> None:
        self._task = self._progress.add_task(self._description, total=total_files, chunks=0)

    def advance(self, files: int, chunks: int) -> None:
        self._chunks += chunks
        self._progress.update(self._task, advance=files, chunks=self._chunks)


class CountProgressBar(_StderrBar):
    """A done/total bar with ETA on stderr for gptchat.progress.Progress: one line per run."""

    def __init__(self) -> None:
        self._progress = _stderr_progress(TextColumn("{task.fields[note]}"))
        self._task = None

    def start(self, total: int, label: str, unit: str = "") -> None:
        self._unit = unit
        self._task = self._progress.add_task(label, total=total, note=unit)

    def advance(self, steps: int = 1, note: str = "") -> None:
        shown = f"{self._unit}, {note}" if note else self._unit
        self._progress.update(self._task, advance=steps, note=shown)


class FinetuneProgressBar(_StderrBar):
    """Scoring and training progress on stderr (steps, latest loss, ETA); a context manager."""

    def __init__(self, description: str) -> None:
        self._progress = _stderr_progress(TextColumn("{task.fields[note]}"))
        self._description = description
        self._task = None

    def start(self, total_steps: int) -> None:
        self._task = self._progress.add_task(self._description, total=total_steps, note="steps")

    def step(self, loss: float) -> None:
        self._progress.update(self._task, advance=1, note=f"steps, loss {loss:.3f}")

    def scoring(self, label: str, total: int) -> Callable[[], None]:
        """A new line of progress for scoring `total` held-out examples; call to advance."""
        return self.counting(label, total, "held-out examples")

    def preparing(self, label: str, total: int) -> Callable[[], None]:
        """A new line of progress for turning `total` questions into examples."""
        return self.counting(label, total, "questions")

    def counting(self, label: str, total: int, unit: str) -> Callable[[], None]:
        task = self._progress.add_task(label, total=total, note=unit)
        return lambda: self._progress.update(task, advance=1)

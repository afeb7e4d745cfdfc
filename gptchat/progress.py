"""The one interface long operations report through; each face passes in its own drawing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress: a rich bar in the CLI, a ProgressBar in the app, nothing in tests."""

    def start(self, total: int, label: str, unit: str = "") -> None:
        """A new run of `total` steps of `unit`, described by `label`."""

    def advance(self, steps: int = 1, note: str = "") -> None:
        """`steps` more done; `note` says something about the latest one."""


class NoProgress:
    """Progress that goes nowhere."""

    def start(self, total: int, label: str, unit: str = "") -> None:
        pass

    def advance(self, steps: int = 1, note: str = "") -> None:
        pass


NO_PROGRESS = NoProgress()

"""Progress for long work: a rich bar on a terminal, silence elsewhere.

The pipeline only calls ``advance``; the CLI picks the bar, Dagster passes a
logger-backed reporter, tests pass nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Progress(Protocol):
    def start(self, description: str, total: int | None) -> None: ...
    def advance(self, count: int) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def stop(self) -> None:
        pass


class RichProgress:
    """A records/s bar on stderr (rich)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress as Bar, TaskProgressColumn, TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Bar(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(), transient=True,
        )
        self._task = None

    def start(self, description: str, total: int | None) -> None:
        if self._task is None:
            self._bar.start()
        else:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(description, total=total)

    def advance(self, count: int) -> None:
        self._bar.advance(self._task, count)

    def stop(self) -> None:
        self._bar.stop()


class LogProgress:
    """Logs a line at most every ``every`` seconds (for Dagster and other logs)."""

    def __init__(self, log, every: float = 10.0):
        self._log, self._every = log, every
        self._description, self._total, self._done, self._last = "", None, 0, 0.0

    def start(self, description: str, total: int | None) -> None:
        self._description, self._total, self._done, self._last = description, total, 0, time.monotonic()

    def advance(self, count: int) -> None:
        self._done += count
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            of = f" of {self._total:,}" if self._total else ""
            self._log.info(f"{self._description}: {self._done:,}{of} records")

    def stop(self) -> None:
        pass


def terminal_progress() -> Progress:
    """A bar when stderr is a terminal, else nothing (CI logs stay clean)."""
    return RichProgress() if sys.stderr.isatty() else NoProgress()

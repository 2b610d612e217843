"""The progress bar of ``thinksafe run``: done/total, errors, tokens, rate, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from thinksafe.run.engine import NullProgress
from thinksafe.run.engine import Progress as ProgressSink


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]assessing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("errors {task.fields[errors]}"),
            TextColumn("tokens {task.fields[tokens]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, total: int, cached: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("run", total=total, errors=0, tokens=0)

    def update(self, *, done: int, errors: int, tokens: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done, errors=errors, tokens=tokens)

    def stop(self) -> None:
        self._progress.stop()


class Announced:
    """Prints ``line`` (plain text) when the run starts, that is once its target has answered
    its check, then passes everything on to ``inner``."""

    def __init__(self, inner: ProgressSink, console: Console, line: str) -> None:
        self._inner = inner
        self._console = console
        self._line = line

    def start(self, total: int, cached: int) -> None:
        self._console.print(self._line, markup=False, highlight=False, soft_wrap=True)
        self._inner.start(total, cached)

    def update(self, *, done: int, errors: int, tokens: int) -> None:
        self._inner.update(done=done, errors=errors, tokens=tokens)

    def stop(self) -> None:
        self._inner.stop()


def make_progress(console: Console, *, enabled: bool, announce: str | None = None) -> ProgressSink:
    """The run's progress bar (or nothing), printing ``announce`` first when the run starts."""
    sink: ProgressSink = RichProgress(console) if enabled else NullProgress()
    return sink if announce is None else Announced(sink, console, announce)

"""The Python API over the engine: ``evaluate()`` runs a RunSpec to a summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from thinksafe import aio
from thinksafe.config import ConnectionConfig
from thinksafe.engine import Progress, Runner, RunResult, RunSpec
from thinksafe.metrics.summary import build_summary
from thinksafe.protocols import Target
from thinksafe.store.sqlite import DEFAULT_PATH, Store


def summarise(result: RunResult, store: Store) -> dict[str, Any]:
    """Build a finished run's summary and save it with the run."""
    row = store.get_run(result.run_id)
    run_info = {"id": result.run_id, **(row.spec if row else {})}
    summary = build_summary(
        result.results,
        judges=list(result.judges),
        run=run_info,
        judge_notes=result.judge_notes,
    )
    store.finish_run(result.run_id, "aborted" if result.aborted else "complete", summary)
    return summary


def run_spec(
    spec: RunSpec,
    store: Store,
    progress: Progress | None = None,
    *,
    target_factory: Callable[[str, ConnectionConfig], Target] | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    """Run (or resume) a spec against an open store; returns the result and its summary."""
    runner = Runner(spec, store, progress=progress, target_factory=target_factory)
    result = aio.run(runner.run())
    return result, summarise(result, store)


def evaluate(
    model: str,
    suite: str = "starter",
    *,
    judges: tuple[str, ...] | list[str] = (),
    store: str | Path = DEFAULT_PATH,
    **options: Any,
) -> dict[str, Any]:
    """Assess ``model`` on ``suite`` and return the summary (schema ``thinksafe.summary/1``).

    ``options`` are further ``RunSpec`` fields (``limit``, ``generation``, ``connection``,
    ``max_concurrency``, ...). Re-running the same call reads everything from the store.
    """
    spec = RunSpec(model=model, suite=suite, judges=tuple(judges), **options)
    with Store(store) as db:
        return run_spec(spec, db)[1]

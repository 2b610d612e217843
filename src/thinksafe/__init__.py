"""thinksafe: measure how safe a language model is, judging its thinking trace and its final
answer separately."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinksafe.records import Attempt, Completion, JudgeItem, Message, Sample, Usage, Verdict

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from thinksafe.metrics.schema import Summary

__version__ = "0.1.0"


def evaluate(
    model: str,
    suite: str = "starter",
    *,
    judges: tuple[str, ...] | list[str] = (),
    store: str | Path = "thinksafe.db",
    **options: Any,
) -> Summary:
    """Assess ``model`` on ``suite`` and return the run's summary (see
    ``thinksafe.run.evaluate.evaluate``; ``options`` are further ``RunConfig`` fields)."""
    from thinksafe.run.evaluate import evaluate as _evaluate

    return _evaluate(model, suite, judges=judges, store=store, **options)


def load_run(
    run: str = "latest",
    store: str | Path = "thinksafe.db",
    *,
    judges: Sequence[str] | None = None,
) -> pandas.DataFrame:
    """A run's per-attempt rows as a ``pandas.DataFrame`` (see ``thinksafe.api.load_run``)."""
    from thinksafe.api import load_run as _load_run

    return _load_run(run, store, judges=judges)


__all__ = [
    "Attempt",
    "Completion",
    "JudgeItem",
    "Message",
    "Sample",
    "Usage",
    "Verdict",
    "__version__",
    "evaluate",
    "load_run",
]

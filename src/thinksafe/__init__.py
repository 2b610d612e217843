"""thinksafe: measure how safe a language model is, judging its thinking trace and its final
answer separately."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from thinksafe.records import Attempt, Completion, JudgeItem, Message, Sample, Usage, Verdict

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]

__version__ = "0.1.0"


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
    "load_run",
]

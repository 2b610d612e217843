"""The Python API for reading results back: ``load_run``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinksafe.errors import MissingExtraError
from thinksafe.store import export as exporter
from thinksafe.store.sqlite import DEFAULT_PATH, Store

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise MissingExtraError(
            "load_run needs pandas; install it with: pip install 'thinksafe[pandas]'"
        ) from None
    return pandas


def load_run(
    run: str = "latest",
    store: str | Path = DEFAULT_PATH,
    *,
    judges: Sequence[str] | None = None,
) -> pandas.DataFrame:
    """A run's per-attempt rows as a ``pandas.DataFrame``: one row per attempt, channel
    (``answer``, ``reasoning``) and judge, with the columns of ``thinksafe export``.

    ``run`` is a run id, a unique prefix of one, a run name, or ``latest``. ``judges`` limits
    the rows to those judges (default: every judge of the run, primary first). Needs the
    ``pandas`` extra.
    """
    pd = _pandas()
    path = Path(store)
    if not path.exists():
        from thinksafe.errors import DataError

        raise DataError(f"no store at {path}; run `thinksafe run` first or pass store=PATH")
    with Store(path) as db:
        row = db.find_run(run)
        results = db.load_results(row.id)
    specs = list(judges) if judges is not None else list(row.spec.get("judges") or [])
    records = list(exporter.rows(row.id, results, specs, model=row.model))
    frame = pd.DataFrame.from_records(records, columns=list(exporter.COLUMNS))
    for name in ("first_unsafe_offset", "prompt_tokens", "completion_tokens", "reasoning_tokens"):
        frame[name] = frame[name].astype("Int64")
    for name in ("score", "probability", "latency_s"):
        frame[name] = frame[name].astype("Float64")
    for name in ("category", "harm_area", "expected", "attack", "channel", "judge", "outcome"):
        frame[name] = frame[name].astype("category")
    return frame

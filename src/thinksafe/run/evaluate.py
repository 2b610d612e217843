"""The Python API over the engine: ``evaluate()`` runs a RunSpec to a summary."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from thinksafe.config import ConnectionConfig
from thinksafe.judges.accuracy import (
    ORIGIN_SHIPPED,
    ORIGIN_STORE,
    MeasuredAccuracy,
    from_judge_eval,
)
from thinksafe.metrics.adaptive import adaptive_block
from thinksafe.metrics.agreement import corrected_rate
from thinksafe.metrics.correction import correct_rate_dict
from thinksafe.metrics.schema import Summary
from thinksafe.metrics.summary import build_summary, headline_scope
from thinksafe.protocols import Target
from thinksafe.records import Channel, content_hash
from thinksafe.run import aio
from thinksafe.run.build import Plan, build_plan
from thinksafe.run.build import resolve_workers as resolve_workers
from thinksafe.run.engine import Progress, Runner, RunResult, RunSpec
from thinksafe.store.sqlite import DEFAULT_PATH, Store


def summarise(result: RunResult, store: Store) -> Summary:
    """Build a finished run's summary and save it with the run. Judges whose accuracy is known
    (measured by ``thinksafe judge-eval --save-accuracy`` on the same judge identity, else
    shipped by the judge itself) get judge-corrected rates under ``judge_corrected``."""
    row = store.get_run(result.run_id)
    run_info = {"id": result.run_id, **(row.spec if row else {})}
    summary = build_summary(
        result.results,
        judges=list(result.judges),
        run=run_info,
        judge_notes=result.judge_notes,
    )
    corrections = judge_corrections(summary, store, result.judge_accuracy)
    if corrections:
        summary["judge_corrected"] = corrections
    if result.searches:
        summary["adaptive"] = adaptive_block(result.searches)
    store.finish_run(result.run_id, "aborted" if result.aborted else "complete", summary)
    return summary


def stored_accuracy(store: Store, run: Mapping[str, Any], judge: str) -> dict[str, Any] | None:
    """The accuracy of ``judge`` measured by ``thinksafe judge-eval --save-accuracy`` on the
    judge identity that the run ``run`` (its spec: ``judges`` and ``judge_identities``) used,
    as the store keeps it; ``None`` if never measured or without sensitivity and
    specificity."""
    specs = [str(s) for s in run.get("judges") or []]
    identities = dict(zip(specs, run.get("judge_identities") or []))
    if judge not in identities:
        return None
    found = store.get_judge_accuracy(judge, identity=content_hash(identities[judge]))
    if not found or found.get("sensitivity") is None or found.get("specificity") is None:
        return None
    return found


def judge_measurement(
    store: Store,
    run: Mapping[str, Any],
    judge: str,
    shipped: Mapping[Channel, MeasuredAccuracy] | None = None,
) -> dict[str, Any] | None:
    """Which measurement of ``judge``'s accuracy a run's corrected rates use: the user's own
    (``judge-eval --save-accuracy``, same judge identity) wins over the one the judge ships.
    JSON-able: ``origin``, ``channels`` (channel -> counts, shares, sources, method) and, for
    a stored one, ``saved_at``; ``None`` when neither is known."""
    found = stored_accuracy(store, run, judge)
    if found is not None:
        channels = from_judge_eval(found)
        out: dict[str, Any] = {
            "origin": ORIGIN_STORE,
            "saved_at": found.get("saved_at"),
            "channels": {ch: m.to_dict() for ch, m in channels.items()},
        }
        if not channels:
            # A record without its counts: the shares alone, treated as exact.
            out["shares"] = {
                str(found.get("channel") or "answer"): {
                    "sensitivity": float(found["sensitivity"]),
                    "specificity": float(found["specificity"]),
                    "sources": [str(found.get("dataset") or "a labelled set")],
                }
            }
        return out
    if shipped:
        return {
            "origin": ORIGIN_SHIPPED,
            "channels": {ch: m.to_dict() for ch, m in shipped.items()},
        }
    return None


def judge_corrections(
    summary: Mapping[str, Any],
    store: Store,
    shipped: Mapping[str, Mapping[Channel, MeasuredAccuracy]] | None = None,
) -> dict[str, Any]:
    """Per judge whose accuracy is known (:func:`judge_measurement`), the headline unsafe rate
    of each measured channel corrected by Rogan-Gladen, with an interval that carries the
    uncertainty of both the run's counts and the judge's measurement
    (:mod:`thinksafe.metrics.correction`)."""
    run = summary.get("run") or {}
    out: dict[str, Any] = {}
    for spec, block in (summary.get("judges") or {}).items():
        measurement = judge_measurement(store, run, spec, (shipped or {}).get(spec))
        if measurement is None:
            continue
        scope = headline_scope(block)
        overall = block["unsafe"][scope]["overall"]
        rates = {
            ch: correct_rate_dict(overall[ch], MeasuredAccuracy.from_dict(m))
            for ch, m in measurement["channels"].items()
            if ch in overall
        }
        for ch, shares in (measurement.get("shares") or {}).items():
            if ch not in overall:
                continue
            fixed = corrected_rate(overall[ch], shares["sensitivity"], shares["specificity"])
            if fixed is not None:
                rates[ch] = {**fixed, "interval": {"method": "wilson-mapped"}}
        out[spec] = {"accuracy": measurement, "scope": scope, "rates": rates}
    return out


def run_spec(
    spec: RunSpec,
    store: Store,
    progress: Progress | None = None,
    *,
    target_factory: Callable[[str, ConnectionConfig], Target] | None = None,
) -> tuple[RunResult, Summary]:
    """Run (or resume) a spec against an open store; returns the result and its summary.

    The plan is built here (:func:`thinksafe.run.build.build_plan`), before the event loop starts,
    so that request processes (``spec.workers``; see :mod:`thinksafe.run.workers`) can be forked."""
    plan = build_plan(spec, target_factory=target_factory, fork_workers=True)
    return run_plan(plan, store, progress)


def run_plan(
    plan: Plan, store: Store, progress: Progress | None = None
) -> tuple[RunResult, Summary]:
    """Run (or resume) a built plan against an open store; returns the result and its
    summary. The plan's request processes, if any, are closed after."""
    try:
        result = aio.run(Runner(plan, store, progress=progress).run())
    finally:
        if plan.pool is not None:
            plan.pool.close()
    return result, summarise(result, store)


def evaluate(
    model: str,
    suite: str = "starter",
    *,
    judges: tuple[str, ...] | list[str] = (),
    store: str | Path = DEFAULT_PATH,
    **options: Any,
) -> Summary:
    """Assess ``model`` on ``suite`` and return the summary (schema ``thinksafe.summary/2``).

    ``options`` are further ``RunSpec`` fields (``limit``, ``generation``, ``connection``,
    ``max_concurrency``, ...). Re-running the same call reads everything from the store.
    """
    spec = RunSpec(model=model, suite=suite, judges=tuple(judges), **options)
    spec.check_names()
    with Store(store) as db:
        return run_spec(spec, db)[1]

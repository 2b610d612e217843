"""The Python API over the engine: ``evaluate()`` runs a RunSpec to a summary."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from thinksafe import aio
from thinksafe.config import ConnectionConfig
from thinksafe.engine import Progress, Runner, RunResult, RunSpec
from thinksafe.metrics.agreement import corrected_rate
from thinksafe.metrics.summary import build_summary
from thinksafe.protocols import Target
from thinksafe.records import content_hash
from thinksafe.store.sqlite import DEFAULT_PATH, Store


def summarise(result: RunResult, store: Store) -> dict[str, Any]:
    """Build a finished run's summary and save it with the run. Judges whose sensitivity and
    specificity were measured (``thinksafe judge-eval --save-accuracy``, same judge identity)
    get their judge-corrected rate under ``judge_corrected``."""
    row = store.get_run(result.run_id)
    run_info = {"id": result.run_id, **(row.spec if row else {})}
    summary = build_summary(
        result.results,
        judges=list(result.judges),
        run=run_info,
        judge_notes=result.judge_notes,
    )
    corrections = judge_corrections(summary, store)
    if corrections:
        summary["judge_corrected"] = corrections
    store.finish_run(result.run_id, "aborted" if result.aborted else "complete", summary)
    return summary


def judge_corrections(summary: Mapping[str, Any], store: Store) -> dict[str, Any]:
    """Per judge with a measured accuracy in the store (same identity), its channel's overall
    unsafe rate corrected by Rogan-Gladen."""
    run = summary.get("run") or {}
    identities = dict(zip(run.get("judges") or [], run.get("judge_identities") or []))
    out: dict[str, Any] = {}
    for spec, block in (summary.get("judges") or {}).items():
        identity = identities.get(spec)
        if identity is None:
            continue
        accuracy = store.get_judge_accuracy(spec, identity=content_hash(identity))
        if accuracy is None:
            continue
        sens, spec_ = accuracy.get("sensitivity"), accuracy.get("specificity")
        if sens is None or spec_ is None:
            continue
        channel = str(accuracy.get("channel") or "answer")
        scope = "refuse" if block["unsafe"]["refuse"]["overall"]["answer"]["total"] else "all"
        raw = block["unsafe"][scope]["overall"].get(channel)
        if raw is None:
            continue
        corrected = corrected_rate(raw, float(sens), float(spec_))
        if corrected is None:
            continue
        out[spec] = {
            **corrected,
            "channel": channel,
            "scope": scope,
            "measured_on": accuracy.get("dataset"),
        }
    return out


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

"""The Python API over the engine: ``evaluate()`` runs a RunSpec to a summary."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from thinksafe import aio
from thinksafe.build import build_target
from thinksafe.config import ConnectionConfig
from thinksafe.engine import Progress, Runner, RunResult, RunSpec
from thinksafe.errors import ConfigError
from thinksafe.metrics.agreement import corrected_rate
from thinksafe.metrics.summary import build_summary, headline_scope
from thinksafe.protocols import Target
from thinksafe.records import content_hash
from thinksafe.store.sqlite import DEFAULT_PATH, Store
from thinksafe.workers import WORKER_PROVIDERS, WorkerPool, auto_workers, can_fork


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


def judge_corrections(summary: Mapping[str, Any], store: Store) -> dict[str, Any]:
    """Per judge with a measured accuracy in the store (same identity), its channel's overall
    unsafe rate corrected by Rogan-Gladen."""
    run = summary.get("run") or {}
    out: dict[str, Any] = {}
    for spec, block in (summary.get("judges") or {}).items():
        accuracy = stored_accuracy(store, run, spec)
        if accuracy is None:
            continue
        sens, spec_ = accuracy["sensitivity"], accuracy["specificity"]
        channel = str(accuracy.get("channel") or "answer")
        scope = headline_scope(block)
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
    """Run (or resume) a spec against an open store; returns the result and its summary.

    With more than one worker (``spec.workers``; see :mod:`thinksafe.workers`) the request
    processes are forked here, before the event loop starts."""
    n_workers = resolve_workers(spec, target_factory)
    pool = None
    target = None
    if n_workers > 1:
        target = (target_factory or build_target)(spec.model, spec.connection)
        pool = WorkerPool.fork(
            n_workers, target=target, generation=spec.generation, retry=spec.retry
        )
    try:
        runner = Runner(
            spec,
            store,
            progress=progress,
            target_factory=target_factory,
            pool=pool,
            target=target,
        )
        result = aio.run(runner.run())
    finally:
        if pool is not None:
            pool.close()
    return result, summarise(result, store)


def resolve_workers(
    spec: RunSpec, target_factory: Callable[[str, ConnectionConfig], Target] | None = None
) -> int:
    """How many request processes a run uses (1: the engine's own)."""
    provider = spec.model.split("/", 1)[0]
    if spec.workers == 0:
        return 1 if target_factory is not None else auto_workers(provider, spec.max_concurrency)
    if spec.workers < 0:
        raise ConfigError(f"--workers must be 0 (choose) or more, got {spec.workers}")
    if spec.workers > 1:
        if not can_fork():
            raise ConfigError(
                "--workers above 1 needs Linux and a process with no other threads running;"
                " pass --workers 1"
            )
        if provider not in WORKER_PROVIDERS:
            raise ConfigError(
                f"--workers above 1 works with {', '.join(sorted(WORKER_PROVIDERS))} targets,"
                f" not {provider}/; pass --workers 1"
            )
    return min(spec.workers, max(1, spec.max_concurrency))


def evaluate(
    model: str,
    suite: str = "starter",
    *,
    judges: tuple[str, ...] | list[str] = (),
    store: str | Path = DEFAULT_PATH,
    **options: Any,
) -> dict[str, Any]:
    """Assess ``model`` on ``suite`` and return the summary (schema ``thinksafe.summary/2``).

    ``options`` are further ``RunSpec`` fields (``limit``, ``generation``, ``connection``,
    ``max_concurrency``, ...). Re-running the same call reads everything from the store.
    """
    spec = RunSpec(model=model, suite=suite, judges=tuple(judges), **options)
    with Store(store) as db:
        return run_spec(spec, db)[1]

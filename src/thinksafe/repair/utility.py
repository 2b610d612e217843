"""Utility before and after a repair, through lm-evaluation-harness (``lm-eval``): the same
tasks on the same kind of model folder, so a repair that recovers safety by destroying the new
skill shows up beside the safety numbers. Used by ``realign`` and ``align`` alike."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from thinksafe.errors import ConfigError, MissingExtraError

UTILITY_EXTRA = "pip install 'thinksafe[realign]'"
# the metrics worth reporting, best first; the first one a task has is its headline
HEADLINE_METRICS = ("acc_norm", "acc", "exact_match", "f1", "bleu", "pass@1")


def require_lm_eval() -> None:
    """Raise :class:`MissingExtraError` (one line, exit 2) when lm-eval is missing."""
    if importlib.util.find_spec("lm_eval") is None:
        raise MissingExtraError(f"utility needs lm-eval, which is not installed: {UTILITY_EXTRA}")


def measure_utility(
    model_path: str | Path,
    tasks: Sequence[str],
    *,
    include_path: str | Path | None = None,
    limit: int | float | None = None,
    num_fewshot: int | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    dtype: str = "auto",
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Run lm-eval ``tasks`` on the transformers model at ``model_path``; returns, per task, its
    metrics (``{"acc": 0.61, "acc_stderr": 0.03, ...}``) plus ``headline`` (the metric name
    reported first) and ``samples`` (how many documents were scored). ``include_path`` is a
    folder of task YAML files of your own (e.g. a small local task)."""
    if importlib.util.find_spec("lm_eval") is None:
        raise MissingExtraError(f"utility needs lm-eval, which is not installed: {UTILITY_EXTRA}")
    if not tasks:
        raise ConfigError("name at least one lm-eval task (e.g. copa, gsm8k, mmlu)")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = None
    if include_path is not None:
        # indexing lm-eval's own thousands of tasks is slow: skip it when the folder has them all
        manager = TaskManager(include_path=str(include_path), include_defaults=False)
        if any(t not in manager.all_tasks for t in tasks):
            manager = None
    if manager is None:
        manager = TaskManager(include_path=str(include_path) if include_path else None)
    unknown = [t for t in tasks if t not in manager.all_tasks]
    if unknown:
        raise ConfigError(
            f"unknown lm-eval task {unknown[0]!r}; list them with `lm-eval ls tasks`, or give "
            "a folder of task YAML files"
        )
    results = simple_evaluate(
        model="hf",
        model_args={"pretrained": str(model_path), "dtype": dtype, "device": device},
        tasks=list(tasks),
        num_fewshot=num_fewshot,
        batch_size=batch_size,
        limit=limit,
        task_manager=manager,
        log_samples=False,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    if results is None:  # only on non-zero ranks of a distributed run
        return {}
    return _tidy(results["results"], results.get("n-samples", {}))


def _tidy(
    raw: Mapping[str, Mapping[str, Any]], counts: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for task, metrics in raw.items():
        clean: dict[str, Any] = {}
        for key, value in metrics.items():
            if key == "alias" or not isinstance(value, (int, float)):
                continue
            name = key.split(",")[0]  # "acc,none" -> "acc"
            clean[name] = float(value)
        clean["headline"] = next((m for m in HEADLINE_METRICS if m in clean), None)
        n = counts.get(task, {})
        clean["samples"] = int(n.get("effective", 0)) if isinstance(n, Mapping) else None
        out[task] = clean
    return out


def utility_delta(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per task: the headline metric before, after and the change (after - before)."""
    out: dict[str, dict[str, Any]] = {}
    for task in before:
        metric = before[task].get("headline")
        if metric is None or task not in after or metric not in after[task]:
            continue
        b, a = float(before[task][metric]), float(after[task][metric])
        out[task] = {"metric": metric, "before": b, "after": a, "change": a - b}
    return out

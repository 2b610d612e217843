"""Measuring labellers (our judges, and published judges' columns) against human labels.

Our judges read the labelled responses through the real engine: each set is replayed with the
``replay`` target (one run per source, and per repeat of a prompt within a source), so verdicts
are cached in the store like any run's and a second evaluation makes no judge call. A judge's
verdict on one row is the outcome of the chosen channel (``answer`` by default), by the same rule
every metric obeys (:func:`thinksafe.records.channel_outcome`); only ``safe`` and ``unsafe`` are
scored, and every other outcome is counted as not scored.

The report (schema ``thinksafe.judge-eval/1``, described in ``docs/judge-eval.md``) holds, per
labeller, the agreement metrics overall, per true class, per category and per group of a chosen
column, and the share of responses each labeller (people included) called safe per group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from thinksafe.config import ConnectionConfig
from thinksafe.errors import ConfigError
from thinksafe.labelled.base import LabelledSet
from thinksafe.metrics.agreement import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    Confusion,
    agreement_metrics,
    proportion_dict,
)
from thinksafe.metrics.rates import Rate, round_float
from thinksafe.metrics.summary import build_summary, either_outcome
from thinksafe.records import AttemptResult, channel_outcome
from thinksafe.run import aio
from thinksafe.run.build import build_replay_plan
from thinksafe.run.engine import Progress, Runner, RunResult, RunSpec
from thinksafe.run.retry import RetryPolicy
from thinksafe.run.transcripts import replay_layers
from thinksafe.store.sqlite import Store

REPORT_SCHEMA = "thinksafe.judge-eval/1"
HUMAN = "human"
NO_VALUE = "(none)"

EvalChannel = Literal["answer", "reasoning", "either"]
EVAL_CHANNELS: tuple[EvalChannel, ...] = ("answer", "reasoning", "either")
SCORED = frozenset({"safe", "unsafe"})


@dataclass(frozen=True)
class Labeller:
    """Verdicts on every row of a set, aligned with its items: a judge of ours (``judge``) or a
    column of published verdicts (``column``)."""

    name: str
    kind: Literal["judge", "column"]
    outcomes: tuple[str, ...]
    note: str = ""
    identity: Mapping[str, Any] | None = None
    runs: tuple[str, ...] = ()


def column_labeller(dataset: LabelledSet, name: str) -> Labeller:
    """The published verdicts of prediction column ``name``."""
    if name not in dataset.predictions:
        have = ", ".join(sorted(dataset.predictions)) or "none"
        raise ConfigError(f"{dataset.spec} has no prediction column {name!r} (it has: {have})")
    return Labeller(
        name=name,
        kind="column",
        outcomes=tuple(str(item.predictions.get(name, "unscorable")) for item in dataset.items),
        note=dataset.predictions[name],
    )


def replay_groups(dataset: LabelledSet) -> list[tuple[str, list[int]]]:
    """(replay name, item indices) per run: one per source, and one more for each repeat of a
    prompt with another response within a source."""
    by_source: dict[str, list[int]] = {}
    for index, item in enumerate(dataset.items):
        by_source.setdefault(item.source or dataset.name, []).append(index)
    groups: list[tuple[str, list[int]]] = []
    for source, indices in by_source.items():
        position = {id(dataset.items[i].transcript): i for i in indices}
        layers = replay_layers([dataset.items[i].transcript for i in indices])
        base = dataset.name if source == dataset.name else f"{dataset.name}:{source}"
        for number, layer in enumerate(layers, start=1):
            name = base if number == 1 else f"{base}~{number}"
            groups.append((name, [position[id(t)] for t in layer]))
    return groups


def outcome_of(result: AttemptResult, judge: str, channel: EvalChannel) -> str:
    if channel == "either":
        return either_outcome(
            channel_outcome(result, judge, "answer"), channel_outcome(result, judge, "reasoning")
        )
    return channel_outcome(result, judge, channel)


@dataclass
class JudgeRuns:
    """What running our judges over a set produced."""

    labellers: list[Labeller]
    runs: list[str] = field(default_factory=list)
    judge_calls: int = 0
    errors: int = 0
    results: list[RunResult] = field(default_factory=list)


def judge_labellers(
    dataset: LabelledSet,
    judges: Sequence[str],
    store: Store,
    *,
    channel: EvalChannel = "answer",
    judge_connection: ConnectionConfig | None = None,
    judge_concurrency: int = 16,
    retry: RetryPolicy | None = None,
    progress: Callable[[], Progress] | None = None,
) -> JudgeRuns:
    """Run ``judges`` over every response of ``dataset`` through the engine (cached)."""
    if not judges:
        raise ValueError("judge_labellers needs at least one judge spec")
    n = len(dataset.items)
    outcomes: dict[str, list[str]] = {}
    identities: dict[str, Any] = {}
    notes: dict[str, str] = {}
    out = JudgeRuns(labellers=[])
    for name, indices in replay_groups(dataset):
        spec = RunSpec(
            model=f"replay/{name}",
            suite=dataset.spec,
            judges=tuple(judges),
            judge_connection=judge_connection or ConnectionConfig(),
            judge_concurrency=judge_concurrency,
            retry=retry or RetryPolicy(),
        )
        plan = build_replay_plan(spec, [dataset.items[i].transcript for i in indices], store)
        result = aio.run(Runner(plan, store, progress=progress() if progress else None).run())
        row = store.get_run(result.run_id)
        described = row.spec if row is not None else {}
        summary = build_summary(
            result.results,
            judges=list(result.judges),
            run={"id": result.run_id, **described},
            judge_notes=result.judge_notes,
        )
        store.finish_run(result.run_id, "aborted" if result.aborted else "complete", summary)
        identities.update(
            zip(described.get("judges") or [], described.get("judge_identities") or [])
        )
        notes.update(result.judge_notes)
        out.runs.append(result.run_id)
        out.results.append(result)
        out.judge_calls += result.judge_calls
        out.errors += result.errors
        by_sample = {r.sample.id: r for r in result.results}
        for spec_name in result.judges:
            column = outcomes.setdefault(spec_name, ["unjudged"] * n)
            for i in indices:
                r = by_sample.get(dataset.items[i].sample.id)
                if r is not None:
                    column[i] = outcome_of(r, spec_name, channel)
    out.labellers = [
        Labeller(
            name=spec_name,
            kind="judge",
            outcomes=tuple(column),
            note=notes.get(spec_name, ""),
            identity=identities.get(spec_name),
            runs=tuple(out.runs),
        )
        for spec_name, column in outcomes.items()
    ]
    return out


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def group_value(dataset: LabelledSet, index: int, column: str) -> str:
    """The value of ``column`` for one item: a meta column, else ``category``, ``harm_area``
    (the shared taxonomy), ``expected`` or ``source`` (``model`` falls back to the source)."""
    item = dataset.items[index]
    meta = item.sample.meta
    if column in meta:
        value = meta[column]
        text = "" if value is None else str(value).strip()
        return text or NO_VALUE
    if column == "category":
        return item.sample.category
    if column == "harm_area":
        given = item.sample.meta.get("harm_area_given")
        if item.sample.harm_area in ("other", "benign") and given not in (None, ""):
            # a value the taxonomy does not know is grouped as the file wrote it, not lumped
            # into "other"
            return f"{str(given).strip()} (not in the taxonomy)"
        return item.sample.harm_area or NO_VALUE
    if column == "expected":
        return item.sample.expected
    if column in ("source", "model"):
        return item.source or NO_VALUE
    return NO_VALUE


def check_group_column(dataset: LabelledSet, column: str) -> None:
    if column in ("category", "harm_area", "expected", "source", "model"):
        return
    if not any(column in item.sample.meta for item in dataset.items):
        sample_meta = sorted({k for item in dataset.items[:50] for k in item.sample.meta})
        have = ", ".join(["category", "harm_area", "expected", "source", *sample_meta])
        raise ConfigError(f"--by-column {column!r}: no such column in {dataset.spec} (has: {have})")


def _groups(keys: Iterable[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        out.setdefault(key, []).append(index)
    return {k: out[k] for k in sorted(out)}


class _Scorer:
    def __init__(self, truths: Sequence[bool], resamples: int, seed: int) -> None:
        self.truths = truths
        self.resamples = resamples
        self.seed = seed

    def block(self, outcomes: Sequence[str], indices: Sequence[int]) -> dict[str, Any]:
        pairs = [
            (self.truths[i], outcomes[i] == "unsafe") for i in indices if outcomes[i] in SCORED
        ]
        not_scored = Counter(outcomes[i] for i in indices if outcomes[i] not in SCORED)
        c = Confusion.from_pairs(pairs)
        total = len(indices)
        return {
            **agreement_metrics(c, resamples=self.resamples, seed=self.seed),
            "coverage": round_float(c.n / total if total else None),
            "not_scored": {k: not_scored[k] for k in sorted(not_scored)},
            "scored": c.n,
            "total": total,
        }

    def by_class(self, outcomes: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, truth in (("unsafe", True), ("safe", False)):
            indices = [i for i, t in enumerate(self.truths) if t == truth]
            said = Counter(outcomes[i] for i in indices)
            scored = said["unsafe"] + said["safe"]
            out[name] = {
                "coverage": round_float(scored / len(indices) if indices else None),
                "judged_safe": proportion_dict(said["safe"], scored),
                "judged_unsafe": proportion_dict(said["unsafe"], scored),
                "not_scored": {k: v for k, v in sorted(said.items()) if k not in SCORED},
                "scored": scored,
                "total": len(indices),
            }
        return out


def evaluate(
    dataset: LabelledSet,
    labellers: Sequence[Labeller],
    *,
    channel: EvalChannel = "answer",
    by_column: str | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The JSON-able judge-eval report (schema ``thinksafe.judge-eval/1``)."""
    items = dataset.items
    n = len(items)
    for labeller in labellers:
        if len(labeller.outcomes) != n:
            raise ValueError(f"labeller {labeller.name!r} has {len(labeller.outcomes)} outcomes")
    if by_column is not None:
        check_group_column(dataset, by_column)
    truths = [item.label == "unsafe" for item in items]
    scorer = _Scorer(truths, resamples, seed)
    categories = _groups(item.sample.category for item in items)
    columns = _groups(group_value(dataset, i, by_column) for i in range(n)) if by_column else {}
    everything = list(range(n))

    blocks: dict[str, Any] = {}
    for labeller in labellers:
        outcomes = labeller.outcomes
        entry: dict[str, Any] = {
            "by_category": {k: scorer.block(outcomes, v) for k, v in categories.items()},
            "by_class": scorer.by_class(outcomes),
            "identity": dict(labeller.identity) if labeller.identity is not None else None,
            "kind": labeller.kind,
            "note": labeller.note,
            "overall": scorer.block(outcomes, everything),
            "runs": list(labeller.runs),
        }
        if by_column:
            entry["by_column"] = {k: scorer.block(outcomes, v) for k, v in columns.items()}
        blocks[labeller.name] = entry

    def rates(indices: Sequence[int]) -> dict[str, Any]:
        safe = sum(1 for i in indices if not truths[i])
        return {
            HUMAN: Rate.from_counts(safe, len(indices), len(indices)).to_dict(),
            "labellers": {
                lab.name: Rate.from_outcome_counts(
                    Counter(lab.outcomes[i] for i in indices), positive="safe"
                ).to_dict()
                for lab in labellers
            },
            "n": len(indices),
        }

    unsafe = sum(truths)
    when = generated_at or datetime.now(timezone.utc)
    return {
        "schema": REPORT_SCHEMA,
        "dataset": {
            "channel": channel,
            "label_rule": dataset.label_rule,
            "name": dataset.name,
            "positive": "unsafe",
            "predictions": dict(dataset.predictions),
            "provenance": dict(dataset.provenance),
            "rows": n,
            "safe": n - unsafe,
            "spec": dataset.spec,
            "unsafe": unsafe,
        },
        "bootstrap": {"resamples": resamples, "seed": seed},
        "labellers": blocks,
        "rates": {
            "by": by_column,
            "groups": {k: rates(v) for k, v in columns.items()},
            "overall": rates(everything),
            "what": "share of responses called safe, over the scored ones",
        },
        "generated_at": when.isoformat(timespec="seconds"),
    }


def accuracy_record(report: Mapping[str, Any], labeller: str) -> dict[str, Any]:
    """What ``--save-accuracy`` stores for one judge: its measured sensitivity (recall on
    unsafe rows) and specificity, and where they were measured."""
    overall = report["labellers"][labeller]["overall"]
    dataset = report["dataset"]
    return {
        "channel": dataset["channel"],
        "coverage": overall["coverage"],
        "dataset": dataset["spec"],
        "measured_at": report["generated_at"],
        "n": overall["scored"],
        "negatives": overall["negatives"],
        "positives": overall["positives"],
        "sensitivity": overall["recall"]["value"],
        "sensitivity_ci95": overall["recall"]["ci95"],
        "sensitivity_k": overall["recall"]["numerator"],
        "sensitivity_n": overall["recall"]["denominator"],
        "specificity": overall["specificity"]["value"],
        "specificity_ci95": overall["specificity"]["ci95"],
        "specificity_k": overall["specificity"]["numerator"],
        "specificity_n": overall["specificity"]["denominator"],
    }

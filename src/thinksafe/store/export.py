"""Per-attempt, per-channel rows of a run, for exports and ``load_run``.

One row per attempt, channel (answer, reasoning) and judge, carrying the sample's metadata, the
attempt, what came back and the verdict. Formats: JSONL and CSV (text), Parquet (needs the
``parquet`` extra: ``pip install 'thinksafe[parquet]'``).
"""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from thinksafe.errors import ConfigError, MissingExtraError
from thinksafe.metrics.summary import either_outcome
from thinksafe.records import (
    CHANNELS,
    AttemptResult,
    canonical_json,
    channel_outcome,
    last_user_text,
)

FORMATS = ("jsonl", "csv", "parquet")
TEXT_FORMATS = ("jsonl", "csv")

COLUMNS = (
    "run_id",
    "model",
    "attempt_id",
    "sample_id",
    "suite",
    "category",
    "harm_area",
    "expected",
    "sample_meta",
    "attack",
    "variant",
    "prompt",
    "channel",
    "text",
    "reasoning_kind",
    "finish_reason",
    "error",
    "judge",
    "outcome",
    "attempt_outcome",
    "label",
    "refusal",
    "score",
    "probability",
    "rationale",
    "first_unsafe_offset",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "latency_s",
)
"""Every column, in order. ``outcome`` is the channel's outcome (``channel_outcome``);
``attempt_outcome`` the attempt's "either channel" outcome under the same judge;
``sample_meta`` the sample's ``meta`` as a JSON text."""

_INT_COLUMNS = frozenset(
    {"first_unsafe_offset", "prompt_tokens", "completion_tokens", "reasoning_tokens"}
)
_FLOAT_COLUMNS = frozenset({"score", "probability", "latency_s"})


def rows(
    run_id: str,
    results: Sequence[AttemptResult],
    judges: Sequence[str],
    *,
    model: str | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per attempt, channel and judge (keys: ``COLUMNS``)."""
    for r in results:
        c = r.completion
        base = {
            "run_id": run_id,
            "model": model,
            "attempt_id": r.attempt.id,
            "sample_id": r.sample.id,
            "suite": r.sample.suite,
            "category": r.sample.category,
            "harm_area": r.sample.harm_area,
            "expected": r.sample.expected,
            "sample_meta": canonical_json(dict(r.sample.meta)),
            "attack": r.attempt.attack,
            "variant": r.attempt.variant,
            "prompt": last_user_text(r.attempt.messages),
            "reasoning_kind": c.reasoning_kind,
            "finish_reason": c.finish_reason,
            "error": c.error,
            "prompt_tokens": c.usage.prompt_tokens,
            "completion_tokens": c.usage.completion_tokens,
            "reasoning_tokens": c.usage.reasoning_tokens,
            "latency_s": round(c.latency_s, 6),
        }
        for judge in judges:
            outcomes = {ch: channel_outcome(r, judge, ch) for ch in CHANNELS}
            either = either_outcome(outcomes["answer"], outcomes["reasoning"])
            for channel in CHANNELS:
                v = r.verdicts.get((judge, channel))
                yield {
                    **base,
                    "channel": channel,
                    "text": c.text(channel),
                    "judge": judge,
                    "outcome": outcomes[channel],
                    "attempt_outcome": either,
                    "label": v.label if v else None,
                    "refusal": v.refusal if v else None,
                    "score": v.score if v else None,
                    "probability": v.probability if v else None,
                    "rationale": v.rationale if v else None,
                    "first_unsafe_offset": v.first_unsafe_offset if v else None,
                }


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write(
    fmt: str,
    run_id: str,
    results: Sequence[AttemptResult],
    judges: Sequence[str],
    out: TextIO,
    *,
    model: str | None = None,
) -> int:
    """Write the rows as JSONL or CSV text; returns the number of rows."""
    _check_format(fmt)
    if fmt not in TEXT_FORMATS:
        raise ConfigError(f"{fmt} is a binary format: write it to a file with --output PATH")
    n = 0
    if fmt == "jsonl":
        for row in rows(run_id, results, judges, model=model):
            out.write(canonical_json(row) + "\n")
            n += 1
    else:
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows(run_id, results, judges, model=model):
            writer.writerow(row)
            n += 1
    return n


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{module} is not installed; install it with: pip install 'thinksafe[{extra}]'"
        ) from None


def arrow_table(
    run_id: str,
    results: Sequence[AttemptResult],
    judges: Sequence[str],
    *,
    model: str | None = None,
) -> Any:
    """The rows as a ``pyarrow.Table`` with a fixed schema (needs the ``parquet`` extra)."""
    pa = _require("pyarrow", "parquet")
    fields = []
    for name in COLUMNS:
        if name in _INT_COLUMNS:
            kind = pa.int64()
        elif name in _FLOAT_COLUMNS:
            kind = pa.float64()
        else:
            kind = pa.string()
        fields.append(pa.field(name, kind))
    schema = pa.schema(fields)
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for row in rows(run_id, results, judges, model=model):
        for name in COLUMNS:
            columns[name].append(row[name])
    return pa.table(columns, schema=schema)


def write_parquet(
    path: Path,
    run_id: str,
    results: Sequence[AttemptResult],
    judges: Sequence[str],
    *,
    model: str | None = None,
) -> int:
    """Write the rows to a Parquet file; returns the number of rows."""
    table = arrow_table(run_id, results, judges, model=model)
    pq = _require("pyarrow.parquet", "parquet")
    pq.write_table(table, str(path))
    return int(table.num_rows)


def write_file(
    fmt: str,
    run_id: str,
    results: Sequence[AttemptResult],
    judges: Sequence[str],
    path: Path,
    *,
    model: str | None = None,
) -> int:
    """Write the rows to ``path`` in ``fmt``; returns the number of rows."""
    _check_format(fmt)
    if fmt == "parquet":
        return write_parquet(path, run_id, results, judges, model=model)
    with path.open("w", encoding="utf-8", newline="") as fh:
        return write(fmt, run_id, results, judges, fh, model=model)


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]

"""Per-attempt, per-channel rows of a run, for exports and ``load_run``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from thinksafe.errors import ConfigError
from thinksafe.records import CHANNELS, AttemptResult, canonical_json, channel_outcome

FORMATS = ("jsonl", "csv")

COLUMNS = (
    "run_id",
    "attempt_id",
    "sample_id",
    "suite",
    "category",
    "harm_area",
    "expected",
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


def rows(
    run_id: str, results: Sequence[AttemptResult], judges: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """One row per attempt, channel and judge."""
    for r in results:
        c = r.completion
        base = {
            "run_id": run_id,
            "attempt_id": r.attempt.id,
            "sample_id": r.sample.id,
            "suite": r.sample.suite,
            "category": r.sample.category,
            "harm_area": r.sample.harm_area,
            "expected": r.sample.expected,
            "attack": r.attempt.attack,
            "variant": r.attempt.variant,
            "prompt": r.attempt.messages[-1].content if r.attempt.messages else "",
            "reasoning_kind": c.reasoning_kind,
            "finish_reason": c.finish_reason,
            "error": c.error,
            "prompt_tokens": c.usage.prompt_tokens,
            "completion_tokens": c.usage.completion_tokens,
            "reasoning_tokens": c.usage.reasoning_tokens,
            "latency_s": round(c.latency_s, 6),
        }
        for channel in CHANNELS:
            for judge in judges:
                v = r.verdicts.get((judge, channel))
                yield {
                    **base,
                    "channel": channel,
                    "text": c.text(channel),
                    "judge": judge,
                    "outcome": channel_outcome(r, judge, channel),
                    "label": v.label if v else None,
                    "refusal": v.refusal if v else None,
                    "score": v.score if v else None,
                    "probability": v.probability if v else None,
                    "rationale": v.rationale if v else None,
                    "first_unsafe_offset": v.first_unsafe_offset if v else None,
                }


def write(
    fmt: str,
    run_id: str,
    results: Sequence[AttemptResult],
    judges: Sequence[str],
    out: TextIO,
) -> int:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    n = 0
    if fmt == "jsonl":
        for row in rows(run_id, results, judges):
            out.write(canonical_json(row) + "\n")
            n += 1
    else:
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows(run_id, results, judges):
            writer.writerow(row)
            n += 1
    return n


def write_file(
    fmt: str, run_id: str, results: Sequence[AttemptResult], judges: Sequence[str], path: Path
) -> int:
    with path.open("w", encoding="utf-8", newline="") as fh:
        return write(fmt, run_id, results, judges, fh)


def to_text(fmt: str, run_id: str, results: Sequence[AttemptResult], judges: Sequence[str]) -> str:
    buf = io.StringIO()
    write(fmt, run_id, results, judges, buf)
    return buf.getvalue()


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]

"""Trace against answer on the same attempts: is the reasoning unsafe more often than the
answer? Over attempts whose two channels are both scorable, the reasoning x answer table is a
paired table (the same attempt read twice), so the two unsafe rates are compared with McNemar's
exact test on the discordant attempts and Newcombe's paired interval for their difference.

Read from the summary's reasoning x answer cells (``thinksafe.metrics.summary``), so it obeys
the outcome rules: an attempt with either channel not scorable never enters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe.metrics.paired import PairedTable, mcnemar, newcombe_paired
from thinksafe.metrics.rates import round_float

TEST = "mcnemar-exact"
"""Exact binomial test of ``reasoning_only`` against ``answer_only`` (two-sided)."""


def trace_vs_answer(cells: Mapping[str, int], total: int) -> dict[str, Any]:
    """The paired comparison from the reasoning x answer ``cells`` (``safe/safe``,
    ``leaky_reasoning``, ``unsafe_answer_clean_trace``, ``unsafe/unsafe`` -> count) of
    ``total`` attempts."""
    table = PairedTable(
        both=cells.get("unsafe/unsafe", 0),
        first_only=cells.get("unsafe_answer_clean_trace", 0),
        second_only=cells.get("leaky_reasoning", 0),
        neither=cells.get("safe/safe", 0),
    )
    n = table.n
    diff = newcombe_paired(table)
    test = mcnemar(table.first_only, table.second_only, exact=True) if n else None
    return {
        "n": n,
        "total": total,
        "coverage": round_float(n / total if total else None),
        "answer_unsafe": table.first_positive,
        "reasoning_unsafe": table.second_positive,
        "answer_rate": round_float(table.first_positive / n if n else None),
        "reasoning_rate": round_float(table.second_positive / n if n else None),
        "answer_only": table.first_only,
        "reasoning_only": table.second_only,
        "difference": round_float(diff.estimate),
        "difference_ci95": (
            [round_float(diff.ci95[0]), round_float(diff.ci95[1])] if diff.ci95 else None
        ),
        "test": TEST,
        "p_value": float(f"{test.p_value:.6g}") if test else None,
    }


def _pp(value: float) -> str:
    """Signed percentage points to one decimal; a difference that rounds to zero is ``0.0``
    (not ``-0.0``)."""
    text = f"{value * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text.replace("-", "−")


def _p(p: float) -> str:
    return "< 0.0001" if p < 0.0001 else f"= {p:.4f}" if p < 0.01 else f"= {p:.3f}"


def trace_vs_answer_text(entry: Mapping[str, Any] | None) -> str:
    """One sentence for a reader, from a ``trace_vs_answer`` entry."""
    if not entry or not entry.get("n"):
        return "Trace vs answer: no attempt had both channels scorable, so no paired test was made."
    n = int(entry["n"])
    ci = entry.get("difference_ci95")
    interval = f" [{_pp(ci[0])}, {_pp(ci[1])}]" if ci else ""
    p = entry.get("p_value")
    test = f"McNemar exact p {_p(float(p))}" if p is not None else "no test"
    return (
        f"Trace vs answer on the same {n:,} attempts (both channels scorable): reasoning"
        f" unsafe {float(entry['reasoning_rate']) * 100:.1f}%, answer unsafe"
        f" {float(entry['answer_rate']) * 100:.1f}%, difference"
        f" {_pp(float(entry['difference']))} pp{interval}; the trace alone is unsafe on"
        f" {int(entry['reasoning_only']):,}, the answer alone on {int(entry['answer_only']):,}"
        f" ({test})."
    )

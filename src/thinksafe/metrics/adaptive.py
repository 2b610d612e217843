"""The ``adaptive`` block of a summary: per adaptive attack, how often its searches succeeded
and what a success cost.

A search succeeded when its judge found harm in a reply (``success``), failed when it ended
without that (``failure``: its budget or its own limit was reached), and is an error when a
call failed for good (``error``: unscored, never counted as a failure).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from thinksafe.metrics.rates import Rate, round_float

# A search's status as an outcome of the success rate: a success is the positive outcome.
_AS_OUTCOME = {"success": "unsafe", "failure": "safe", "error": "error"}
ERROR_CHARS = 200
MAX_ERRORS = 5


def adaptive_block(searches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Attack spec -> its searches' success rate (with interval and coverage), why they
    stopped, and queries and tokens per successful search."""
    by_attack: dict[str, list[Mapping[str, Any]]] = {}
    for s in searches:
        by_attack.setdefault(str(s["attack"]), []).append(s)
    return {attack: _one(found) for attack, found in by_attack.items()}


def _one(searches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    outcomes = Counter(_AS_OUTCOME.get(str(s.get("status")), "error") for s in searches)
    wins = [s for s in searches if s.get("status") == "success"]
    queries = sum(int(s.get("queries") or 0) for s in searches)
    tokens = sum(int(s.get("tokens") or 0) for s in searches)
    return {
        "method": str(searches[0].get("method") or ""),
        "searches": len(searches),
        "success": Rate.from_outcome_counts(outcomes, "unsafe").to_dict(),
        "stops": dict(sorted(Counter(str(s.get("stop")) for s in searches).items())),
        "queries": queries,
        "tokens": tokens,
        "queries_per_success": round_float(queries / len(wins)) if wins else None,
        "tokens_per_success": round_float(tokens / len(wins)) if wins else None,
        "successful_search_queries": _spread([int(s.get("queries") or 0) for s in wins]),
        "successful_search_tokens": _spread([int(s.get("tokens") or 0) for s in wins]),
        "errors": _errors(searches),
    }


def _errors(searches: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Why searches ended in error: message (cut to ERROR_CHARS) -> count, most frequent
    first, at most MAX_ERRORS messages."""
    found = Counter(
        str(s.get("error") or "unknown error")[:ERROR_CHARS]
        for s in searches
        if s.get("status") == "error"
    )
    return dict(found.most_common(MAX_ERRORS))


def _spread(values: Sequence[int]) -> dict[str, Any] | None:
    if not values:
        return None
    return {
        "mean": round_float(statistics.fmean(values)),
        "median": round_float(float(statistics.median(values))),
        "min": min(values),
        "max": max(values),
    }

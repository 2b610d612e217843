"""Rates over scorable items, with Wilson 95% intervals and coverage.

A rate here is always "positive outcomes over scorable outcomes": only ``safe`` and ``unsafe``
are scorable (see ``thinksafe.records.channel_outcome``). Every other outcome is counted in
``total`` and in ``outcomes`` but never in the denominator, and so never as safe.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from thinksafe.records import Outcome

Z95 = 1.959963984540054
"""The two-sided 95% normal quantile."""

SCORABLE: frozenset[str] = frozenset({"safe", "unsafe"})
"""The outcomes a rate is computed over."""

NOT_SCORED: tuple[Outcome, ...] = (
    "error",
    "blocked",
    "empty",
    "truncated",
    "unscorable",
    "unjudged",
    "no_artifact",
)
"""The outcomes that are failures to score: every outcome but the scorable ones and
``absent`` (no reasoning trace is not a failure), in the order reports list them."""

DIGITS = 6
"""Decimal places kept for floats in JSON output."""


def round_float(value: float | None, digits: int = DIGITS) -> float | None:
    """``value`` rounded for JSON output (``None`` stays ``None``)."""
    return None if value is None else round(value, digits)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for ``k`` successes in ``n`` trials; ``None`` when ``n == 0``.

    The bounds are exactly 0 when ``k == 0`` and exactly 1 when ``k == n``.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return None
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


@dataclass(frozen=True)
class Rate:
    """``numerator`` positive outcomes over ``denominator`` scorable ones, out of ``total``.

    ``rate`` and ``ci95`` are ``None`` when nothing was scorable; ``coverage`` (the share of
    items that were scorable) is ``None`` when there were no items at all. ``outcomes`` counts
    every outcome present among the items, scorable or not.
    """

    numerator: int
    denominator: int
    total: int
    rate: float | None
    ci95: tuple[float, float] | None
    coverage: float | None
    outcomes: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_counts(
        cls,
        numerator: int,
        denominator: int,
        total: int,
        outcomes: Mapping[str, int] | None = None,
    ) -> Rate:
        """A rate from plain counts (``0 <= numerator <= denominator <= total``)."""
        if not 0 <= numerator <= denominator <= total:
            raise ValueError(
                "a rate needs 0 <= numerator <= denominator <= total, got "
                f"{numerator}, {denominator}, {total}"
            )
        return cls(
            numerator=numerator,
            denominator=denominator,
            total=total,
            rate=numerator / denominator if denominator else None,
            ci95=wilson_interval(numerator, denominator),
            coverage=denominator / total if total else None,
            outcomes={k: v for k, v in sorted((outcomes or {}).items()) if v},
        )

    @classmethod
    def from_outcome_counts(cls, counts: Mapping[str, int], positive: Outcome = "unsafe") -> Rate:
        """A rate from a mapping of outcome to count (``positive`` over safe + unsafe)."""
        if positive not in SCORABLE:
            raise ValueError(f"positive must be 'safe' or 'unsafe', got {positive!r}")
        numerator = counts.get(positive, 0)
        denominator = counts.get("safe", 0) + counts.get("unsafe", 0)
        return cls.from_counts(numerator, denominator, sum(counts.values()), counts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: keys sorted, floats rounded, ``ci95`` as a two-item list."""
        return {
            "ci95": None
            if self.ci95 is None
            else [round(self.ci95[0], DIGITS), round(self.ci95[1], DIGITS)],
            "coverage": round_float(self.coverage),
            "denominator": self.denominator,
            "numerator": self.numerator,
            "outcomes": {k: self.outcomes[k] for k in sorted(self.outcomes)},
            "rate": round_float(self.rate),
            "total": self.total,
        }


def rate_from_outcomes(outcomes: Iterable[Outcome], positive: Outcome = "unsafe") -> Rate:
    """The share of ``positive`` outcomes among the scorable (safe or unsafe) ones."""
    return Rate.from_outcome_counts(Counter(outcomes), positive)

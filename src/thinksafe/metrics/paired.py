"""Comparing two rates: McNemar's test on paired outcomes, Holm's correction across a family of
tests, intervals for the difference of two proportions (Newcombe's hybrid score method, for
independent and for paired samples), and the Rogan-Gladen correction of a rate and its interval
(``thinksafe.metrics.agreement.rogan_gladen``) with the judge's accuracy looked up by channel.

The tests and intervals are plain Python (``math`` only), so they can be checked against statsmodels
without depending on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from thinksafe.errors import DataError
from thinksafe.metrics.agreement import correct_interval
from thinksafe.metrics.rates import Z95, wilson_interval

EXACT_BELOW = 25
"""McNemar uses the exact binomial test when the discordant pairs number fewer than this, and
the chi-square test with continuity correction otherwise."""

McNemarMethod = Literal["exact", "chi2-cc"]
DiffMethod = Literal["paired", "independent"]


@dataclass(frozen=True)
class McNemar:
    """McNemar's test of ``b`` against ``c``, the two kinds of discordant pair.

    ``b``: pairs where the first is positive and the second negative; ``c``: the reverse.
    ``statistic`` is the corrected chi-square statistic (``None`` for the exact test, whose
    statistic is ``min(b, c)``).
    """

    b: int
    c: int
    p_value: float
    method: McNemarMethod
    statistic: float | None

    @property
    def discordant(self) -> int:
        return self.b + self.c

    @property
    def method_text(self) -> str:
        if self.method == "exact":
            return "exact binomial"
        return "chi-square with continuity correction"


def binomial_two_sided_half(k: int, n: int) -> float:
    """Two-sided exact p-value of ``k`` successes in ``n`` fair trials: twice the smaller tail,
    capped at 1 (exact integer arithmetic, so it holds for any ``n``)."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    m = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(m + 1))
    p: float = (2 * tail) / (2**n)
    return min(1.0, p)


def chi2_sf_1df(x: float) -> float:
    """Upper tail of the chi-square distribution with one degree of freedom."""
    if x <= 0:
        return 1.0
    return math.erfc(math.sqrt(x / 2.0))


def mcnemar(b: int, c: int, *, exact: bool | None = None) -> McNemar:
    """McNemar's test on the discordant counts ``b`` and ``c``.

    ``exact=None`` chooses: the exact binomial test when ``b + c < EXACT_BELOW``, otherwise
    the chi-square test with continuity correction, ``(|b - c| - 1)^2 / (b + c)`` (taken as 0
    when ``b == c``). With no discordant pairs the p-value is 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    use_exact = n < EXACT_BELOW if exact is None else exact
    if use_exact:
        return McNemar(b, c, binomial_two_sided_half(min(b, c), n), "exact", None)
    if n == 0:
        return McNemar(b, c, 1.0, "chi2-cc", 0.0)
    stat = max(0.0, abs(b - c) - 1.0) ** 2 / n
    return McNemar(b, c, chi2_sf_1df(stat), "chi2-cc", stat)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (from 0) is multiplied by ``m - i``; the adjusted values
    are then made non-decreasing in that order and capped at 1.
    """
    m = len(p_values)
    for p in p_values:
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"p-values must lie in [0, 1], got {p}")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Difference:
    """``second - first`` of two proportions, with a 95% interval.

    ``method`` says how the interval was made: ``paired`` (Newcombe's method 10 for paired
    data, over shared items) or ``independent`` (Newcombe's hybrid score method 10 for two
    independent proportions). ``estimate`` and ``ci95`` are ``None`` when either side has no
    items.
    """

    first: tuple[int, int]
    second: tuple[int, int]
    estimate: float | None
    ci95: tuple[float, float] | None
    method: DiffMethod

    @property
    def method_text(self) -> str:
        if self.method == "paired":
            return "paired (Newcombe's score method for paired proportions)"
        return "independent (Newcombe's hybrid score interval)"


def _clip(value: float) -> float:
    return max(-1.0, min(1.0, value))


def newcombe_independent(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> Difference:
    """Interval for ``k2/n2 - k1/n1`` from two independent samples (Newcombe 1998, method 10:
    the two Wilson intervals combined by squaring and adding)."""
    w1 = wilson_interval(k1, n1, z)
    w2 = wilson_interval(k2, n2, z)
    if w1 is None or w2 is None:
        return Difference((k1, n1), (k2, n2), None, None, "independent")
    p1, p2 = k1 / n1, k2 / n2
    d = p2 - p1
    low = d - math.sqrt((p2 - w2[0]) ** 2 + (w1[1] - p1) ** 2)
    high = d + math.sqrt((w2[1] - p2) ** 2 + (p1 - w1[0]) ** 2)
    return Difference((k1, n1), (k2, n2), d, (_clip(low), _clip(high)), "independent")


@dataclass(frozen=True)
class PairedTable:
    """Outcomes of the same items under two conditions.

    ``both``: positive under both; ``first_only``: positive under the first only;
    ``second_only``: positive under the second only; ``neither``: positive under neither.
    """

    both: int
    first_only: int
    second_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.first_only + self.second_only + self.neither

    @property
    def first_positive(self) -> int:
        return self.both + self.first_only

    @property
    def second_positive(self) -> int:
        return self.both + self.second_only

    def mcnemar(self, *, exact: bool | None = None) -> McNemar:
        return mcnemar(self.first_only, self.second_only, exact=exact)


def newcombe_paired(table: PairedTable, z: float = Z95) -> Difference:
    """Interval for ``second - first`` on paired items (Newcombe 1998, paired data, method 10).

    The two marginal Wilson intervals are combined with the correlation ``phi`` of the pairs,
    with Newcombe's continuity adjustment of ``phi``'s numerator.
    """
    n = table.n
    k1, k2 = table.first_positive, table.second_positive
    w1 = wilson_interval(k1, n, z)
    w2 = wilson_interval(k2, n, z)
    if w1 is None or w2 is None:
        return Difference((k1, n), (k2, n), None, None, "paired")
    p1, p2 = k1 / n, k2 / n
    # Table in Newcombe's letters for the first-minus-second difference: a both, b first only,
    # c second only, d neither.
    a, b, c, d = table.both, table.first_only, table.second_only, table.neither
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        if cross > n / 2:
            numerator = cross - n / 2
        elif cross >= 0:
            numerator = 0.0
        else:
            numerator = float(cross)
        phi = numerator / math.sqrt(margins)
    # The interval for first - second, then negated.
    dl1, du1 = p1 - w1[0], w1[1] - p1
    dl2, du2 = p2 - w2[0], w2[1] - p2
    delta = math.sqrt(max(0.0, dl1**2 - 2 * phi * dl1 * du2 + du2**2))
    epsilon = math.sqrt(max(0.0, du1**2 - 2 * phi * du1 * dl2 + dl2**2))
    diff = p1 - p2
    low, high = diff - delta, diff + epsilon
    return Difference((k1, n), (k2, n), -diff, (_clip(-high), _clip(-low)), "paired")


CorrectionStatus = Literal["corrected", "unknown", "uninformative"]


@dataclass(frozen=True)
class Corrected:
    """A rate corrected for the judge's errors (Rogan-Gladen), with its interval mapped through
    the same correction (which ignores the uncertainty in sensitivity and specificity)."""

    status: CorrectionStatus
    rate: float | None = None
    ci95: tuple[float, float] | None = None


def correct_rate(
    rate: float | None,
    ci95: Sequence[float] | None,
    sensitivity: float | None,
    specificity: float | None,
) -> Corrected:
    """Rogan-Gladen correction of a rate and its interval, when the judge's accuracy is known
    (:func:`thinksafe.metrics.agreement.correct_interval`)."""
    if sensitivity is None or specificity is None:
        return Corrected("unknown")
    if sensitivity + specificity <= 1.0:
        return Corrected("uninformative")
    if rate is None:
        return Corrected("corrected")
    fixed = correct_interval(rate, ci95, sensitivity, specificity)
    if fixed is None:
        return Corrected("uninformative")
    return Corrected("corrected", *fixed)


def accuracy_for(
    accuracy: Mapping[str, Any] | None, judge: str, channel: str
) -> tuple[float, float] | None:
    """(sensitivity, specificity) of ``judge`` on ``channel`` from a ``judge_accuracy`` mapping:
    ``{judge: {"sensitivity": .., "specificity": ..}}`` for every channel, or per channel
    ``{judge: {"answer": {...}, "reasoning": {...}, "either": {...}}}``."""
    entry = (accuracy or {}).get(judge)
    if not isinstance(entry, Mapping):
        return None
    if isinstance(entry.get(channel), Mapping):
        entry = entry[channel]
    elif "sensitivity" not in entry:
        return None
    se, sp = entry.get("sensitivity"), entry.get("specificity")
    if se is None or sp is None:
        return None
    try:
        se_f, sp_f = float(se), float(sp)
    except (TypeError, ValueError):
        raise DataError(
            f"judge_accuracy for {judge} must give numbers, got {se!r} and {sp!r}"
        ) from None
    if not (0.0 <= se_f <= 1.0 and 0.0 <= sp_f <= 1.0):
        raise DataError(f"judge_accuracy for {judge}: sensitivity and specificity lie in [0, 1]")
    return se_f, sp_f

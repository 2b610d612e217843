"""How harmful unsafe responses are: harm scores of unsafe answers and traces, their mean with a
seeded bootstrap interval, and the Mann-Whitney U test between two sets of scores.

A text counts when one judge (``unsafe_by``, the run's primary or the report judge) found that
channel unsafe and another (or the same) judge (``scorer``: ``harmfulness``, 1-10, or
``harmfulness-rm``, a reward model's harm score) gave it a score. Scores of different scorers
are never mixed. Non-scorable outcomes never enter: only texts judged unsafe are scored, and
``coverage`` says how many of them carry a score.

The test is plain Python (``math`` only), checked against scipy in the tests: exact when there
are no ties and one sample has at most 8 scores, else the normal approximation with the tie
correction and a continuity correction (scipy's ``method="auto"``).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from thinksafe.metrics.rates import round_float
from thinksafe.records import CHANNELS, AttemptResult, Channel, channel_outcome

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
EXACT_AT_MOST = 8
"""Mann-Whitney is exact when there are no ties and the smaller sample has at most this many."""

MWMethod = Literal["exact", "asymptotic"]


def unsafe_scores(
    results: Iterable[AttemptResult], scorer: str, unsafe_by: str, channel: Channel
) -> tuple[int, list[float]]:
    """How many ``channel`` texts ``unsafe_by`` judged unsafe, and ``scorer``'s scores of them
    (those it scored)."""
    unsafe = 0
    scores: list[float] = []
    for r in results:
        if channel_outcome(r, unsafe_by, channel) != "unsafe":
            continue
        unsafe += 1
        verdict = r.verdicts.get((scorer, channel))
        if verdict is not None and verdict.score is not None and math.isfinite(verdict.score):
            scores.append(float(verdict.score))
    return unsafe, scores


def scorers(results: Iterable[AttemptResult]) -> list[str]:
    """The judges whose verdicts in ``results`` carry a score, in order of first appearance."""
    found: dict[str, None] = {}
    for r in results:
        for (spec, _), verdict in r.verdicts.items():
            if verdict.score is not None:
                found.setdefault(spec, None)
    return list(found)


def bootstrap_mean_ci(
    scores: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """The percentile bootstrap 95% interval of the mean (``resamples`` resamples, seeded);
    None for fewer than two scores."""
    n = len(scores)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = _bootstrap_means(np.asarray(scores, dtype=np.float64), resamples, rng)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def _bootstrap_means(
    data: np.ndarray[Any, np.dtype[np.float64]], resamples: int, rng: np.random.Generator
) -> np.ndarray[Any, np.dtype[np.float64]]:
    n = len(data)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, min(resamples, 4_000_000 // n))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        picks = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = data[picks].mean(axis=1)
    return means


def bootstrap_difference_ci(
    first: Sequence[float],
    second: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """The percentile bootstrap 95% interval of ``mean(second) - mean(first)``, each sample
    resampled on its own (independent samples, seeded); None when either has fewer than two
    scores."""
    if len(first) < 2 or len(second) < 2:
        return None
    rng = np.random.default_rng(seed)
    a = _bootstrap_means(np.asarray(first, dtype=np.float64), resamples, rng)
    b = _bootstrap_means(np.asarray(second, dtype=np.float64), resamples, rng)
    low, high = np.quantile(b - a, [0.025, 0.975])
    return float(low), float(high)


def score_entry(unsafe: int, scores: Sequence[float]) -> dict[str, Any]:
    """One channel's harm scores: ``unsafe`` texts, ``n`` scored, ``coverage``, ``mean``,
    ``median``, ``ci95`` (bootstrap interval of the mean), ``min``, ``max``."""
    n = len(scores)
    ci = bootstrap_mean_ci(scores)
    return {
        "unsafe": unsafe,
        "n": n,
        "coverage": round_float(n / unsafe if unsafe else None),
        "mean": round_float(statistics.fmean(scores)) if n else None,
        "median": round_float(statistics.median(scores)) if n else None,
        "min": round_float(min(scores)) if n else None,
        "max": round_float(max(scores)) if n else None,
        "ci95": [round_float(ci[0]), round_float(ci[1])] if ci else None,
    }


def harm_scores_block(
    unsafe: Counter[str], scores: dict[str, list[float]], unsafe_by: str
) -> dict[str, Any] | None:
    """The summary's ``harm_scores`` of one judge: per channel, the scores it gave texts
    ``unsafe_by`` judged unsafe; None when it scored none."""
    if not any(scores.get(ch) for ch in CHANNELS):
        return None
    block: dict[str, Any] = {
        "unsafe_by": unsafe_by,
        "interval": "percentile bootstrap of the mean",
        "resamples": BOOTSTRAP_RESAMPLES,
        "seed": BOOTSTRAP_SEED,
    }
    for ch in CHANNELS:
        block[ch] = score_entry(unsafe[ch], scores.get(ch, [])) if unsafe[ch] else None
    return block


def number_text(value: float | None) -> str:
    """A score with three significant digits (whole thousands above 1,000); ``n/a``."""
    return "n/a" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def score_text(entry: Mapping[str, Any] | None) -> str:
    """``6.2 [5.1, 7.3]`` (the mean and its interval), or ``n/a``."""
    if not entry or entry.get("mean") is None:
        return "n/a"
    ci = entry.get("ci95")
    return number_text(entry["mean"]) + (
        f" [{number_text(ci[0])}, {number_text(ci[1])}]" if ci else ""
    )


def counts_text(entry: Mapping[str, Any] | None, scored: bool = True) -> str:
    """How many unsafe texts were scored, and their median."""
    if not scored:
        return "not scored by this judge"
    if not entry:
        return "none unsafe"
    median = "" if entry.get("median") is None else f", median {number_text(entry['median'])}"
    return f"{entry['n']}/{entry['unsafe']} scored{median}"


# -- Mann-Whitney U --------------------------------------------------------------------------


@dataclass(frozen=True)
class MannWhitney:
    """The two-sided Mann-Whitney U test of ``first`` against ``second``.

    ``u``: the U statistic of the first sample (scipy's); ``effect``: ``u / (n1 * n2)``, the
    chance that a score from the first exceeds one from the second (ties count half)."""

    n1: int
    n2: int
    u: float
    p_value: float
    method: MWMethod

    @property
    def effect(self) -> float:
        return self.u / (self.n1 * self.n2)

    @property
    def method_text(self) -> str:
        if self.method == "exact":
            return "exact"
        return "normal approximation, tie and continuity corrected"


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = average
        i = j + 1
    return ranks


def _u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) orderings give each U = 0..m*n (no ties): the coefficients
    of the Gaussian binomial coefficient [m+n choose m], built one factor at a time."""
    coeffs = [1]
    for i in range(1, m + 1):
        grown = coeffs + [0] * n
        # times (1 - q^(n+i)), then divided by (1 - q^i): each step is [n+i choose i]
        for k in range(len(grown) - 1, n + i - 1, -1):
            grown[k] -= grown[k - n - i]
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        coeffs = grown
    return coeffs


def mann_whitney(first: Sequence[float], second: Sequence[float]) -> MannWhitney | None:
    """The two-sided test (None when a sample is empty)."""
    n1, n2 = len(first), len(second)
    if not n1 or not n2:
        return None
    values = [*first, *second]
    ranks = _ranks(values)
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    ties = [t for t in Counter(values).values() if t > 1]
    if not ties and min(n1, n2) <= EXACT_AT_MOST:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        tail = sum(counts[round(u) :])
        p = 2 * tail / math.comb(n1 + n2, n1)
        return MannWhitney(n1, n2, u1, min(1.0, p), "exact")
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties)
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:  # every score equal: nothing tells the samples apart
        return MannWhitney(n1, n2, u1, 1.0, "asymptotic")
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    p = math.erfc(z / math.sqrt(2))  # twice the upper tail of the standard normal
    return MannWhitney(n1, n2, u1, min(1.0, p), "asymptotic")

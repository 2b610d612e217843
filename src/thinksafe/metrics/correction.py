"""Judge-corrected rates whose interval carries the judge's own uncertainty.

A rate measured through a judge is corrected by Rogan-Gladen,
``(p + sp - 1) / (se + sp - 1)`` clipped to [0, 1]
(:func:`thinksafe.metrics.agreement.rogan_gladen`). Mapping the rate's Wilson interval through
that formula treats ``se`` and ``sp`` as exact; when they were measured on a few hundred rows
they are not, and the corrected interval must widen.

:func:`bootstrap_correction` draws, many times, the three proportions the estimate rests on:
the run's apparent rate (``k`` unsafe of ``n`` scored) and the judge's sensitivity and
specificity (their counts in :class:`thinksafe.judges.accuracy.MeasuredAccuracy`). Each draw
comes from ``Beta(k + 1/2, n - k + 1/2)``, the Jeffreys distribution of a binomial share: a
parametric bootstrap that, unlike a plain binomial resample, keeps its spread at 0 of ``n`` and
``n`` of ``n``. Each draw is corrected; draws where ``se + sp <= 1`` (nothing can be recovered)
are left out and counted. The interval is the 2.5th and 97.5th percentiles of the corrected
draws, within [0, 1]. The generator is seeded, so a summary is reproducible to the digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from thinksafe.judges.accuracy import MeasuredAccuracy
from thinksafe.metrics.agreement import correct_interval, rogan_gladen
from thinksafe.metrics.rates import DIGITS, round_float, wilson_interval

RESAMPLES = 2000
"""Draws behind each judge-corrected interval."""

SEED = 20240601
"""Seed of the draws, so the same counts always give the same interval."""

INTERVAL_METHOD = "parametric-bootstrap"

CorrectionStatus = Literal["corrected", "uninformative", "no-data"]


@dataclass(frozen=True)
class BootstrapCorrection:
    """A judge-corrected rate.

    ``status``: ``corrected``; ``uninformative`` when the measured ``se + sp <= 1`` (the judge
    is no better than chance); ``no-data`` when the run scored nothing. ``ci95`` is the
    bootstrap interval (``None`` when fewer than half the draws were correctable);
    ``ci95_fixed_accuracy`` the Wilson interval mapped through the correction, as if the
    judge's accuracy were exact. ``defined`` counts the draws that could be corrected.
    """

    status: CorrectionStatus
    raw_rate: float | None
    rate: float | None
    ci95: tuple[float, float] | None
    ci95_fixed_accuracy: tuple[float, float] | None
    resamples: int
    defined: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        def interval(ci: tuple[float, float] | None) -> list[float] | None:
            return None if ci is None else [round(ci[0], DIGITS), round(ci[1], DIGITS)]

        return {
            "ci95": interval(self.ci95),
            "ci95_fixed_accuracy": interval(self.ci95_fixed_accuracy),
            "interval": {
                "method": INTERVAL_METHOD,
                "resamples": self.resamples,
                "resamples_defined": self.defined,
                "seed": self.seed,
            },
            "method": "rogan-gladen",
            "rate": round_float(self.rate),
            "raw_rate": round_float(self.raw_rate),
            "status": self.status,
        }


def bootstrap_correction(
    k: int,
    n: int,
    accuracy: MeasuredAccuracy,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> BootstrapCorrection:
    """The Rogan-Gladen correction of ``k`` unsafe of ``n`` scored, with a seeded parametric
    bootstrap interval over the run's counts and the judge's measured counts."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    se, sp = accuracy.sensitivity, accuracy.specificity
    if n == 0:
        return BootstrapCorrection("no-data", None, None, None, None, resamples, 0, seed)
    raw = k / n
    point = rogan_gladen(raw, se, sp)
    if point is None:
        return BootstrapCorrection("uninformative", raw, None, None, None, resamples, 0, seed)
    fixed = correct_interval(raw, wilson_interval(k, n), se, sp)
    fixed_ci = fixed[1] if fixed is not None else None

    import numpy as np

    rng = np.random.default_rng(seed)
    p = rng.beta(k + 0.5, n - k + 0.5, size=resamples)
    se_d = rng.beta(
        accuracy.sensitivity_k + 0.5,
        accuracy.sensitivity_n - accuracy.sensitivity_k + 0.5,
        size=resamples,
    )
    sp_d = rng.beta(
        accuracy.specificity_k + 0.5,
        accuracy.specificity_n - accuracy.specificity_k + 0.5,
        size=resamples,
    )
    youden = se_d + sp_d - 1.0
    ok = youden > 0.0
    corrected = np.clip((p[ok] + sp_d[ok] - 1.0) / youden[ok], 0.0, 1.0)
    defined = int(ok.sum())
    ci: tuple[float, float] | None = None
    if defined * 2 >= resamples:
        low, high = np.percentile(corrected, [2.5, 97.5])
        ci = (float(low), float(high))
    return BootstrapCorrection("corrected", raw, point, ci, fixed_ci, resamples, defined, seed)


def correct_rate_dict(
    rate: Mapping[str, Any],
    accuracy: MeasuredAccuracy,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, Any]:
    """:func:`bootstrap_correction` of a summary rate dict (``numerator`` over
    ``denominator``, as :meth:`thinksafe.metrics.rates.Rate.to_dict` writes them), JSON-able."""
    found = bootstrap_correction(
        int(rate.get("numerator") or 0),
        int(rate.get("denominator") or 0),
        accuracy,
        resamples=resamples,
        seed=seed,
    )
    return found.to_dict()

"""How well a judge agrees with human labels, and what a measured judge does to a rate.

The positive class is **unsafe** throughout: a true positive is an unsafe response the judge
called unsafe, a false positive a safe response it called unsafe. Everything here is a pure
function of a 2x2 confusion matrix (:class:`Confusion`):

- proportions (accuracy, precision, recall or sensitivity, specificity, negative predictive
  value, false-positive and false-negative rates) with Wilson 95% intervals;
- F1, Cohen's kappa and Matthews' correlation coefficient (MCC) with percentile-bootstrap 95%
  intervals: the table is resampled as a multinomial with the observed cell shares (the same
  as resampling rows), with a fixed seed so the figures are reproducible;
- the Rogan-Gladen correction of a rate measured through a judge whose sensitivity and
  specificity are known.

A metric whose formula divides by zero (precision when the judge never says unsafe, kappa or
MCC when a row or column of the table is empty) is ``None``: undefined, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from thinksafe.metrics.rates import DIGITS, round_float, wilson_interval

BOOTSTRAP_RESAMPLES = 2000
"""Resamples behind the bootstrap intervals of F1, kappa and MCC."""

BOOTSTRAP_SEED = 0
"""Seed of the bootstrap, so the same table always gives the same intervals."""

PROPORTION_METRICS: tuple[str, ...] = (
    "accuracy",
    "precision",
    "recall",
    "specificity",
    "npv",
    "fpr",
    "fnr",
)
"""Metrics that are a share of rows, given with a Wilson interval."""

BOOTSTRAP_METRICS: tuple[str, ...] = ("f1", "kappa", "mcc")
"""Metrics given with a percentile-bootstrap interval."""


@dataclass(frozen=True)
class Confusion:
    """A 2x2 confusion matrix of judge verdicts against human labels (positive = unsafe)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __post_init__(self) -> None:
        for name in ("tp", "fp", "fn", "tn"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"confusion cell {name} must be a count >= 0, got {value!r}")

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[bool, bool]]) -> Confusion:
        """From ``(truly unsafe, judged unsafe)`` pairs."""
        tp = fp = fn = tn = 0
        for truth, judged in pairs:
            if truth and judged:
                tp += 1
            elif judged:
                fp += 1
            elif truth:
                fn += 1
            else:
                tn += 1
        return cls(tp, fp, fn, tn)

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        """Rows people labelled unsafe."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        """Rows people labelled safe."""
        return self.fp + self.tn

    @property
    def predicted_positives(self) -> int:
        """Rows the judge called unsafe."""
        return self.tp + self.fp

    def to_dict(self) -> dict[str, int]:
        return {"fn": self.fn, "fp": self.fp, "tn": self.tn, "tp": self.tp}

    def matrix(self) -> list[list[int]]:
        """Rows: truth safe, truth unsafe; columns: judged safe, judged unsafe."""
        return [[self.tn, self.fp], [self.fn, self.tp]]


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# Each proportion as (numerator, denominator) of the table.
_PARTS: dict[str, Callable[[Confusion], tuple[int, int]]] = {
    "accuracy": lambda c: (c.tp + c.tn, c.n),
    "precision": lambda c: (c.tp, c.tp + c.fp),
    "recall": lambda c: (c.tp, c.tp + c.fn),
    "specificity": lambda c: (c.tn, c.tn + c.fp),
    "npv": lambda c: (c.tn, c.tn + c.fn),
    "fpr": lambda c: (c.fp, c.fp + c.tn),
    "fnr": lambda c: (c.fn, c.fn + c.tp),
}


def proportion_parts(metric: str, c: Confusion) -> tuple[int, int]:
    """``(numerator, denominator)`` of a proportion metric (see :data:`PROPORTION_METRICS`)."""
    try:
        return _PARTS[metric](c)
    except KeyError:
        raise ValueError(f"unknown proportion metric {metric!r}") from None


def accuracy(c: Confusion) -> float | None:
    return _ratio(*proportion_parts("accuracy", c))


def precision(c: Confusion) -> float | None:
    """Of the rows the judge called unsafe, the share people labelled unsafe."""
    return _ratio(*proportion_parts("precision", c))


def recall(c: Confusion) -> float | None:
    """Sensitivity: of the rows people labelled unsafe, the share the judge called unsafe."""
    return _ratio(*proportion_parts("recall", c))


def specificity(c: Confusion) -> float | None:
    """Of the rows people labelled safe, the share the judge called safe."""
    return _ratio(*proportion_parts("specificity", c))


def false_positive_rate(c: Confusion) -> float | None:
    return _ratio(*proportion_parts("fpr", c))


def false_negative_rate(c: Confusion) -> float | None:
    return _ratio(*proportion_parts("fnr", c))


def f1_score(c: Confusion) -> float | None:
    """Harmonic mean of precision and recall, ``2tp / (2tp + fp + fn)``."""
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)


def cohen_kappa(c: Confusion) -> float | None:
    """Cohen's kappa between judge and people.

    For a 2x2 table ``(po - pe) / (1 - pe)`` reduces to
    ``2 (tp tn - fp fn) / ((tp + fp)(fp + tn) + (tp + fn)(fn + tn))``, computed exactly in
    integers; ``None`` when the denominator is 0 (both raters used a single class).
    """
    denominator = (c.tp + c.fp) * (c.fp + c.tn) + (c.tp + c.fn) * (c.fn + c.tn)
    if denominator == 0:
        return None
    return 2 * (c.tp * c.tn - c.fp * c.fn) / denominator


def matthews_corrcoef(c: Confusion) -> float | None:
    """MCC, the Pearson correlation of the two binary labellings; ``None`` when a row or a
    column of the table is empty (it is undefined there)."""
    product = (c.tp + c.fp) * (c.tp + c.fn) * (c.tn + c.fp) * (c.tn + c.fn)
    if product == 0:
        return None
    return (c.tp * c.tn - c.fp * c.fn) / math.sqrt(float(product))


_POINT: dict[str, Callable[[Confusion], float | None]] = {
    "f1": f1_score,
    "kappa": cohen_kappa,
    "mcc": matthews_corrcoef,
}


def _vectorised(tp: Any, fp: Any, fn: Any, tn: Any) -> dict[str, Any]:
    """F1, kappa and MCC of many tables at once (NaN where undefined)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        f1_den = 2 * tp + fp + fn
        f1 = np.where(f1_den > 0, 2 * tp / np.where(f1_den > 0, f1_den, 1), np.nan)
        k_den = (tp + fp) * (fp + tn) + (tp + fn) * (fn + tn)
        kappa = np.where(k_den > 0, 2 * (tp * tn - fp * fn) / np.where(k_den > 0, k_den, 1), np.nan)
        m_den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
        mcc = np.where(
            m_den > 0, (tp * tn - fp * fn) / np.sqrt(np.where(m_den > 0, m_den, 1)), np.nan
        )
    return {"f1": f1, "kappa": kappa, "mcc": mcc}


def bootstrap_intervals(
    c: Confusion,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> dict[str, tuple[tuple[float, float] | None, int]]:
    """Percentile-bootstrap intervals of F1, kappa and MCC.

    Returns, per metric, the interval (``None`` when no resample defines the metric) and the
    number of resamples in which the metric was defined (a resample with an empty row or
    column leaves kappa and MCC undefined; those are left out of the percentiles).
    """
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    if c.n == 0:
        return {m: (None, 0) for m in BOOTSTRAP_METRICS}
    import numpy as np

    rng = np.random.default_rng(seed)
    shares = np.array([c.tp, c.fp, c.fn, c.tn], dtype=float) / c.n
    draws = rng.multinomial(c.n, shares, size=resamples).astype(float)
    values = _vectorised(draws[:, 0], draws[:, 1], draws[:, 2], draws[:, 3])
    tail = (1.0 - level) / 2.0 * 100.0
    out: dict[str, tuple[tuple[float, float] | None, int]] = {}
    for metric in BOOTSTRAP_METRICS:
        finite = values[metric][np.isfinite(values[metric])]
        if finite.size == 0:
            out[metric] = (None, 0)
            continue
        low, high = np.percentile(finite, [tail, 100.0 - tail])
        out[metric] = ((float(low), float(high)), int(finite.size))
    return out


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [round(ci[0], DIGITS), round(ci[1], DIGITS)]


def proportion_dict(numerator: int, denominator: int) -> dict[str, Any]:
    """A share with its Wilson 95% interval, JSON-able."""
    return {
        "ci95": _interval(wilson_interval(numerator, denominator)),
        "denominator": denominator,
        "method": "wilson",
        "numerator": numerator,
        "value": round_float(_ratio(numerator, denominator)),
    }


def agreement_metrics(
    c: Confusion,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Every metric of a table, JSON-able: the cells, the matrix, the proportions with Wilson
    intervals and F1, kappa and MCC with bootstrap intervals."""
    out: dict[str, Any] = {
        "confusion": c.to_dict(),
        "matrix": {"rows": "truth safe, unsafe", "columns": "judged safe, unsafe"},
        "n": c.n,
        "positives": c.positives,
        "negatives": c.negatives,
    }
    out["matrix"]["values"] = c.matrix()
    for metric in PROPORTION_METRICS:
        out[metric] = proportion_dict(*proportion_parts(metric, c))
    intervals = bootstrap_intervals(c, resamples=resamples, seed=seed)
    for metric in BOOTSTRAP_METRICS:
        ci, defined = intervals[metric]
        out[metric] = {
            "ci95": _interval(ci),
            "method": "bootstrap",
            "resamples": resamples,
            "resamples_defined": defined,
            "value": round_float(_POINT[metric](c)),
        }
    return {k: out[k] for k in sorted(out)}


# ---------------------------------------------------------------------------------------------
# Correcting a rate for a judge's measured errors
# ---------------------------------------------------------------------------------------------


def rogan_gladen(apparent: float, sensitivity: float, specificity: float) -> float | None:
    """The true rate behind ``apparent`` when the judge has the given sensitivity and
    specificity: ``(apparent + specificity - 1) / (sensitivity + specificity - 1)``, clipped
    to [0, 1]. ``None`` when ``sensitivity + specificity <= 1`` (the judge is no better than
    chance, so nothing can be recovered)."""
    for name, value in (
        ("apparent", apparent),
        ("sensitivity", sensitivity),
        ("specificity", specificity),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    youden = sensitivity + specificity - 1.0
    if youden <= 0.0:
        return None
    return min(1.0, max(0.0, (apparent + specificity - 1.0) / youden))


def correct_interval(
    rate: float,
    ci95: Sequence[float] | None,
    sensitivity: float,
    specificity: float,
) -> tuple[float, tuple[float, float] | None] | None:
    """The Rogan-Gladen correction of ``rate`` and of its interval (each bound mapped through
    the same correction, so it carries the sampling error of the rate, not the uncertainty in
    the judge's measured accuracy): ``(corrected rate, corrected interval or None)``, or
    ``None`` when the judge is no better than chance. Raises ``ValueError`` as
    :func:`rogan_gladen` does."""
    corrected = rogan_gladen(rate, sensitivity, specificity)
    if corrected is None:
        return None
    interval: tuple[float, float] | None = None
    if ci95 is not None:
        low = rogan_gladen(float(ci95[0]), sensitivity, specificity)
        high = rogan_gladen(float(ci95[1]), sensitivity, specificity)
        if low is not None and high is not None:
            interval = (low, high)
    return corrected, interval


def corrected_rate(
    rate: Mapping[str, Any], sensitivity: float, specificity: float
) -> dict[str, Any] | None:
    """The Rogan-Gladen correction of a summary rate dict (``rate`` and ``ci95`` keys, as
    :meth:`thinksafe.metrics.rates.Rate.to_dict` writes them; see :func:`correct_interval`).
    ``None`` when the rate is unknown or the judge no better than chance."""
    value = rate.get("rate")
    if value is None:
        return None
    fixed = correct_interval(float(value), rate.get("ci95"), sensitivity, specificity)
    if fixed is None:
        return None
    corrected, interval = fixed
    return {
        "ci95": _interval(interval),
        "method": "rogan-gladen",
        "rate": round_float(corrected),
        "raw_rate": round_float(float(value)),
        "sensitivity": round_float(sensitivity),
        "specificity": round_float(specificity),
    }

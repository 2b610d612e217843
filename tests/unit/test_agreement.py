"""Agreement metrics on fixed confusion matrices, checked against hand computation and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thinksafe.metrics.agreement import (
    Confusion,
    accuracy,
    agreement_metrics,
    bootstrap_intervals,
    cohen_kappa,
    corrected_rate,
    f1_score,
    false_negative_rate,
    false_positive_rate,
    matthews_corrcoef,
    precision,
    recall,
    rogan_gladen,
    specificity,
)

# tp, fp, fn, tn: 60 unsafe rows (40 caught), 140 safe rows (10 flagged).
TABLE = Confusion(tp=40, fp=10, fn=20, tn=130)


def expand(c: Confusion) -> tuple[np.ndarray, np.ndarray]:
    """Row-level truth and prediction vectors (1 = unsafe) for a table."""
    truth = [1] * c.tp + [0] * c.fp + [1] * c.fn + [0] * c.tn
    pred = [1] * c.tp + [1] * c.fp + [0] * c.fn + [0] * c.tn
    return np.array(truth), np.array(pred)


def test_proportions_by_hand() -> None:
    assert TABLE.n == 200
    assert TABLE.positives == 60 and TABLE.negatives == 140
    assert accuracy(TABLE) == pytest.approx(170 / 200)
    assert precision(TABLE) == pytest.approx(40 / 50)
    assert recall(TABLE) == pytest.approx(40 / 60)
    assert specificity(TABLE) == pytest.approx(130 / 140)
    assert false_positive_rate(TABLE) == pytest.approx(10 / 140)
    assert false_negative_rate(TABLE) == pytest.approx(20 / 60)


def test_f1_kappa_mcc_by_hand() -> None:
    # F1: harmonic mean of precision 0.8 and recall 2/3.
    p, r = 0.8, 2 / 3
    assert f1_score(TABLE) == pytest.approx(2 * p * r / (p + r))
    assert f1_score(TABLE) == pytest.approx(80 / 110)
    # kappa: observed agreement 0.85, chance agreement 0.25*0.30 + 0.75*0.70 = 0.60.
    assert cohen_kappa(TABLE) == pytest.approx((0.85 - 0.60) / (1 - 0.60))
    assert cohen_kappa(TABLE) == pytest.approx(0.625)
    # MCC: (tp tn - fp fn) / sqrt(50 * 60 * 140 * 150) = 5000 / sqrt(63e6).
    assert matthews_corrcoef(TABLE) == pytest.approx(5000 / math.sqrt(63_000_000))


def test_mcc_is_pearson_of_the_binary_vectors() -> None:
    for table in (TABLE, Confusion(3, 1, 1, 5), Confusion(7, 13, 2, 1)):
        truth, pred = expand(table)
        r = stats.pearsonr(truth, pred).statistic
        assert matthews_corrcoef(table) == pytest.approx(float(r))


def test_kappa_matches_statsmodels_when_installed() -> None:
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    for table in (TABLE, Confusion(3, 1, 1, 5), Confusion(0, 4, 9, 30)):
        result = inter_rater.cohens_kappa(np.array(table.matrix()))
        assert cohen_kappa(table) == pytest.approx(float(result.kappa))


def test_wilson_intervals_match_scipy() -> None:
    metrics = agreement_metrics(TABLE, resamples=50)
    for name, (k, n) in {
        "accuracy": (170, 200),
        "precision": (40, 50),
        "recall": (40, 60),
        "specificity": (130, 140),
        "fpr": (10, 140),
        "fnr": (20, 60),
    }.items():
        entry = metrics[name]
        assert (entry["numerator"], entry["denominator"]) == (k, n)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert entry["ci95"] == pytest.approx([ci.low, ci.high], abs=1e-6)
        assert entry["method"] == "wilson"


def test_undefined_metrics_are_none_not_zero() -> None:
    never_unsafe = Confusion(tp=0, fp=0, fn=5, tn=95)
    assert precision(never_unsafe) is None
    assert f1_score(never_unsafe) == 0.0
    assert cohen_kappa(never_unsafe) == 0.0  # chance agreement: kappa 0, defined
    assert matthews_corrcoef(never_unsafe) is None  # a column is empty
    all_safe = Confusion(tp=0, fp=0, fn=0, tn=10)
    assert cohen_kappa(all_safe) is None
    assert recall(all_safe) is None
    assert f1_score(all_safe) is None
    assert accuracy(Confusion()) is None
    metrics = agreement_metrics(Confusion())
    assert metrics["kappa"]["value"] is None and metrics["kappa"]["ci95"] is None


def test_perfect_and_inverted_judges() -> None:
    perfect = Confusion(tp=7, fp=0, fn=0, tn=13)
    assert cohen_kappa(perfect) == 1.0
    assert matthews_corrcoef(perfect) == 1.0
    assert f1_score(perfect) == 1.0
    inverted = Confusion(tp=0, fp=13, fn=7, tn=0)
    assert matthews_corrcoef(inverted) == -1.0
    assert cohen_kappa(inverted) is not None and cohen_kappa(inverted) < 0


def test_from_pairs_and_addition() -> None:
    pairs = [(True, True)] * 3 + [(False, True)] + [(True, False)] * 2 + [(False, False)] * 4
    c = Confusion.from_pairs(pairs)
    assert c == Confusion(3, 1, 2, 4)
    assert c + c == Confusion(6, 2, 4, 8)
    assert c.matrix() == [[4, 1], [2, 3]]
    with pytest.raises(ValueError):
        Confusion(tp=-1)


def test_bootstrap_is_seeded_and_covers_the_estimate() -> None:
    a = bootstrap_intervals(TABLE, resamples=500, seed=3)
    b = bootstrap_intervals(TABLE, resamples=500, seed=3)
    c = bootstrap_intervals(TABLE, resamples=500, seed=4)
    assert a == b
    assert a != c
    for metric, point in (
        ("kappa", cohen_kappa(TABLE)),
        ("mcc", matthews_corrcoef(TABLE)),
        ("f1", f1_score(TABLE)),
    ):
        ci, defined = a[metric]
        assert ci is not None and defined == 500
        assert point is not None and ci[0] < point < ci[1]
    # The analytic large-sample standard error of kappa (0.0617 per statsmodels for this
    # table) puts the 95% interval near +-0.12; the bootstrap agrees to a few hundredths.
    low, high = a["kappa"][0]  # type: ignore[misc]
    assert high - low == pytest.approx(2 * 1.96 * 0.0617, abs=0.04)


def test_agreement_metrics_shape() -> None:
    m = agreement_metrics(TABLE, resamples=100)
    assert m["confusion"] == {"tp": 40, "fp": 10, "fn": 20, "tn": 130}
    assert m["matrix"]["values"] == [[130, 10], [20, 40]]
    assert m["kappa"]["value"] == pytest.approx(0.625)
    assert m["kappa"]["method"] == "bootstrap"
    assert m["kappa"]["resamples"] == 100
    assert list(m) == sorted(m)


def test_rogan_gladen() -> None:
    # A judge with sensitivity 0.9 and specificity 0.95 sees 0.9 * 0.2 + 0.05 * 0.8 = 0.22.
    assert rogan_gladen(0.22, 0.9, 0.95) == pytest.approx(0.2)
    assert rogan_gladen(0.01, 0.9, 0.95) == 0.0  # clipped
    assert rogan_gladen(0.99, 0.9, 0.95) == 1.0
    assert rogan_gladen(0.3, 0.5, 0.5) is None  # no better than chance
    with pytest.raises(ValueError):
        rogan_gladen(1.2, 0.9, 0.9)


def test_corrected_rate_maps_the_interval() -> None:
    raw = {"rate": 0.22, "ci95": [0.15, 0.30]}
    c = corrected_rate(raw, 0.9, 0.95)
    assert c is not None
    assert c["rate"] == pytest.approx(0.2)
    assert c["ci95"] == pytest.approx([0.1 / 0.85, 0.25 / 0.85], abs=1e-6)
    assert c["raw_rate"] == 0.22
    assert corrected_rate({"rate": None, "ci95": None}, 0.9, 0.95) is None
    assert corrected_rate(raw, 0.4, 0.5) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))
def test_metrics_agree_with_row_level_definitions(tp: int, fp: int, fn: int, tn: int) -> None:
    c = Confusion(tp, fp, fn, tn)
    truth, pred = expand(c)
    if c.n:
        assert accuracy(c) == pytest.approx(float(np.mean(truth == pred)))
    kappa = cohen_kappa(c)
    if kappa is not None:
        po = float(np.mean(truth == pred))
        pe = float(np.mean(truth) * np.mean(pred) + np.mean(1 - truth) * np.mean(1 - pred))
        assert kappa == pytest.approx((po - pe) / (1 - pe))
    mcc = matthews_corrcoef(c)
    if mcc is not None:
        assert -1.0 - 1e-9 <= mcc <= 1.0 + 1e-9
        assert mcc == pytest.approx(float(np.corrcoef(truth, pred)[0, 1]))

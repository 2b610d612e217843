"""Paired statistics checked against statsmodels and published values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from thinksafe.metrics.agreement import rogan_gladen
from thinksafe.metrics.paired import (
    EXACT_BELOW,
    PairedTable,
    binomial_two_sided_half,
    chi2_sf_1df,
    correct_rate,
    holm,
    mcnemar,
    newcombe_independent,
    newcombe_paired,
)


def statsmodels_stats() -> tuple[Any, Any, Any]:
    """(contingency_tables, multitest, proportion) from statsmodels, or skip (dev extra)."""
    pytest.importorskip("statsmodels")
    from statsmodels.stats import contingency_tables, multitest, proportion

    return contingency_tables, multitest, proportion


# (both, first only, second only, neither)
TABLES = [
    (10, 3, 12, 5),
    (40, 0, 7, 20),
    (5, 9, 9, 5),
    (0, 1, 0, 0),
    (100, 30, 12, 50),
    (3, 45, 20, 900),
    (0, 0, 0, 10),
    (12, 24, 25, 0),
]


@pytest.mark.parametrize("table", TABLES)
def test_mcnemar_exact_matches_statsmodels(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    tables, _, _ = statsmodels_stats()
    ours = mcnemar(b, c, exact=True)
    theirs = tables.mcnemar([[a, b], [c, d]], exact=True)
    assert ours.method == "exact"
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("table", [t for t in TABLES if t[1] != t[2]])
def test_mcnemar_corrected_chi2_matches_statsmodels(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    tables, _, _ = statsmodels_stats()
    ours = mcnemar(b, c, exact=False)
    theirs = tables.mcnemar([[a, b], [c, d]], exact=False, correction=True)
    assert ours.method == "chi2-cc"
    assert ours.statistic == pytest.approx(float(theirs.statistic), rel=1e-12)
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9)


def test_mcnemar_chooses_by_discordant_count() -> None:
    assert mcnemar(3, EXACT_BELOW - 4).method == "exact"
    assert mcnemar(3, EXACT_BELOW - 3).method == "chi2-cc"
    assert mcnemar(0, 0).p_value == 1.0
    assert mcnemar(0, 0, exact=False).p_value == 1.0
    # Equal discordant counts: no evidence at all, not a spurious one.
    assert mcnemar(30, 30).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar(-1, 3)


def test_exact_binomial_large_n_and_symmetry() -> None:
    assert binomial_two_sided_half(0, 1) == 1.0
    assert binomial_two_sided_half(0, 10) == pytest.approx(2 / 1024)
    assert binomial_two_sided_half(3, 10) == binomial_two_sided_half(7, 10)
    # Exact integer arithmetic copes with counts far past float's comfort.
    assert 0.0 <= binomial_two_sided_half(400, 1000) < 1e-9
    assert chi2_sf_1df(3.841458820694124) == pytest.approx(0.05, rel=1e-9)


@pytest.mark.parametrize(
    "pvalues",
    [
        [0.01, 0.04, 0.03, 0.005],
        [0.5, 0.2, 0.001, 0.049, 0.051, 0.9],
        [0.02, 0.02, 0.02],
        [1.0],
        [0.0, 0.3, 0.3, 0.7, 0.01],
    ],
)
def test_holm_matches_statsmodels(pvalues: list[float]) -> None:
    _, multitest, _ = statsmodels_stats()
    ours = holm(pvalues)
    _, theirs, _, _ = multitest.multipletests(pvalues, method="holm")
    assert ours == pytest.approx(list(theirs), rel=1e-12, abs=1e-15)


def test_holm_edge_cases() -> None:
    assert holm([]) == []
    with pytest.raises(ValueError):
        holm([0.5, 1.5])
    with pytest.raises(ValueError):
        holm([math.nan])


def test_newcombe_independent_published_example() -> None:
    # Newcombe (1998), 56/70 against 48/80: difference 0.2, 95% CI 0.0524 to 0.3339.
    d = newcombe_independent(48, 80, 56, 70)
    assert d.method == "independent"
    assert d.estimate == pytest.approx(0.2)
    assert d.ci95 is not None
    assert d.ci95[0] == pytest.approx(0.0524, abs=5e-5)
    assert d.ci95[1] == pytest.approx(0.3339, abs=5e-5)


@pytest.mark.parametrize("counts", [(48, 80, 56, 70), (0, 20, 5, 20), (9, 10, 1, 12), (3, 3, 0, 4)])
def test_newcombe_independent_matches_statsmodels(counts: tuple[int, int, int, int]) -> None:
    k1, n1, k2, n2 = counts
    _, _, proportion = statsmodels_stats()
    d = newcombe_independent(k1, n1, k2, n2)
    low, high = proportion.confint_proportions_2indep(k2, n2, k1, n1, method="newcomb")
    assert d.ci95 == pytest.approx((float(low), float(high)), abs=1e-10)


def test_newcombe_independent_needs_items() -> None:
    d = newcombe_independent(0, 0, 3, 10)
    assert d.estimate is None and d.ci95 is None


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [
        # Newcombe (1998), paired data, method 10: published limits for first - second.
        ((36, 12, 2, 0), 0.0569, 0.3404),
        ((18, 12, 2, 18), 0.0562, 0.3290),
        ((53, 0, 0, 1), -0.0729, 0.0729),
    ],
)
def test_newcombe_paired_published_examples(
    table: tuple[int, int, int, int], low: float, high: float
) -> None:
    d = newcombe_paired(PairedTable(*table))
    assert d.method == "paired"
    assert d.ci95 is not None and d.estimate is not None
    # Our difference is second - first: the published interval, negated.
    assert -d.estimate == pytest.approx((table[1] - table[2]) / sum(table))
    assert -d.ci95[1] == pytest.approx(low, abs=5e-5)
    assert -d.ci95[0] == pytest.approx(high, abs=5e-5)


def test_newcombe_paired_hand_computed() -> None:
    # With phi = 0 (no concordant positives or negatives), the paired interval combines the
    # two Wilson intervals exactly as the independent one does.
    table = PairedTable(0, 4, 6, 0)
    from thinksafe.metrics.rates import wilson_interval

    l1, u1 = wilson_interval(4, 10)  # type: ignore[misc]
    l2, u2 = wilson_interval(6, 10)  # type: ignore[misc]
    # a*d - b*c = -24 < 0, so phi = -24 / sqrt(4*6*6*4) = -1.
    phi = -1.0
    d1 = math.sqrt((0.4 - l1) ** 2 - 2 * phi * (0.4 - l1) * (u2 - 0.6) + (u2 - 0.6) ** 2)
    e1 = math.sqrt((u1 - 0.4) ** 2 - 2 * phi * (u1 - 0.4) * (0.6 - l2) + (0.6 - l2) ** 2)
    d = newcombe_paired(table)
    assert d.estimate == pytest.approx(0.2)
    assert d.ci95 == pytest.approx((0.2 - e1, 0.2 + d1))
    assert newcombe_paired(PairedTable(0, 0, 0, 0)).ci95 is None


def test_paired_table_counts() -> None:
    t = PairedTable(both=3, first_only=5, second_only=1, neither=11)
    assert (t.n, t.first_positive, t.second_positive) == (20, 8, 4)
    assert t.mcnemar().b == 5 and t.mcnemar().c == 1


def test_rogan_gladen() -> None:
    assert rogan_gladen(0.3, 0.9, 0.95) == pytest.approx((0.3 + 0.95 - 1) / (0.9 + 0.95 - 1))
    assert rogan_gladen(0.01, 0.9, 0.95) == 0.0  # clipped below
    assert rogan_gladen(0.99, 0.8, 0.99) == 1.0  # clipped above
    assert rogan_gladen(0.3, 0.5, 0.5) is None  # no better than chance
    with pytest.raises(ValueError):
        rogan_gladen(1.2, 0.9, 0.9)


def test_correct_rate_statuses() -> None:
    assert correct_rate(0.3, (0.2, 0.4), None, 0.9).status == "unknown"
    assert correct_rate(0.3, (0.2, 0.4), 0.4, 0.5).status == "uninformative"
    fixed = correct_rate(0.3, (0.2, 0.4), 0.9, 0.95)
    assert fixed.status == "corrected"
    assert fixed.rate == pytest.approx(0.25 / 0.85)
    assert fixed.ci95 == pytest.approx((0.15 / 0.85, 0.35 / 0.85))


def test_correct_rate_and_corrected_rate_agree() -> None:
    from thinksafe.metrics.agreement import corrected_rate

    for rate, ci in ((0.3, (0.2, 0.4)), (0.02, (0.0, 0.07)), (0.97, (0.9, 1.0)), (0.5, None)):
        fixed = correct_rate(rate, ci, 0.85, 0.9)
        summary = corrected_rate({"rate": rate, "ci95": ci}, 0.85, 0.9)
        assert summary is not None and fixed.rate is not None
        assert summary["rate"] == round(fixed.rate, 6)
        expected_ci = None if fixed.ci95 is None else [round(b, 6) for b in fixed.ci95]
        assert summary["ci95"] == expected_ci


def test_accuracy_for_reads_both_shapes() -> None:
    from thinksafe.errors import DataError
    from thinksafe.metrics.paired import accuracy_for

    flat = {"rules": {"sensitivity": 0.9, "specificity": 0.8}}
    assert accuracy_for(flat, "rules", "answer") == (0.9, 0.8)
    assert accuracy_for(flat, "rules", "either") == (0.9, 0.8)
    assert accuracy_for(flat, "other", "answer") is None
    assert accuracy_for(None, "rules", "answer") is None
    per_channel = {"j": {"answer": {"sensitivity": 0.7, "specificity": 0.95}}}
    assert accuracy_for(per_channel, "j", "answer") == (0.7, 0.95)
    assert accuracy_for(per_channel, "j", "reasoning") is None
    with pytest.raises(DataError):
        accuracy_for({"j": {"sensitivity": "high", "specificity": 0.9}}, "j", "answer")
    with pytest.raises(DataError):
        accuracy_for({"j": {"sensitivity": 1.5, "specificity": 0.9}}, "j", "answer")

"""Rates and Wilson intervals."""

from __future__ import annotations

import json
import math

import pytest

from thinksafe.metrics import Rate, rate_from_outcomes, wilson_interval
from thinksafe.records import OUTCOMES

scipy_stats = pytest.importorskip("scipy.stats")

GRID = [
    (k, n)
    for n in (1, 2, 3, 5, 7, 10, 20, 33, 50, 100, 250, 1000, 12345)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
    if 0 <= k <= n
]


@pytest.mark.parametrize(("k", "n"), GRID)
def test_wilson_matches_scipy(k: int, n: int) -> None:
    expected = scipy_stats.binomtest(k, n).proportion_ci(method="wilson")
    got = wilson_interval(k, n)
    assert got is not None
    assert got[0] == pytest.approx(float(expected.low), abs=1e-12)
    assert got[1] == pytest.approx(float(expected.high), abs=1e-12)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10) or (math.nan, math.nan)
    assert low == 0.0 and 0.0 < high < 1.0
    low, high = wilson_interval(10, 10) or (math.nan, math.nan)
    assert 0.0 < low < 1.0 and high == 1.0
    # A wider z gives a wider interval around the same point.
    narrow = wilson_interval(3, 10) or (0.0, 0.0)
    wide = wilson_interval(3, 10, z=2.575829) or (0.0, 0.0)
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_rejects_bad_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n)


def test_rate_counts_only_scorable_outcomes() -> None:
    outcomes = [
        "unsafe",
        "unsafe",
        "safe",
        "error",
        "blocked",
        "empty",
        "truncated",
        "unscorable",
        "unjudged",
        "absent",
        "no_artifact",
    ]
    rate = rate_from_outcomes(outcomes)  # type: ignore[arg-type]
    assert rate.numerator == 2
    assert rate.denominator == 3
    assert rate.total == 11
    assert rate.rate == pytest.approx(2 / 3)
    assert rate.coverage == pytest.approx(3 / 11)
    assert rate.ci95 == wilson_interval(2, 3)
    assert rate.outcomes == {o: (2 if o == "unsafe" else 1) for o in OUTCOMES}


def test_rate_with_nothing_scorable_is_not_safe() -> None:
    rate = rate_from_outcomes(["error", "blocked", "unscorable", "truncated"])
    assert (rate.numerator, rate.denominator, rate.total) == (0, 0, 4)
    assert rate.rate is None and rate.ci95 is None
    assert rate.coverage == 0.0
    assert "safe" not in rate.outcomes


def test_rate_with_no_items() -> None:
    rate = rate_from_outcomes([])
    assert rate == Rate(0, 0, 0, None, None, None, {})
    assert rate.to_dict() == {
        "ci95": None,
        "coverage": None,
        "denominator": 0,
        "numerator": 0,
        "outcomes": {},
        "rate": None,
        "total": 0,
    }


def test_positive_safe() -> None:
    rate = rate_from_outcomes(["safe", "safe", "unsafe", "error"], positive="safe")
    assert (rate.numerator, rate.denominator, rate.total) == (2, 3, 4)
    with pytest.raises(ValueError):
        rate_from_outcomes(["safe"], positive="error")


def test_to_dict_is_json_and_rounded() -> None:
    rate = rate_from_outcomes(["unsafe", "safe", "safe", "blocked"])
    d = rate.to_dict()
    assert list(d) == sorted(d)
    assert d["rate"] == round(1 / 3, 6)
    assert d["coverage"] == 0.75
    assert isinstance(d["ci95"], list) and len(d["ci95"]) == 2
    assert d["outcomes"] == {"blocked": 1, "safe": 2, "unsafe": 1}
    assert json.loads(json.dumps(d)) == d


def test_from_counts_validates() -> None:
    with pytest.raises(ValueError):
        Rate.from_counts(3, 2, 5)
    with pytest.raises(ValueError):
        Rate.from_counts(1, 6, 5)
    rate = Rate.from_counts(1, 4, 8, {"x": 0, "unsafe": 1})
    assert rate.outcomes == {"unsafe": 1}
    assert rate.coverage == 0.5

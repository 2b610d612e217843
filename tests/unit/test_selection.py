"""Choosing samples: split and category filters, stratified sampling, limit, and the recorded
description of the choice."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinksafe.errors import ConfigError
from thinksafe.records import Sample, messages_from
from thinksafe.suites.selection import allocate, select, stratified_sample


def make(category: str, n: int, *, area: str = "other", split: str | None = None) -> list[Sample]:
    meta = {"split": split} if split else {}
    return [
        Sample(
            id=f"{category}-{i}",
            suite="t",
            messages=messages_from(f"prompt {category} {i}"),
            category=category,
            harm_area=area,
            expected="refuse",
            meta=meta,
        )
        for i in range(n)
    ]


@pytest.fixture
def suite() -> list[Sample]:
    # Interleave the categories so that "suite order" differs from grouping by category.
    groups = [make("alpha", 50, area="fraud"), make("beta", 30, area="cyber"), make("gamma", 20)]
    out: list[Sample] = []
    for i in range(50):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def test_sample_is_proportional_to_category_sizes(suite: list[Sample]) -> None:
    chosen, desc = select(suite, sample=10, seed=1)
    assert Counter(s.category for s in chosen) == {"alpha": 5, "beta": 3, "gamma": 2}
    assert desc["per_category"] == {"alpha": 5, "beta": 3, "gamma": 2}
    assert desc["stratified_by"] == "category" and desc["seed"] == 1


def test_sample_keeps_suite_order_and_is_deterministic(suite: list[Sample]) -> None:
    a, da = select(suite, sample=17, seed=7)
    b, db = select(suite, sample=17, seed=7)
    assert [s.id for s in a] == [s.id for s in b]
    assert da == db
    order = {s.id: i for i, s in enumerate(suite)}
    assert [order[s.id] for s in a] == sorted(order[s.id] for s in a)
    others = {tuple(s.id for s in select(suite, sample=17, seed=seed)[0]) for seed in range(8)}
    assert len(others) > 1  # the seed matters


def test_a_category_draw_depends_only_on_seed_and_category(suite: list[Sample]) -> None:
    gammas = [s for s in suite if s.category == "gamma"]
    alone = stratified_sample(gammas, 2, seed=3)
    mixed = [s for s in stratified_sample(suite, 10, seed=3) if s.category == "gamma"]
    assert [s.id for s in alone] == [s.id for s in mixed]


def test_small_categories_get_at_least_one() -> None:
    samples = make("big", 97) + make("small", 2) + make("tiny", 1)
    chosen, _ = select(samples, sample=5, seed=0)
    counts = Counter(s.category for s in chosen)
    assert counts == {"big": 3, "small": 1, "tiny": 1}


def test_fewer_draws_than_categories_pick_distinct_categories() -> None:
    samples = [s for c in "abcde" for s in make(c, 4)]
    chosen, _ = select(samples, sample=2, seed=5)
    assert len(chosen) == 2 and len({s.category for s in chosen}) == 2


def test_sample_larger_than_suite_takes_all(suite: list[Sample]) -> None:
    chosen, desc = select(suite, sample=1000)
    assert chosen == suite and desc["selected"] == 100


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3), st.integers(1, 40), min_size=1, max_size=8
    ),
    data=st.data(),
)
def test_allocation_properties(sizes: dict[str, int], data: st.DataObject) -> None:
    total = sum(sizes.values())
    if total < 2:
        return
    n = data.draw(st.integers(1, total - 1))
    seed = data.draw(st.integers(0, 10))
    alloc = allocate(sizes, n, seed)
    assert sum(alloc.values()) == n
    assert all(0 < k <= sizes[c] for c, k in alloc.items())
    if n >= len(sizes):
        assert set(alloc) == set(sizes)
    assert allocate(sizes, n, seed) == alloc


def test_category_filter_matches_category_or_harm_area(suite: list[Sample]) -> None:
    chosen, desc = select(suite, categories=["BETA"])
    assert {s.category for s in chosen} == {"beta"} and desc["matched"] == 30
    chosen, _ = select(suite, categories=["fraud", "gamma"])
    assert Counter(s.category for s in chosen) == {"alpha": 50, "gamma": 20}
    chosen, _ = select(make("x", 3, area="self_harm"), categories=["Self-Harm"])
    assert len(chosen) == 3


def test_unknown_category_lists_what_exists(suite: list[Sample]) -> None:
    with pytest.raises(
        ConfigError,
        match=r"--category 'weapons' matches no sample; categories:"
        r" alpha, beta, gamma; harm areas: cyber, fraud, other",
    ):
        select(suite, categories=["weapons"])


def test_split_filter() -> None:
    samples = make("a", 3, split="val") + make("b", 5, split="test")
    chosen, desc = select(samples, split="val")
    assert [s.id for s in chosen] == ["a-0", "a-1", "a-2"] and desc["split"] == "val"
    with pytest.raises(ConfigError, match="no such split; this suite has test, val"):
        select(samples, split="dev")
    with pytest.raises(ConfigError, match="record no split"):
        select(make("a", 3), split="val")


def test_order_split_category_sample_limit() -> None:
    samples = make("a", 10, split="test") + make("b", 10, split="test") + make("c", 5, split="val")
    chosen, desc = select(samples, split="test", categories=["a", "b"], sample=6, seed=2, limit=4)
    assert len(chosen) == 4 and {s.category for s in chosen} <= {"a", "b"}
    assert (desc["total"], desc["matched"], desc["sample"], desc["limit"]) == (25, 20, 6, 4)
    json.dumps(desc)  # JSON-able
    assert len(desc["ids_sha256"]) == 64


def test_limit_alone_takes_the_first(suite: list[Sample]) -> None:
    chosen, desc = select(suite, limit=3)
    assert chosen == suite[:3] and desc["seed"] is None and desc["stratified_by"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"limit": 0}, "--limit"), ({"sample": -1}, "--sample")]
)
def test_bad_numbers(suite: list[Sample], kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        select(suite, **kwargs)  # type: ignore[arg-type]

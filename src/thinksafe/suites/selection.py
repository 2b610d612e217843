"""Choosing which samples of a suite to run: ``--split``, ``--category``, ``--sample``, ``--limit``.

:func:`select` applies them in that order and returns the samples with a JSON-able description
of the choice, which the run records so that the same selection can be made again.

``--sample N --seed S`` draws a stratified random sample: each category gets a share of ``N``
proportional to its size (largest remainders), and at least one sample when ``N`` is at least
the number of categories (with fewer, ``N`` categories are drawn with chances proportional to
their size, one sample each). Which samples a category gives depends only on the seed and the
category, and the result keeps the suite's order, so the same ``N`` and ``S`` always select the
same samples.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from thinksafe.errors import ConfigError
from thinksafe.records import Sample
from thinksafe.suites.base import normalise_harm_area

SCHEMA_VERSION = 1


def _listing(names: Iterable[str], limit: int = 12) -> str:
    names = sorted(set(names))
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def filter_split(samples: Sequence[Sample], split: str) -> list[Sample]:
    """The samples whose ``meta.split`` is ``split``."""
    present = {str(s.meta["split"]) for s in samples if s.meta.get("split") not in (None, "")}
    if not present:
        raise ConfigError(
            f"--split {split}: the samples of this suite record no split; drop --split or load"
            " a suite that has splits (e.g. harmbench from a folder holding its val/test files)"
        )
    chosen = [s for s in samples if str(s.meta.get("split", "")) == split]
    if not chosen:
        raise ConfigError(f"--split {split}: no such split; this suite has {_listing(present)}")
    return chosen


def filter_categories(samples: Sequence[Sample], names: Sequence[str]) -> list[Sample]:
    """The samples whose category or harm area is one of ``names`` (case is ignored)."""
    wanted_categories = {n.strip().casefold() for n in names}
    wanted_areas = {a for n in names if (a := normalise_harm_area(n)) is not None}
    for name in names:
        key = name.strip().casefold()
        area = normalise_harm_area(name)
        if not any(s.category.casefold() == key or s.harm_area == area for s in samples):
            raise ConfigError(
                f"--category {name!r} matches no sample; categories:"
                f" {_listing(s.category for s in samples)}; harm areas:"
                f" {_listing(s.harm_area for s in samples)}"
            )
    return [
        s
        for s in samples
        if s.category.casefold() in wanted_categories or s.harm_area in wanted_areas
    ]


def allocate(sizes: Mapping[str, int], n: int, seed: int) -> dict[str, int]:
    """How many samples each category gives to a stratified sample of ``n`` (``n`` is less than
    the total): proportional, largest remainders, at least one each when ``n`` allows."""
    total = sum(sizes.values())
    cats = sorted(sizes)
    if n < len(cats):
        rng = random.Random(f"{seed}:categories")
        # Weighted sampling without replacement: the n largest keys u ** (1 / size).
        keys = {c: rng.random() ** (1.0 / sizes[c]) for c in cats}
        return {c: 1 for c in sorted(cats, key=lambda c: (-keys[c], c))[:n]}
    quota = {c: n * sizes[c] / total for c in cats}
    alloc = {c: min(sizes[c], max(1, math.floor(quota[c]))) for c in cats}
    while sum(alloc.values()) > n:
        c = max((c for c in cats if alloc[c] > 1), key=lambda c: (alloc[c] - quota[c], c))
        alloc[c] -= 1
    while sum(alloc.values()) < n:
        c = max((c for c in cats if alloc[c] < sizes[c]), key=lambda c: (quota[c] - alloc[c], c))
        alloc[c] += 1
    return alloc


def stratified_sample(samples: Sequence[Sample], n: int, seed: int) -> list[Sample]:
    """A stratified random sample of ``n`` samples by category, in the suite's order."""
    if n >= len(samples):
        return list(samples)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s.category, []).append(i)
    alloc = allocate({c: len(g) for c, g in groups.items()}, n, seed)
    chosen: list[int] = []
    for category, k in alloc.items():
        rng = random.Random(f"{seed}:{category}")
        chosen.extend(rng.sample(groups[category], k))
    return [samples[i] for i in sorted(chosen)]


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")


def select(
    samples: Iterable[Sample],
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    categories: Sequence[str] = (),
    split: str | None = None,
) -> tuple[list[Sample], dict[str, Any]]:
    """The samples to run and a JSON-able description of how they were chosen.

    Order: ``split`` (``meta.split``), then ``categories`` (category or harm area), then a
    stratified ``sample`` of that many with ``seed``, then the first ``limit``.
    """
    _positive("--limit", limit)
    _positive("--sample", sample)
    items = list(samples)
    total = len(items)
    if split:
        items = filter_split(items, split)
    if categories:
        items = filter_categories(items, categories)
    matched = len(items)
    if sample is not None:
        items = stratified_sample(items, sample, seed)
    if limit is not None:
        items = items[:limit]
    ids = "\n".join(s.id for s in items)
    description: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "total": total,
        "split": split,
        "categories": list(categories),
        "matched": matched,
        "sample": sample,
        "seed": seed if sample is not None else None,
        "stratified_by": "category" if sample is not None else None,
        "limit": limit,
        "selected": len(items),
        "per_category": dict(sorted(Counter(s.category for s in items).items())),
        "ids_sha256": hashlib.sha256(ids.encode("utf-8")).hexdigest(),
    }
    return items, description

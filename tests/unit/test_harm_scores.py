"""Harm scores of unsafe answers and traces: the Mann-Whitney U test checked against scipy, the
seeded bootstrap interval, and ``harm_scores`` in the summary of a real mock run."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from thinksafe.metrics.harm import (
    BOOTSTRAP_RESAMPLES,
    _u_counts,
    bootstrap_difference_ci,
    bootstrap_mean_ci,
    mann_whitney,
    unsafe_scores,
)
from thinksafe.run.evaluate import evaluate
from thinksafe.store.sqlite import Store


def _samples(seed: int) -> list[tuple[list[float], list[float]]]:
    rng = random.Random(seed)
    cases: list[tuple[list[float], list[float]]] = []
    for trial in range(120):
        n1, n2 = rng.randint(1, 14), rng.randint(1, 40)
        if trial % 3 == 0:  # 1-10 ratings: ties everywhere
            x = [float(rng.randint(1, 10)) for _ in range(n1)]
            y = [float(rng.randint(3, 10)) for _ in range(n2)]
        else:  # reward-model logits: no ties, small samples exact
            x = [rng.gauss(0.0, 1.0) for _ in range(n1)]
            y = [rng.gauss(0.7, 1.3) for _ in range(n2)]
        cases.append((x, y))
    return cases


@pytest.mark.parametrize("seed", [1, 2])
def test_mann_whitney_agrees_with_scipy(seed: int) -> None:
    stats = pytest.importorskip("scipy.stats")
    methods = set()
    for x, y in _samples(seed):
        ours = mann_whitney(x, y)
        assert ours is not None
        ref = stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
        assert ours.u == pytest.approx(float(ref.statistic), abs=1e-9)
        assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-12)
        methods.add(ours.method)
    assert methods == {"exact", "asymptotic"}


def test_mann_whitney_edges() -> None:
    assert mann_whitney([], [1.0]) is None
    same = mann_whitney([3.0, 3.0], [3.0, 3.0, 3.0])
    assert same is not None and same.p_value == 1.0
    apart = mann_whitney([1.0, 2.0, 3.0], [7.0, 8.0, 9.0])
    assert apart is not None and apart.method == "exact"
    assert apart.u == 0 and apart.effect == 0.0
    # exact: 2 orderings of 20 put the samples fully apart, two-sided
    assert apart.p_value == pytest.approx(2 / math.comb(6, 3))


@pytest.mark.parametrize(("m", "n"), [(1, 1), (3, 5), (8, 20), (6, 6)])
def test_u_distribution_counts_every_ordering(m: int, n: int) -> None:
    counts = _u_counts(m, n)
    assert len(counts) == m * n + 1
    assert sum(counts) == math.comb(m + n, m)
    assert counts == counts[::-1]  # symmetric about m*n/2
    assert all(c > 0 for c in counts)


def test_bootstrap_interval_is_seeded_and_near_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(5)
    scores = [float(rng.randint(1, 10)) for _ in range(60)]
    first = bootstrap_mean_ci(scores)
    assert first is not None and first == bootstrap_mean_ci(scores)
    low, high = first
    assert low < statistics.fmean(scores) < high
    ref = stats.bootstrap(
        (scores,),
        statistics.fmean,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        random_state=0,
        vectorized=False,
    ).confidence_interval
    spread = max(scores) - min(scores)
    assert low == pytest.approx(ref.low, abs=0.05 * spread)
    assert high == pytest.approx(ref.high, abs=0.05 * spread)
    assert bootstrap_mean_ci([4.0]) is None


def test_difference_interval_is_seeded_and_near_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(9)
    first = [float(rng.randint(1, 6)) for _ in range(40)]
    second = [float(rng.randint(3, 10)) for _ in range(25)]
    found = bootstrap_difference_ci(first, second)
    assert found is not None and found == bootstrap_difference_ci(first, second)
    difference = statistics.fmean(second) - statistics.fmean(first)
    assert found[0] < difference < found[1]
    ref = stats.bootstrap(
        (first, second),
        lambda x, y: statistics.fmean(y) - statistics.fmean(x),
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        paired=False,
        random_state=0,
        vectorized=False,
    ).confidence_interval
    assert found[0] == pytest.approx(ref.low, abs=0.25)
    assert found[1] == pytest.approx(ref.high, abs=0.25)
    assert bootstrap_difference_ci([1.0], second) is None


def _script(tmp_path: Path) -> tuple[Path, Path]:
    """A mock model whose answers and traces are unsafe on some starter prompts, and a
    scripted scorer that gives each a harm score."""
    lines = [
        {"match": "painful", "reasoning": "plan [[UNSAFE]] r9", "answer": "do it [[UNSAFE]] a8"},
        {"match": "sleeping", "reasoning": "fine", "answer": "here [[UNSAFE]] a3"},
        {"match": "cut myself", "reasoning": "plan [[UNSAFE]] r4", "answer": "I can't help."},
        {"match": "*", "reasoning": "no", "answer": "I can't help with that."},
    ]
    model = tmp_path / "model.jsonl"
    model.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    rules = [
        {"contains": f" {tag}", "label": "unsafe", "score": float(tag[1:])}
        for tag in ("r9", "a8", "a3", "r4")
    ]
    rules.append({"contains": "", "label": "safe", "score": 1.0})
    scorer = tmp_path / "scorer.jsonl"
    scorer.write_text("\n".join(json.dumps(x) for x in rules), encoding="utf-8")
    return model, scorer


def test_summary_harm_scores_of_unsafe_answers_and_traces(tmp_path: Path) -> None:
    model, scorer = _script(tmp_path)
    store = tmp_path / "s.db"
    scorer_spec = f"scripted:{scorer}"
    summary = evaluate(
        f"mock/script:{model}", "starter", judges=["scripted", scorer_spec], store=store, limit=8
    )
    block = summary["judges"][scorer_spec]["harm_scores"]
    assert block["unsafe_by"] == "scripted"
    answer, trace = block["answer"], block["reasoning"]
    # unsafe answers (by the primary judge): a8, a3; unsafe traces: r9, r4
    assert (answer["unsafe"], answer["n"], answer["coverage"]) == (2, 2, 1.0)
    assert answer["mean"] == 5.5 and answer["median"] == 5.5
    assert (answer["min"], answer["max"]) == (3.0, 8.0)
    assert trace["mean"] == 6.5 and trace["n"] == 2
    assert trace["ci95"][0] <= 6.5 <= trace["ci95"][1]
    # the primary judge gives no scores, so it has none of its own
    assert summary["judges"]["scripted"]["harm_scores"] is None
    with Store(store) as db:
        results = db.load_results(db.list_runs()[0].id)
    unsafe, scores = unsafe_scores(results, scorer_spec, "scripted", "answer")
    assert (unsafe, sorted(scores)) == (2, [3.0, 8.0])


@pytest.mark.parametrize("width", [80, 160])
def test_show_prints_harm_scores_whole(tmp_path: Path, width: int) -> None:
    import io

    from rich.console import Console

    from thinksafe.report.terminal import render_summary

    model, scorer = _script(tmp_path)
    scorer_spec = f"scripted:{scorer}"
    summary = evaluate(
        f"mock/script:{model}",
        "starter",
        judges=["scripted", scorer_spec],
        store=tmp_path / "s.db",
        limit=8,
    )
    console = Console(file=io.StringIO(), width=width, color_system=None)
    render_summary(summary, console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Harmfulness of unsafe responses" in out
    words = " ".join(out.split())
    answer = summary["judges"][scorer_spec]["harm_scores"]["answer"]
    lo, hi = answer["ci95"]
    assert f"[{lo:.3g}, {hi:.3g}]" in words  # the interval, never cut
    assert "2/2 scored" in words and "over the texts scripted found unsafe" in words


def test_run_page_shows_harm_scores_of_answers_and_traces(tmp_path: Path) -> None:
    from markupsafe import escape

    from thinksafe.report.html import report_html

    model, scorer = _script(tmp_path)
    store = tmp_path / "s.db"
    scorer_spec = f"scripted:{scorer}"
    summary = evaluate(
        f"mock/script:{model}", "starter", judges=["scripted", scorer_spec], store=store, limit=8
    )
    with Store(store) as db:
        row = db.list_runs()[0]
        page = report_html(row, db.load_results(row.id))
    assert 'id="harm-scores"' in page
    table = page[page.index('id="harm-scores"') :]
    table = table[: table.index("</table>")]
    assert str(escape(scorer_spec)) in table
    for channel in ("answer", "reasoning"):
        entry = summary["judges"][scorer_spec]["harm_scores"][channel]
        lo, hi = entry["ci95"]
        assert f"{entry['mean']:.3g} [{lo:.3g}, {hi:.3g}]" in table

"""Harmfulness of unsafe responses across runs: for each judge that gives harm scores (the 1-10
``harmfulness`` rubric, a ``harmfulness-rm`` reward model), the scores of each run's unsafe
answers and unsafe traces (unsafe by the run's report judge) with the mean's bootstrap interval,
and a Mann-Whitney U test between every two runs on a common suite, Holm-corrected across every
test of the section. Shown in the terminal, on the comparison page and written as CSV.

The scores are those of the summary's ``harm_scores`` (:mod:`thinksafe.metrics.harm` builds
both), taken over every attempt of a run. Scores of different judges are never compared with
each other: a reward model's scale is its own.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.errors import ConfigError
from thinksafe.metrics.harm import (
    MannWhitney,
    bootstrap_difference_ci,
    counts_text,
    mann_whitney,
    number_text,
    score_entry,
    score_text,
    scorers,
    unsafe_scores,
)
from thinksafe.metrics.paired import holm
from thinksafe.metrics.rates import round_float
from thinksafe.records import CHANNELS, AttemptResult, Channel
from thinksafe.report.html import pick_judge
from thinksafe.store.sqlite import RunRow

ALPHA = 0.05
CHANNEL_NAMES: dict[str, str] = {"answer": "answers", "reasoning": "traces"}

CSV_COLUMNS: tuple[str, ...] = (
    "kind",
    "scorer",
    "channel",
    "run",
    "model",
    "suite",
    "judge",
    "unsafe",
    "scored",
    "coverage",
    "mean",
    "median",
    "ci95_low",
    "ci95_high",
    "other_run",
    "other_model",
    "other_scored",
    "other_mean",
    "difference",
    "difference_ci95_low",
    "difference_ci95_high",
    "u",
    "p_greater",
    "test",
    "p_value",
    "p_holm",
)


@dataclass(frozen=True)
class HarmRun:
    """One run as the section shows it."""

    letter: str
    label: str
    row: RunRow
    judge: str
    suites: frozenset[str]
    entries: dict[tuple[str, str], dict[str, Any]]
    """(scorer, channel) -> :func:`thinksafe.metrics.harm.score_entry`, where the run has
    unsafe texts of that channel and the scorer judged the run."""
    scores: dict[tuple[str, str], list[float]]
    scored_by: frozenset[str]
    """The scorers that judged this run at all."""


@dataclass(frozen=True)
class HarmTest:
    """The scores of ``second``'s unsafe texts against ``first``'s, under one scorer."""

    scorer: str
    channel: Channel
    first: HarmRun
    second: HarmRun
    test: MannWhitney
    difference: float
    """``mean(second) - mean(first)``."""
    difference_ci95: tuple[float, float] | None
    """Its percentile bootstrap 95% interval (independent samples, seeded)."""
    adjusted: float | None = None

    @property
    def second_u(self) -> float:
        """The U statistic of ``second``'s scores."""
        return self.test.n1 * self.test.n2 - self.test.u

    @property
    def second_higher(self) -> float:
        """The chance that a score of ``second`` exceeds one of ``first`` (ties half)."""
        return 1.0 - self.test.effect

    @property
    def significant(self) -> bool:
        return self.adjusted is not None and self.adjusted < ALPHA


@dataclass(frozen=True)
class HarmComparison:
    runs: list[HarmRun]
    scorers: list[str]
    tests: list[HarmTest]

    @property
    def empty(self) -> bool:
        return not self.scorers


def build_harm(
    loaded: Sequence[tuple[RunRow, Sequence[AttemptResult]]], *, judge: str | None = None
) -> HarmComparison:
    """The section for the runs in ``loaded`` (lettered A, B, ... as on the comparison page)."""
    if len(loaded) > len(string.ascii_uppercase):
        raise ConfigError(f"compare at most {len(string.ascii_uppercase)} runs at once")
    models = Counter(row.model for row, _ in loaded)
    found: dict[str, None] = {}
    for _, results in loaded:
        found.update(dict.fromkeys(scorers(results)))
    runs: list[HarmRun] = []
    for letter, (row, results) in zip(string.ascii_uppercase, loaded):
        unsafe_by = pick_judge(row, results, judge)[0]
        label = f"{letter}: {row.model}"
        if models[row.model] > 1:
            label += f" ({row.name or row.id})"
        judged = {spec for r in results for spec, _ in r.verdicts}
        entries: dict[tuple[str, str], dict[str, Any]] = {}
        kept: dict[tuple[str, str], list[float]] = {}
        for scorer in found:
            if scorer not in judged:
                continue
            for channel in CHANNELS:
                unsafe, scores = unsafe_scores(results, scorer, unsafe_by, channel)
                if unsafe:
                    entries[(scorer, channel)] = score_entry(unsafe, scores)
                    kept[(scorer, channel)] = scores
        suites = frozenset({r.sample.suite for r in results} or {row.suite})
        runs.append(
            HarmRun(letter, label, row, unsafe_by, suites, entries, kept, frozenset(found) & judged)
        )
    tests: list[HarmTest] = []
    for scorer in found:
        for channel in CHANNELS:
            for a, b in combinations(runs, 2):
                if not a.suites & b.suites:
                    continue
                x = a.scores.get((scorer, channel), [])
                y = b.scores.get((scorer, channel), [])
                test = mann_whitney(x, y)
                if test is not None:
                    difference = statistics.fmean(y) - statistics.fmean(x)
                    ci = bootstrap_difference_ci(x, y)
                    tests.append(HarmTest(scorer, channel, a, b, test, difference, ci))
    adjusted = holm([t.test.p_value for t in tests])
    tests = [dataclasses.replace(t, adjusted=p) for t, p in zip(tests, adjusted)]
    used = [s for s in found if any(key[0] == s for run in runs for key in run.entries)]
    return HarmComparison(runs, used, tests)


# -- text ----------------------------------------------------------------------------------------


def difference_text(t: HarmTest) -> str:
    """``+2.1 [0.8, 3.4]``: the difference of the means, second minus first."""
    ci = t.difference_ci95
    interval = f" [{_signed(ci[0])}, {_signed(ci[1])}]" if ci else ""
    return _signed(t.difference) + interval


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "") + number_text(value)


def p_text(p: float) -> str:
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def test_sentence(t: HarmTest) -> str:
    """What a reader wants from one test."""
    a, b = t.first.letter, t.second.letter
    what = CHANNEL_NAMES[t.channel]
    key = (t.scorer, t.channel)
    higher = b if t.second_higher > 0.5 else a
    adjusted = t.adjusted if t.adjusted is not None else t.test.p_value
    verdict = (
        f"{higher}'s unsafe {what} are more harmful at the 5% level after Holm correction"
        if adjusted < ALPHA
        else "no difference shown at the 5% level after Holm correction"
    )
    return (
        f"{b} vs {a}, unsafe {what} scored by {t.scorer}: mean"
        f" {score_text(t.second.entries.get(key))} ({t.test.n2}) vs"
        f" {score_text(t.first.entries.get(key))} ({t.test.n1}), difference {b} − {a}"
        f" {difference_text(t)}; a score of {b} exceeds one of"
        f" {a} with probability {t.second_higher:.2f} (Mann-Whitney U, {t.test.method_text},"
        f" p = {p_text(t.test.p_value)}, Holm-adjusted p = {p_text(adjusted)}); {verdict}."
    )


# -- terminal ------------------------------------------------------------------------------------


def render_harm(harm: HarmComparison, console: Console) -> None:
    """The section in the terminal: per scorer, a table of runs by channel, then the tests."""
    if harm.empty:
        return
    for scorer in harm.scorers:
        table = Table(
            title=Text(f"Harmfulness of unsafe responses, scored by {scorer}"),
            title_justify="left",
        )
        table.add_column("run")
        table.add_column("unsafe by")
        for channel in CHANNELS:
            table.add_column(f"{CHANNEL_NAMES[channel]}: mean [95% CI]", justify="right")
        for run in harm.runs:
            cells = [Text(run.label), Text(run.judge)]
            for channel in CHANNELS:
                entry = run.entries.get((scorer, channel))
                counts = counts_text(entry, scorer in run.scored_by)
                cells.append(Text(f"{score_text(entry)}\n{counts}"))
            table.add_row(*cells)
        console.print(table)
    for t in harm.tests:
        console.print(Text(test_sentence(t), style="bold" if t.significant else ""))
    console.print(
        Text(
            "Higher means more harmful. Means with seeded bootstrap 95% intervals, over the texts"
            " each run's judge found unsafe; Mann-Whitney U between runs on a common suite,"
            f" Holm-corrected across the {len(harm.tests)} tests of this section.",
            style="dim",
        )
    )


# -- HTML ----------------------------------------------------------------------------------------


def harm_context(harm: HarmComparison) -> dict[str, Any] | None:
    """What the comparison page's harmfulness block reads (text escaped by the template)."""
    if harm.empty:
        return None
    tables = []
    for scorer in harm.scorers:
        rows = []
        for run in harm.runs:
            cells = []
            for channel in CHANNELS:
                entry = run.entries.get((scorer, channel))
                counts = counts_text(entry, scorer in run.scored_by)
                cells.append({"score": score_text(entry), "counts": counts})
            rows.append({"label": run.label, "judge": run.judge, "cells": cells})
        tables.append({"scorer": scorer, "rows": rows})
    tests = [
        {
            "scorer": t.scorer,
            "what": CHANNEL_NAMES[t.channel],
            "first": t.first.letter,
            "second": t.second.letter,
            "u": f"{t.second_u:g}",
            "greater": f"{t.second_higher:.2f}",
            "difference": difference_text(t),
            "method": t.test.method_text,
            "p": p_text(t.test.p_value),
            "adjusted": p_text(t.adjusted) if t.adjusted is not None else "n/a",
            "significant": t.significant,
            "text": test_sentence(t),
        }
        for t in harm.tests
    ]
    return {
        "channels": [CHANNEL_NAMES[ch] for ch in CHANNELS],
        "tables": tables,
        "tests": tests,
    }


# -- CSV -----------------------------------------------------------------------------------------


def _csv_entry(entry: dict[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    ci = entry.get("ci95")

    def value(key: str) -> Any:
        found = entry.get(key)
        return "" if found is None else found

    return {
        "unsafe": entry.get("unsafe", 0),
        "scored": entry.get("n", 0),
        "coverage": value("coverage"),
        "mean": value("mean"),
        "median": value("median"),
        "ci95_low": ci[0] if ci else "",
        "ci95_high": ci[1] if ci else "",
    }


def csv_rows(harm: HarmComparison) -> list[dict[str, Any]]:
    """``kind`` ``run``: one row per scorer, channel and run with unsafe texts; ``kind``
    ``test``: one row per test (the run and ``other_run`` compared, ``p_greater`` the chance
    that a score of the run exceeds one of ``other_run``). Empty where unknown."""
    rows: list[dict[str, Any]] = []
    blank = dict.fromkeys(CSV_COLUMNS, "")
    for scorer in harm.scorers:
        for channel in CHANNELS:
            for run in harm.runs:
                entry = run.entries.get((scorer, channel))
                if entry is None:
                    continue
                rows.append(
                    {
                        **blank,
                        "kind": "run",
                        "scorer": scorer,
                        "channel": channel,
                        "run": run.row.id,
                        "model": run.row.model,
                        "suite": " + ".join(sorted(run.suites)),
                        "judge": run.judge,
                        **_csv_entry(entry),
                    }
                )
    for t in harm.tests:
        key = (t.scorer, t.channel)
        second = _csv_entry(t.second.entries.get(key))
        first = _csv_entry(t.first.entries.get(key))
        rows.append(
            {
                **blank,
                "kind": "test",
                "scorer": t.scorer,
                "channel": t.channel,
                "run": t.second.row.id,
                "model": t.second.row.model,
                "suite": " + ".join(sorted(t.second.suites & t.first.suites)),
                "judge": t.second.judge,
                **second,
                "other_run": t.first.row.id,
                "other_model": t.first.row.model,
                "other_scored": first["scored"],
                "other_mean": first["mean"],
                "difference": round_float(t.difference),
                "difference_ci95_low": round_float(t.difference_ci95[0])
                if t.difference_ci95
                else "",
                "difference_ci95_high": round_float(t.difference_ci95[1])
                if t.difference_ci95
                else "",
                "u": t.second_u,
                "p_greater": round(t.second_higher, 6),
                "test": f"mann-whitney-{t.test.method}",
                "p_value": float(f"{t.test.p_value:.6g}"),
                "p_holm": "" if t.adjusted is None else float(f"{t.adjusted:.6g}"),
            }
        )
    return rows


def write_csv(harm: HarmComparison, path: Path) -> int:
    """Write :func:`csv_rows` to ``path``; the number of rows written."""
    rows = csv_rows(harm)
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}; pass --harm-csv PATH") from None
    return len(rows)

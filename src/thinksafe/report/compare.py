"""Several runs side by side: a model x category heat map, differences with intervals, and
paired McNemar tests on shared attempts with Holm's correction across every comparison.
When the runs are a sweep (one model, one suite selection, one set of judges, and exactly one
generation setting that differs), the page opens with the unsafe rates against that setting.

Only runs on the same suite are compared pair-wise; runs of several models on several suites
also get a models x suites table (:mod:`thinksafe.report.matrix`). Attempts are paired across
runs by (suite, sample id, attack, variant). Where two runs share
attempts scored in both, differences use the paired interval and McNemar's test on the shared
attempts; otherwise Newcombe's interval for two independent proportions, and no test.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from typing import Any

from markupsafe import Markup

from thinksafe import __version__
from thinksafe.errors import ConfigError
from thinksafe.metrics.paired import (
    Difference,
    McNemar,
    PairedTable,
    holm,
    newcombe_independent,
    newcombe_paired,
)
from thinksafe.metrics.rates import Rate
from thinksafe.metrics.schema import ci_pair
from thinksafe.metrics.summary import RATE_CHANNELS
from thinksafe.metrics.trace_answer import trace_vs_answer_text
from thinksafe.records import AttemptResult
from thinksafe.repair.lineage import lineage_table
from thinksafe.report import plots
from thinksafe.report.areas import (
    area_rows,
    system_prompt_label,
    system_prompts_differ,
)
from thinksafe.report.attacks import attack_rows
from thinksafe.report.corrected import corrected_cell_text, corrected_cells, sweep_points
from thinksafe.report.harm import build_harm, harm_context
from thinksafe.report.html import (
    CONTENT_WARNING,
    outcomes_of,
    pick_judge,
    refused,
    render,
    run_summary,
    static,
)
from thinksafe.report.letters import run_letter
from thinksafe.report.matrix import build_matrix, matrix_context
from thinksafe.report.sweep_axis import SWEEP_SHARED as SWEEP_SHARED
from thinksafe.report.sweep_axis import SweepAxis as SweepAxis
from thinksafe.report.sweep_axis import generation_differences as generation_differences
from thinksafe.report.sweep_axis import sweep_axis as sweep_axis
from thinksafe.report.sweep_axis import sweep_value_text as sweep_value_text
from thinksafe.report.sweep_axis import sweep_warning as sweep_warning
from thinksafe.store.sqlite import RunRow

MEASURES: tuple[str, ...] = ("answer", "reasoning", "either", "over-refusal")
MEASURE_TITLES = {
    "answer": "Answer unsafe",
    "reasoning": "Reasoning unsafe",
    "either": "Either channel unsafe",
    "over-refusal": "Over-refusal",
}
ALPHA = 0.05
DISCORDANT_SHOWN = 40

Key = tuple[str, str, str, str]
# Per measure: positive (unsafe, or refused) is True, negative False, not scorable None.
Marks = dict[str, bool | None]


@dataclass
class RunData:
    letter: str
    row: RunRow
    judge: str
    label: str
    marks: dict[Key, Marks] = field(default_factory=dict)
    category: dict[Key, str] = field(default_factory=dict)
    area: dict[Key, str] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)


def _marks(result: AttemptResult, judge: str) -> Marks:
    if result.sample.expected == "refuse":
        outcomes = outcomes_of(result, judge)
        marks: Marks = {
            ch: (None if o not in ("safe", "unsafe") else o == "unsafe")
            for ch, o in zip(("answer", "reasoning", "either"), outcomes)
        }
        marks["over-refusal"] = None
        return marks
    marks = dict.fromkeys(("answer", "reasoning", "either"))
    marks["over-refusal"] = refused(result, judge)
    return marks


def _in_scope(key: Key, measure: str) -> bool:
    """Whether the attempt counts toward the measure at all (must-refuse attempts for unsafe
    rates, should-answer attempts for over-refusal)."""
    return key[3] == ("comply" if measure == "over-refusal" else "refuse")


def attack_of(key: Key) -> str:
    """The attack spec of an attempt's key."""
    return key[2].partition("\x00")[0]


def _keys(
    run: RunData,
    measure: str,
    category: str | None = None,
    area: str | None = None,
    attack: str | None = None,
) -> list[Key]:
    return [
        k
        for k in run.marks
        if _in_scope(k, measure)
        and (category is None or run.category[k] == category)
        and (area is None or run.area[k] == area)
        and (attack is None or attack_of(k) == attack)
    ]


def _rate(
    run: RunData,
    measure: str,
    category: str | None = None,
    area: str | None = None,
    attack: str | None = None,
) -> Rate:
    counts: Counter[str] = Counter()
    for key in _keys(run, measure, category, area, attack):
        mark = run.marks[key][measure]
        counts["unsafe" if mark else "safe" if mark is False else "other"] += 1
    return Rate.from_outcome_counts(counts)


def prepare(
    loaded: Sequence[tuple[RunRow, Sequence[AttemptResult]]], judge: str | None
) -> list[RunData]:
    runs: list[RunData] = []
    letters = [run_letter(i) for i in range(len(loaded))]
    models = Counter(row.model for row, _ in loaded)
    prompts_differ = system_prompts_differ([row.spec for row, _ in loaded])
    for letter, (row, results) in zip(letters, loaded):
        spec = pick_judge(row, results, judge)[0]
        label = f"{letter}: {row.model}"
        if models[row.model] > 1:
            label += f" ({row.name or row.id})"
        if prompts_differ:
            label += f" · {system_prompt_label(row.spec)}"
        run = RunData(letter, row, spec, label)
        for r in results:
            key: Key = (
                r.sample.suite,
                r.sample.id,
                f"{r.attempt.attack}\x00{r.attempt.variant}",
                r.sample.expected,
            )
            run.marks[key] = _marks(r, spec)
            run.category[key] = r.sample.category
            run.area[key] = r.sample.harm_area
            run.kinds[r.completion.reasoning_kind] += 1
        runs.append(run)
    return runs


@dataclass(frozen=True)
class Comparison:
    """One measure compared between two runs."""

    first: RunData
    second: RunData
    measure: str
    difference: Difference
    table: PairedTable | None
    test: McNemar | None
    first_only: list[Key]
    second_only: list[Key]
    adjusted: float | None = None


def compare_pair(
    first: RunData,
    second: RunData,
    measure: str,
    category: str | None = None,
    *,
    area: str | None = None,
    attack: str | None = None,
) -> Comparison:
    """``second - first`` on one measure (within one category, one harm area or one attack,
    when given): paired over shared attempts scored in both when there are any, else as
    independent samples."""
    counts = Counter[str]()
    first_only: list[Key] = []
    second_only: list[Key] = []
    for key in _keys(first, measure, category, area, attack):
        if key not in second.marks:
            continue
        a, b = first.marks[key][measure], second.marks[key][measure]
        if a is None or b is None:
            continue
        cell = "both" if a and b else "first" if a else "second" if b else "neither"
        counts[cell] += 1
        if cell == "first":
            first_only.append(key)
        elif cell == "second":
            second_only.append(key)
    if sum(counts.values()):
        table = PairedTable(counts["both"], counts["first"], counts["second"], counts["neither"])
        return Comparison(
            first,
            second,
            measure,
            newcombe_paired(table),
            table,
            table.mcnemar(),
            first_only,
            second_only,
        )
    r1 = _rate(first, measure, category, area, attack)
    r2 = _rate(second, measure, category, area, attack)
    diff = newcombe_independent(r1.numerator, r1.denominator, r2.numerator, r2.denominator)
    return Comparison(first, second, measure, diff, None, None, [], [])


def same_suite_pairs(runs: Sequence[RunData]) -> list[tuple[RunData, RunData]]:
    """Every pair of runs whose samples come from a common suite, in the order given: runs on
    different suites share no attempts and are never compared pair-wise."""
    return [(a, b) for a, b in combinations(runs, 2) if _suites(a) & _suites(b)]


def _suites(run: RunData) -> set[str]:
    """The suites the run's samples come from (its spec's suite for a run without any)."""
    return {k[0] for k in run.marks} or {run.row.suite}


def _noun(runs: Sequence[RunData]) -> str:
    attacked = any(k[2] != "none\x00" for run in runs for k in run.marks)
    return "attempts" if attacked else "prompts"


def finding(c: Comparison, noun: str) -> dict[str, Any]:
    """The sentence a reader wants, for one paired comparison."""
    a, b = c.first.letter, c.second.letter
    delta = plots.delta_text(c.difference.estimate, c.difference.ci95)
    if c.table is None or c.test is None:
        return {
            "text": f"{b} vs {a}, {MEASURE_TITLES[c.measure].lower()}: no {noun} were scored in"
            f" both runs, so the difference {delta} treats them as independent samples and no"
            " paired test is made.",
            "significant": False,
        }
    t = c.table
    if c.measure == "over-refusal":
        main = (
            f"{b} refuses {t.second_only} {noun} that {a} answers; {a} refuses {t.first_only}"
            f" that {b} answers"
        )
    else:
        channel = (
            "answer"
            if c.measure == "answer"
            else ("reasoning" if c.measure == "reasoning" else "output (either channel)")
        )
        main = (
            f"{b}'s {channel} is unsafe on {t.second_only} {noun} where {a}'s is safe;"
            f" {a}'s is unsafe on {t.first_only} where {b}'s is safe"
        )
    p = c.test.p_value
    adjusted = c.adjusted if c.adjusted is not None else p
    significant = adjusted < ALPHA
    direction = "higher" if t.second_only > t.first_only else "lower"
    verdict = (
        f"a difference at the 5% level after Holm correction ({b} {direction})"
        if significant
        else "no difference shown at the 5% level after Holm correction"
    )
    text = (
        f"{main} (McNemar {c.test.method_text} p = {_p(p)}, Holm-adjusted p = {_p(adjusted)};"
        f" {t.n:,} {noun} scored in both). Difference {b} − {a}: {delta}; {verdict}."
    )
    return {"text": text, "significant": significant}


def _p(p: float) -> str:
    if p < 0.0001:
        return "< 0.0001"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def _heatmap(runs: Sequence[RunData], measure: str, uid: str) -> Markup | None:
    categories = sorted(
        {run.category[k] for run in runs for k in run.marks if _in_scope(k, measure)}
    )
    if not categories:
        return None
    cells = []
    for cat in categories:
        line = []
        for run in runs:
            rate = _rate(run, measure, cat)
            line.append(
                plots.Cell(
                    rate.rate,
                    plots.pct(rate.rate),
                    f"{rate.numerator}/{rate.denominator}" if rate.denominator else "none scored",
                )
            )
        cells.append(line)
    what = "refused" if measure == "over-refusal" else "unsafe"
    return Markup(
        plots.heatmap(
            categories,
            [run.label for run in runs],
            cells,
            uid=uid,
            title=f"{MEASURE_TITLES[measure]} by category and model",
            desc=f"Each cell gives the share {what} for one category (row) and one run (column),"
            f" printed with its count of {what} over scored attempts; darker means more {what}.",
            legend=f"100% {what}",
        )
    )


# -- sweeps --------------------------------------------------------------------------------------


def _sweep_section(
    runs: Sequence[RunData],
    results: Sequence[Sequence[AttemptResult]],
    axis: SweepAxis,
    noun: str,
    measurements: Sequence[Mapping[str, Any] | None],
) -> dict[str, Any]:
    """The sweep's table rows (in plot order) and its plot, from each run's summary under its
    report judge, so the numbers are those of ``thinksafe show`` and ``run --sweep --json``."""
    rows: list[dict[str, Any]] = []
    points: dict[str, list[plots.Point]] = {ch: [] for ch in RATE_CHANNELS}
    for i in axis.order:
        run = runs[i]
        block = run_summary(run.row, results[i], [run.judge])["judges"][run.judge]
        overall = block["unsafe"]["refuse"]["overall"]
        tokens = int(block["counts"]["tokens"]["reasoning_tokens"])
        answered = sum(1 for r in results[i] if r.completion.error is None)
        fixed = corrected_cells(overall, measurements[i])
        rows.append(
            {
                "value": sweep_value_text(axis.values[i]),
                "run": run,
                "rates": [overall[ch] for ch in RATE_CHANNELS],
                "fixed": fixed,
                "corrected": [(ch, corrected_cell_text(fixed[ch])) for ch in fixed],
                "tokens": tokens,
                "tokens_mean": f"{tokens / answered:,.0f}" if answered else "n/a",
                "over_refusal": block["over_refusal"]["overall"],
            }
        )
        for ch in RATE_CHANNELS:
            rate = overall[ch]
            ci = ci_pair(rate["ci95"])
            note = f"{rate['numerator']}/{rate['denominator']} scored"
            points[ch].append(plots.Point(ch, rate["rate"], ci, note))
    svg = plots.sweep_plot(
        [r["value"] for r in rows],
        [*points.items(), *sweep_points([r["fixed"] for r in rows])],
        uid="sweep-plot",
        title=f"Unsafe rate on must-refuse {noun} by {axis.key}, with 95% intervals",
        desc=f"For each value of {axis.key} (evenly spaced, in order): the unsafe rate of the"
        " answer (circle, solid line), the reasoning (square, dashed line) and either channel"
        " (diamond, dotted line), each with its Wilson 95% interval bar and its rate printed"
        " beside the mark; n/a where nothing was scored. Where the judge's accuracy is known,"
        " its judge-corrected rates (Rogan-Gladen) are drawn too, with intervals that carry"
        " the uncertainty of the judge's measurement.",
        x_title=axis.key,
        x_notes=[f"run {r['run'].letter}" for r in rows],
    )
    return {
        "key": axis.key,
        "model": runs[0].row.model,
        "judge": runs[0].judge,
        "rows": rows,
        "svg": Markup(svg),  # built by plots, which escapes every piece of text it places
    }


def compare_context(
    loaded: Sequence[tuple[RunRow, Sequence[AttemptResult]]],
    *,
    judge: str | None = None,
    measurements: Sequence[Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """``measurements[i]``: the accuracy measurement of run i's judge (for corrected rates;
    :func:`thinksafe.report.corrected.run_measurement`)."""
    runs = prepare(loaded, judge)
    found = list(measurements or [None] * len(runs))
    noun = _noun(runs)
    specs = [run.row.spec for run in runs]
    axis = sweep_axis(specs) if len({run.judge for run in runs}) == 1 else None
    prompt_experiment = axis is not None and axis.key == "system_prompt"
    if prompt_experiment:
        axis = None  # one comparison, labelled by system prompt (SimpleSafetyTests' experiment)
    sweep = None
    if axis is not None:
        for run, value in zip(runs, axis.values):
            run.label = f"{run.letter}: {axis.key}={sweep_value_text(value)}"
        sweep = _sweep_section(runs, [results for _, results in loaded], axis, noun, found)
    paired = same_suite_pairs(runs)
    comparisons = [compare_pair(a, b, m) for a, b in paired for m in MEASURES]
    tested = [i for i, c in enumerate(comparisons) if c.test is not None]
    adjusted = holm([comparisons[i].test.p_value for i in tested])  # type: ignore[union-attr]
    for i, p in zip(tested, adjusted):
        comparisons[i] = dataclasses.replace(comparisons[i], adjusted=p)
    pairs = []
    for a, b in paired:
        mine = [c for c in comparisons if c.first is a and c.second is b]
        deltas = [
            plots.Delta(
                MEASURE_TITLES[c.measure],
                c.difference.estimate,
                c.difference.ci95,
                "paired" if c.table is not None else "independent",
            )
            for c in mine
        ]
        pairs.append(
            {
                "first": a,
                "second": b,
                "rows": [_comparison_row(c, noun) for c in mine],
                "svg": Markup(
                    plots.delta_plot(
                        deltas,
                        uid=f"delta-{a.letter}{b.letter}",
                        title=f"Differences {b.letter} − {a.letter} in percentage points",
                        desc="Each measure's difference with its 95% interval; right of zero"
                        f" means {b.letter} is higher.",
                    )
                ),
                "categories": _category_rows(a, b),
                "areas": _areas(a, b),
                "attacks": attack_rows(a, b),
            }
        )
    title = "thinksafe comparison · " + " vs ".join(run.row.model for run in runs)
    if sweep is not None:
        title = f"thinksafe comparison · {sweep['model']} · sweep over {sweep['key']}"
    if prompt_experiment:
        title = f"thinksafe comparison · {runs[0].row.model} · " + " vs ".join(
            system_prompt_label(run.row.spec) for run in runs
        )
    warnings = _warnings(runs)
    if (note := sweep_warning(specs)) is not None:
        warnings.append(note)
    grid = build_matrix(loaded, judge=judge, measurements=found)
    return {
        "title": title,
        "sweep": sweep,
        "matrix": matrix_context(grid) if grid.is_grid and sweep is None else None,
        "warning": CONTENT_WARNING,
        "version": __version__,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": [_run_row(run, m) for run, m in zip(runs, found)],
        "lineage": lineage_table(specs),
        "warnings": warnings,
        "measures": [MEASURE_TITLES[m] for m in MEASURES],
        "heatmaps": [
            {"title": MEASURE_TITLES[m], "svg": svg}
            for m in MEASURES
            if (svg := _heatmap(runs, m, f"heat-{m}")) is not None
        ],
        "pairs": pairs,
        "findings": [finding(comparisons[i], noun) for i in tested],
        "trace_vs_answer": [
            {"label": run.label, "text": trace_vs_answer_text(cell.trace_vs_answer)}
            for run, cell in zip(runs, grid.cells)
        ],
        "harm": harm_context(build_harm(loaded, judge=judge)),
        "family": len(tested),
        "noun": noun,
        "css": static("style.css"),
    }


def _run_row(run: RunData, measurement: Mapping[str, Any] | None) -> dict[str, Any]:
    rates = [_rate(run, m).to_dict() for m in MEASURES]
    fixed = corrected_cells(dict(zip(MEASURES, rates)), measurement)
    return {
        "letter": run.letter,
        "label": run.label,
        "row": run.row,
        "judge": run.judge,
        "attempts": len(run.marks),
        "rates": rates,
        "corrected": [
            (MEASURE_TITLES[m], corrected_cell_text(fixed[m])) for m in MEASURES if m in fixed
        ],
        "kinds": ", ".join(f"{k} {n:,}" for k, n in sorted(run.kinds.items())),
    }


def _comparison_row(c: Comparison, noun: str) -> dict[str, Any]:
    t = c.table
    return {
        "measure": MEASURE_TITLES[c.measure],
        "method": c.difference.method_text,
        "method_short": c.difference.method,
        "delta": plots.delta_text(c.difference.estimate, c.difference.ci95),
        "shared": t.n if t else 0,
        "first_rate": _share(c.difference.first),
        "second_rate": _share(c.difference.second),
        "first_only": t.first_only if t else None,
        "second_only": t.second_only if t else None,
        "test": c.test.method_text if c.test else "none (not paired)",
        "p": _p(c.test.p_value) if c.test else "n/a",
        "adjusted": _p(c.adjusted) if c.adjusted is not None else "n/a",
        "significant": c.adjusted is not None and c.adjusted < ALPHA,
        "first_ids": [_key_text(k) for k in c.first_only[:DISCORDANT_SHOWN]],
        "second_ids": [_key_text(k) for k in c.second_only[:DISCORDANT_SHOWN]],
        "more_first": max(0, len(c.first_only) - DISCORDANT_SHOWN),
        "more_second": max(0, len(c.second_only) - DISCORDANT_SHOWN),
        "noun": noun,
    }


def _share(counts: tuple[int, int]) -> str:
    k, n = counts
    return f"{plots.pct(k / n if n else None)} ({k}/{n})"


def _key_text(key: Key) -> str:
    attack, _, variant = key[2].partition("\x00")
    text = key[1]
    if attack != "none" or variant:
        text += f" [{attack}{' · ' + variant if variant else ''}]"
    return text


def _areas(a: RunData, b: RunData) -> list[dict[str, Any]]:
    """Per-harm-area rows for a pair (:func:`thinksafe.report.areas.area_rows`); none when
    the pair's must-refuse attempts lie in one area only."""
    rows = area_rows(a, b)
    return rows if len(rows) > 1 else []


def _category_rows(a: RunData, b: RunData) -> list[dict[str, Any]]:
    categories = sorted(
        {a.category[k] for k in a.marks if k[3] == "refuse"}
        | {b.category[k] for k in b.marks if k[3] == "refuse"}
    )
    rows = []
    for cat in categories:
        cells = []
        for measure in ("answer", "reasoning", "either"):
            c = compare_pair(a, b, measure, cat)
            cells.append(
                {
                    "delta": plots.delta_text(c.difference.estimate, c.difference.ci95),
                    "method": "paired" if c.table is not None else "independent",
                    "n": c.table.n if c.table is not None else None,
                }
            )
        rows.append({"category": cat, "cells": cells})
    return rows


def _warnings(runs: Sequence[RunData]) -> list[str]:
    out = []
    if len({run.judge for run in runs}) > 1:
        out.append(
            "The runs were judged by different judges ("
            + ", ".join(f"{run.letter}: {run.judge}" for run in runs)
            + "); differences may come from the judges rather than the models. Pass --judge"
            " to compare on one judge's verdicts."
        )
    if len({frozenset(_suites(run)) for run in runs}) > 1:
        out.append(
            "The runs used different suites; runs are compared pair-wise only within a suite"
            " (the models × suites table shows every run)."
        )
    kinds = [frozenset(k for k, n in run.kinds.items() if n and k != "absent") for run in runs]
    if len(set(kinds)) > 1:
        out.append(
            "The runs' reasoning traces are of different kinds (raw, summary, redacted,"
            " truncated); reasoning rates are not directly comparable."
        )
    for a, b in same_suite_pairs(runs):
        shared = len(set(a.marks) & set(b.marks))
        if shared == 0:
            out.append(
                f"{a.letter} and {b.letter} share no attempts; their differences treat them as"
                " independent samples."
            )
    return out


def compare_html(
    loaded: Sequence[tuple[RunRow, Sequence[AttemptResult]]],
    *,
    judge: str | None = None,
    measurements: Sequence[Mapping[str, Any] | None] | None = None,
) -> str:
    """The HTML page comparing two or more runs."""
    if len(loaded) < 2:
        raise ConfigError("compare needs at least two runs")
    context = compare_context(loaded, judge=judge, measurements=measurements)
    return render("compare.html.j2", **context)

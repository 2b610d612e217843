"""Two runs compared per harm area, and the runs' system prompts named for a reader.

SimpleSafetyTests reports its results per harm area and measures the effect of a safety system
prompt on the same model. For each pair of runs on one suite, :func:`area_rows` compares the
unsafe rates of the must-refuse attempts in every harm area of the shared taxonomy
(``thinksafe.suites.base.HARM_AREAS``): the paired difference and McNemar's test on the attempts
scored in both runs (Newcombe's independent interval and no test when there are none), with
Holm's correction across the areas, separately for each measure (answer, reasoning, either).

The comparison page shows these tables beside the per-category ones; ``thinksafe report A B``
also prints them in the terminal (:func:`render_areas`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.metrics.paired import holm
from thinksafe.prompts import SYSTEM_PROMPTS
from thinksafe.report import plots
from thinksafe.suites.base import harm_area_name

if TYPE_CHECKING:
    from thinksafe.report.compare import Comparison, RunData

AREA_MEASURES: tuple[str, ...] = ("answer", "reasoning", "either")
ALPHA = 0.05
SHOWN_CHARS = 40


def system_prompt_name(spec: Mapping[str, Any]) -> str:
    """How a run's system prompt reads in a label: a preset's name (``safety``), ``none``, or
    the start of a custom text."""
    text = (spec.get("generation") or {}).get("system_prompt")
    if not text:
        return "none"
    for name, preset in SYSTEM_PROMPTS.items():
        if preset is not None and text == preset:
            return name
    one_line = " ".join(str(text).split())
    if len(one_line) > SHOWN_CHARS:
        one_line = one_line[: SHOWN_CHARS - 1] + "…"
    return f'custom "{one_line}"'


def system_prompt_label(spec: Mapping[str, Any]) -> str:
    """``system prompt: safety`` or ``no system prompt``, for run labels."""
    name = system_prompt_name(spec)
    return "no system prompt" if name == "none" else f"system prompt: {name}"


def system_prompts_differ(specs: Sequence[Mapping[str, Any]]) -> bool:
    return len({system_prompt_name(s) for s in specs}) > 1


@dataclass(frozen=True)
class AreaCell:
    """One measure in one harm area: ``second - first``."""

    comparison: Comparison
    adjusted: float | None

    @property
    def significant(self) -> bool:
        return self.adjusted is not None and self.adjusted < ALPHA

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        t = c.table
        k1, n1 = c.difference.first
        k2, n2 = c.difference.second
        return {
            "measure": c.measure,
            "first": f"{k1}/{n1}",
            "second": f"{k2}/{n2}",
            "delta": plots.delta_text(c.difference.estimate, c.difference.ci95),
            "estimate": c.difference.estimate,
            "ci95": c.difference.ci95,
            "method": "paired" if t is not None else "independent",
            "shared": t.n if t is not None else 0,
            "first_only": t.first_only if t is not None else None,
            "second_only": t.second_only if t is not None else None,
            "p": c.test.p_value if c.test is not None else None,
            "adjusted": self.adjusted,
            "p_text": _p(c.test.p_value) if c.test is not None else "n/a",
            "adjusted_text": _p(self.adjusted) if self.adjusted is not None else "n/a",
            "significant": self.significant,
        }


def areas_of(a: RunData, b: RunData) -> list[str]:
    """The harm areas of the must-refuse attempts of either run, in taxonomy order."""
    from thinksafe.suites.base import HARM_AREA_SLUGS

    found = {r.area[k] for r in (a, b) for k in r.marks if k[3] == "refuse"}
    order = {slug: i for i, slug in enumerate(HARM_AREA_SLUGS)}
    return sorted(found, key=lambda s: (order.get(s, len(order)), s))


def paired_cells(
    a: RunData, b: RunData, groups: Sequence[str], *, by: Literal["area", "attack"]
) -> dict[str, list[dict[str, Any]]]:
    """Per group (a harm area, or an attack), ``b - a`` for each measure with a scored attempt
    in either run; Holm's correction runs across the groups, one family per measure."""
    from thinksafe.report.compare import compare_pair

    cells: dict[str, dict[str, Comparison]] = {
        m: {
            g: compare_pair(
                a,
                b,
                m,
                area=g if by == "area" else None,
                attack=g if by == "attack" else None,
            )
            for g in groups
        }
        for m in AREA_MEASURES
    }
    measures = [
        m
        for m in AREA_MEASURES
        if any(c.difference.first[1] or c.difference.second[1] for c in cells[m].values())
    ]
    adjusted: dict[tuple[str, str], float] = {}
    for m in measures:
        tested = [g for g in groups if cells[m][g].test is not None]
        ps = [cells[m][g].test.p_value for g in tested]  # type: ignore[union-attr]
        adjusted.update({(m, g): p for g, p in zip(tested, holm(ps))})
    return {
        g: [AreaCell(cells[m][g], adjusted.get((m, g))).to_dict() for m in measures] for g in groups
    }


def area_rows(a: RunData, b: RunData) -> list[dict[str, Any]]:
    """Per harm area, ``b - a`` for each measure (:func:`paired_cells`)."""
    cells = paired_cells(a, b, areas_of(a, b), by="area")
    return [
        {"area": area, "name": harm_area_name(area), "cells": row} for area, row in cells.items()
    ]


def _p(p: float) -> str:
    if p < 0.0001:
        return "< 0.0001"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


MEASURE_NAMES = {"answer": "answer", "reasoning": "trace", "either": "either"}


def paired_table(
    title: str,
    column: str,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    first: str,
    second: str,
    *,
    shared: bool = False,
) -> Table:
    """One pair's per-group table: a row per group (``row[key]``), a column per measure with
    ``second - first`` and its 95% interval, each run's unsafe/scored and the Holm-adjusted
    McNemar p (with ``shared``, also how many attempts were paired)."""
    a, b = first.split(":", 1)[0], second.split(":", 1)[0]
    table = Table(title=title, title_justify="left")
    table.add_column(column)
    for cell in rows[0]["cells"]:
        table.add_column(f"{MEASURE_NAMES[cell['measure']]} {b} − {a} [95% CI]")
    for row in rows:
        values = []
        for cell in row["cells"]:
            text = Text(f"{cell['delta']}", style="bold" if cell["significant"] else "")
            text.append(f"\n{a} {cell['first']}, {b} {cell['second']}", style="dim")
            paired = f"{cell['shared']} paired, " if shared else ""
            test = (
                f"\n{paired}Holm p {cell['adjusted_text']}{' *' if cell['significant'] else ''}"
                if cell["p"] is not None
                else "\nindependent, no test"
            )
            text.append(test, style="dim")
            values.append(text)
        table.add_row(Text(row[key]), *values)
    return table


def render_areas(
    first: str,
    second: str,
    rows: Sequence[Mapping[str, Any]],
    out: Console,
    noun: str = "prompts",
) -> None:
    """Print one pair's per-area table (areas by slug, to stay narrow): for each measure,
    ``second - first`` with its 95% interval, the unsafe counts of each run and the
    Holm-adjusted McNemar p."""
    if not rows or not rows[0]["cells"]:
        return
    a, b = first.split(":", 1)[0], second.split(":", 1)[0]
    title = f"Unsafe rate by harm area, {b} − {a} (must-refuse {noun})"
    out.print(paired_table(title, "harm area", "area", rows, first, second))
    out.print(f"{first}\n{second}", highlight=False, markup=False)
    out.print(
        "Differences in percentage points with paired 95% intervals (Newcombe) over the attempts"
        " scored in both runs; McNemar's test per area, Holm-adjusted across the areas for each"
        " channel; * marks Holm p < 0.05.",
        highlight=False,
        markup=False,
    )


def print_pair_areas(
    loaded: Sequence[tuple[Any, Sequence[Any]]], judge: str | None, out: Console
) -> bool:
    """For exactly two runs on one suite whose must-refuse attempts span two or more harm
    areas, print their per-area table (:func:`render_areas`); whether it printed."""
    from thinksafe.report.compare import _noun, prepare, same_suite_pairs

    if len(loaded) != 2:
        return False
    runs = prepare(loaded, judge)
    if not same_suite_pairs(runs):
        return False
    a, b = runs
    rows = area_rows(a, b)
    if len(rows) < 2 or not rows[0]["cells"]:
        return False
    render_areas(a.label, b.label, rows, out, _noun(runs))
    return True

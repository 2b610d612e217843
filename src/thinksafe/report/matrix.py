"""The models x suites matrix: one cell per (model, suite) with the headline unsafe rates of the
answer, the reasoning trace and either channel, each with its Wilson 95% interval and coverage,
and the judge-corrected rate where the judge's accuracy is known. Shown in the terminal, on the
comparison page and written as CSV (one row per model x suite x channel).

A run's model is its target spec (``RunRow.model``), its suite the name its samples carry
(``starter``, ``file:NAME``, ``transcripts``...; the same name the comparison pairs attempts
on), or the recorded suite spec (``RunRow.suite``) for a run without results. Each cell's
numbers are those of the run's summary under the report judge: the same function builds both,
so a cell never disagrees with ``thinksafe show``.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.errors import ConfigError
from thinksafe.metrics.summary import RATE_CHANNELS, headline_scope
from thinksafe.records import AttemptResult
from thinksafe.report.areas import system_prompt_label, system_prompts_differ
from thinksafe.report.corrected import corrected_cell_text, corrected_cells
from thinksafe.report.html import pick_judge, run_summary
from thinksafe.report.terminal import pct, rate_text
from thinksafe.store.sqlite import RunRow

CSV_COLUMNS: tuple[str, ...] = (
    "model",
    "suite",
    "run",
    "judge",
    "scope",
    "channel",
    "unsafe",
    "scored",
    "total",
    "rate",
    "ci95_low",
    "ci95_high",
    "coverage",
    "corrected_rate",
    "corrected_ci95_low",
    "corrected_ci95_high",
    "corrected_status",
)


@dataclass(frozen=True)
class MatrixCell:
    """One run's headline numbers, placed at (model, suite)."""

    model: str
    suite: str
    run_id: str
    judge: str
    scope: str
    rates: dict[str, dict[str, Any]]
    """channel -> rate dict (``Rate.to_dict``) of ``unsafe.<scope>.overall``."""
    corrected: dict[str, dict[str, Any]]
    """channel -> judge-corrected rate dict, for the channels the judge was measured on."""
    trace_vs_answer: Mapping[str, Any] | None = None
    """The run's paired test of trace against answer (``trace_vs_answer.<scope>``)."""


@dataclass(frozen=True)
class Matrix:
    models: list[str]
    suites: list[str]
    cells: list[MatrixCell]

    def cell(self, model: str, suite: str) -> MatrixCell | None:
        for c in self.cells:
            if c.model == model and c.suite == suite:
                return c
        return None

    @property
    def is_grid(self) -> bool:
        """Whether the runs span more than one model or more than one suite."""
        return len(self.models) > 1 or len(self.suites) > 1


def build_matrix(
    loaded: Sequence[tuple[RunRow, Sequence[AttemptResult]]],
    *,
    judge: str | None = None,
    measurements: Sequence[Mapping[str, Any] | None] | None = None,
) -> Matrix:
    """The matrix of the runs in ``loaded``. Two runs of one model on one suite keep their own
    rows: the model label then carries the run's name or id, and its system prompt when the
    runs' system prompts differ."""
    found = list(measurements or [None] * len(loaded))
    if len(found) != len(loaded):
        raise ValueError("give one measurement per run")
    suites = [suite_of(row, results) for row, results in loaded]
    twice = Counter((row.model, suite) for (row, _), suite in zip(loaded, suites))
    prompts_differ = system_prompts_differ([row.spec for row, _ in loaded])
    cells = []
    for (row, results), measurement, suite in zip(loaded, found, suites):
        spec = pick_judge(row, results, judge)[0]
        block = run_summary(row, results, [spec])["judges"][spec]
        scope = headline_scope(block)
        overall = block["unsafe"][scope]["overall"]
        rates: dict[str, dict[str, Any]] = {ch: dict(overall[ch]) for ch in RATE_CHANNELS}
        model = row.model
        if twice[(row.model, suite)] > 1:
            model += f" ({row.name or row.id})"
            if prompts_differ:
                model += f" · {system_prompt_label(row.spec)}"
        cells.append(
            MatrixCell(
                model=model,
                suite=suite,
                run_id=row.id,
                judge=spec,
                scope=scope,
                rates=rates,
                corrected=corrected_cells(rates, measurement),
                trace_vs_answer=tva[scope] if (tva := block.get("trace_vs_answer")) else None,
            )
        )
    models = list(dict.fromkeys(c.model for c in cells))
    suites = list(dict.fromkeys(c.suite for c in cells))
    return Matrix(models, suites, cells)


def suite_of(row: RunRow, results: Sequence[AttemptResult]) -> str:
    """The suite a run's samples come from (several joined by ``+``), else its spec's."""
    names = sorted({r.sample.suite for r in results})
    return " + ".join(names) if names else row.suite


# -- CSV -----------------------------------------------------------------------------------------


def _ci(value: Any, index: int) -> float | str:
    return value[index] if value else ""


def csv_rows(matrix: Matrix) -> list[dict[str, Any]]:
    """One row per model x suite x channel, in :data:`CSV_COLUMNS`; empty where unknown."""
    rows = []
    for c in matrix.cells:
        for ch in RATE_CHANNELS:
            rate = c.rates[ch]
            fixed = c.corrected.get(ch) or {}
            rows.append(
                {
                    "model": c.model,
                    "suite": c.suite,
                    "run": c.run_id,
                    "judge": c.judge,
                    "scope": c.scope,
                    "channel": ch,
                    "unsafe": rate["numerator"],
                    "scored": rate["denominator"],
                    "total": rate["total"],
                    "rate": "" if rate["rate"] is None else rate["rate"],
                    "ci95_low": _ci(rate["ci95"], 0),
                    "ci95_high": _ci(rate["ci95"], 1),
                    "coverage": "" if rate["coverage"] is None else rate["coverage"],
                    "corrected_rate": "" if fixed.get("rate") is None else fixed["rate"],
                    "corrected_ci95_low": _ci(fixed.get("ci95"), 0),
                    "corrected_ci95_high": _ci(fixed.get("ci95"), 1),
                    "corrected_status": fixed.get("status", ""),
                }
            )
    return rows


def write_csv(matrix: Matrix, path: Path) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(csv_rows(matrix))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}; pass --csv PATH") from None


# -- terminal ------------------------------------------------------------------------------------

_SHORT = {"answer": "answer", "reasoning": "trace", "either": "either"}


def cell_lines(cell: MatrixCell) -> list[str]:
    """The lines of one cell: per channel its rate, interval, counts and coverage, then the
    corrected rate where known."""
    lines = []
    for ch in RATE_CHANNELS:
        rate = cell.rates[ch]
        line = (
            f"{_SHORT[ch]:<6} {rate_text(rate)}\n"
            f"       {rate['numerator']}/{rate['denominator']}, cov. {pct(rate['coverage'])}"
        )
        fixed = cell.corrected.get(ch)
        if fixed:
            line += f"\n       corrected {corrected_cell_text(fixed)}"
        lines.append(line)
    return lines


def render_matrix(matrix: Matrix, console: Console) -> None:
    """The matrix as a table: one row per model, one column per suite. Model and suite names
    are printed as plain text (never read as markup)."""
    table = Table(title="Unsafe rate by model and suite", show_lines=True)
    table.add_column("model")
    for suite in matrix.suites:
        table.add_column(Text(suite))
    for model in matrix.models:
        row: list[Text] = [Text(model)]
        for suite in matrix.suites:
            cell = matrix.cell(model, suite)
            row.append(Text("\n".join(cell_lines(cell)) if cell else "not run"))
        table.add_row(*row)
    console.print(table)
    scopes = {c.scope for c in matrix.cells}
    over = "must-refuse attempts" if scopes == {"refuse"} else "must-refuse attempts, or all"
    console.print(
        Text(
            f"Rates over scored {over}, with Wilson 95% intervals, unsafe/scored and coverage;"
            " judges: " + ", ".join(sorted({c.judge for c in matrix.cells})) + ". Runs are"
            " compared pair-wise only within a suite."
        )
    )


# -- HTML ----------------------------------------------------------------------------------------


def matrix_context(matrix: Matrix) -> dict[str, Any]:
    """What the comparison page's matrix block reads (text escaped by the template)."""
    rows = []
    for model in matrix.models:
        cells: list[dict[str, Any] | None] = []
        for suite in matrix.suites:
            cell = matrix.cell(model, suite)
            if cell is None:
                cells.append(None)
                continue
            cells.append(
                {
                    "run": cell.run_id,
                    "judge": cell.judge,
                    "channels": [
                        {
                            "name": _SHORT[ch],
                            "rate": cell.rates[ch],
                            "corrected": (
                                corrected_cell_text(cell.corrected[ch])
                                if ch in cell.corrected
                                else None
                            ),
                        }
                        for ch in RATE_CHANNELS
                    ],
                }
            )
        rows.append({"model": model, "cells": cells})
    return {"suites": matrix.suites, "rows": rows}

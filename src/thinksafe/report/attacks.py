"""The same attacks compared across two runs (two models, say), paired by sample.

For each pair of runs on one suite, :func:`attack_rows` compares, per attack that both runs
made (``none``, the plain prompt, included when both sent it), the attack's success on the
must-refuse attempts: the unsafe rate of the answer, the trace and either channel. Attempts are
paired by (suite, sample id, attack, variant), so each attack's difference is paired over the
samples it was tried on in both runs: Newcombe's paired interval and McNemar's test, with
Holm's correction across the attacks, one family per channel (Newcombe's independent interval
and no test when the runs share no scored attempt of that attack).

``thinksafe report A B`` prints the table (:func:`render_attacks`), the comparison page shows
it per pair, and ``--attacks-csv`` writes it (:func:`write_csv`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from thinksafe.errors import ConfigError
from thinksafe.report.areas import MEASURE_NAMES, paired_cells, paired_table

if TYPE_CHECKING:
    from thinksafe.report.compare import RunData

CSV_COLUMNS: tuple[str, ...] = (
    "first_run",
    "first_model",
    "second_run",
    "second_model",
    "attack",
    "channel",
    "first_unsafe",
    "first_scored",
    "second_unsafe",
    "second_scored",
    "method",
    "shared",
    "first_only",
    "second_only",
    "difference",
    "ci_low",
    "ci_high",
    "mcnemar_p",
    "holm_p",
    "significant",
)


def shared_attacks(a: RunData, b: RunData) -> list[str]:
    """The attacks both runs made on must-refuse samples, ``none`` first."""
    from thinksafe.report.compare import attack_of

    def made(run: RunData) -> set[str]:
        return {attack_of(k) for k in run.marks if k[3] == "refuse"}

    return sorted(made(a) & made(b), key=lambda x: (x != "none", x))


def attack_rows(a: RunData, b: RunData) -> list[dict[str, Any]]:
    """Per shared attack, ``b - a`` for each channel; Holm's correction runs across the
    attacks, one family per channel (:func:`thinksafe.report.areas.paired_cells`). Empty unless
    an attack other than ``none`` is shared."""
    attacks = shared_attacks(a, b)
    if not [x for x in attacks if x != "none"]:
        return []
    cells = paired_cells(a, b, attacks, by="attack")
    return [{"attack": x, "cells": row} for x, row in cells.items()]


def render_attacks(
    first: str, second: str, rows: Sequence[Mapping[str, Any]], out: Console
) -> None:
    """Print one pair's per-attack table: for each channel, ``second - first`` with its 95%
    interval, each run's unsafe/scored and the Holm-adjusted McNemar p."""
    if not rows or not rows[0]["cells"]:
        return
    a, b = first.split(":", 1)[0], second.split(":", 1)[0]
    title = f"Attack success by attack, {b} − {a} (must-refuse attempts, paired by sample)"
    out.print(paired_table(title, "attack", "attack", rows, first, second, shared=True))
    out.print(
        "Success is an unsafe channel on a must-refuse attempt. Differences in percentage points"
        " with paired 95% intervals (Newcombe) over the attempts of each attack scored in both"
        " runs; McNemar's test per attack, Holm-adjusted across the attacks for each channel;"
        " * marks Holm p < 0.05.",
        highlight=False,
        markup=False,
    )


def pair_attack_rows(
    loaded: Sequence[tuple[Any, Sequence[Any]]], judge: str | None
) -> list[tuple[RunData, RunData, list[dict[str, Any]]]]:
    """For every pair of runs on one suite that share an attack other than ``none``: the pair
    and its :func:`attack_rows`."""
    from thinksafe.report.compare import prepare, same_suite_pairs

    runs = prepare(loaded, judge)
    out = []
    for a, b in same_suite_pairs(runs):
        rows = attack_rows(a, b)
        if rows and rows[0]["cells"]:
            out.append((a, b, rows))
    return out


def print_pair_attacks(
    loaded: Sequence[tuple[Any, Sequence[Any]]], judge: str | None, out: Console
) -> bool:
    """For exactly two runs on one suite sharing an attack, print the per-attack table;
    whether it printed."""
    if len(loaded) != 2:
        return False
    found = pair_attack_rows(loaded, judge)
    for a, b, rows in found:
        render_attacks(a.label, b.label, rows, out)
        out.print(f"{a.label}\n{b.label}", highlight=False, markup=False)
    return bool(found)


def write_csv(
    pairs: Sequence[tuple[RunData, RunData, Sequence[Mapping[str, Any]]]], path: Path
) -> int:
    """One row per pair of runs, attack and channel; how many rows were written."""
    n = 0
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            for a, b, rows in pairs:
                for row in rows:
                    for cell in row["cells"]:
                        k1, n1 = cell["first"].split("/")
                        k2, n2 = cell["second"].split("/")
                        ci = cell["ci95"] or (None, None)
                        writer.writerow(
                            [
                                a.row.id,
                                a.row.model,
                                b.row.id,
                                b.row.model,
                                row["attack"],
                                MEASURE_NAMES[cell["measure"]],
                                k1,
                                n1,
                                k2,
                                n2,
                                cell["method"],
                                cell["shared"],
                                _blank(cell["first_only"]),
                                _blank(cell["second_only"]),
                                _blank(cell["estimate"]),
                                _blank(ci[0]),
                                _blank(ci[1]),
                                _blank(cell["p"]),
                                _blank(cell["adjusted"]),
                                cell["significant"],
                            ]
                        )
                        n += 1
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror}; pass another --attacks-csv"
        ) from None
    return n


def _blank(value: Any) -> Any:
    if value is None:
        return ""
    return round(value, 6) if isinstance(value, float) else value

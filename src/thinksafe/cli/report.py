"""``thinksafe report RUN [RUN...]``: a self-contained HTML report; several runs side by side."""

from __future__ import annotations

import dataclasses
import json
import string
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from thinksafe.cli.app import app, check_output, open_existing_store, stdout
from thinksafe.cli.options import StoreOption
from thinksafe.errors import ConfigError
from thinksafe.report.corrected import run_measurement
from thinksafe.report.html import DEFAULT_MAX_CHARS, pick_judge
from thinksafe.store.sqlite import RunRow

if TYPE_CHECKING:
    from thinksafe.records import AttemptResult
    from thinksafe.report.matrix import Matrix


def shown(row: RunRow) -> RunRow:
    """``row`` with the status a reader should see (``interrupted`` for a killed run)."""
    return dataclasses.replace(row, status=row.shown_status)


def _load_accuracy(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"judge accuracy file {path} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"judge accuracy file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"judge accuracy file {path} must map a judge to"
            ' {"sensitivity": .., "specificity": ..}'
        )
    source = f"from {path.name}"
    return {
        judge: (
            {**entry, "source": source}
            if isinstance(entry, dict) and "sensitivity" in entry
            else entry
        )
        for judge, entry in data.items()
    }


@app.command()
def report(
    runs: Annotated[
        list[str],
        typer.Argument(help="Run ids (or unique prefixes, names, latest). Two or more compare."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    store: StoreOption = None,
    judge: Annotated[
        str | None,
        typer.Option(help="Report this judge's verdicts (default: each run's primary judge)."),
    ] = None,
    redact: Annotated[
        bool,
        typer.Option(
            help="Replace model outputs and must-refuse prompts by their length and a hash."
        ),
    ] = False,
    max_chars: Annotated[
        int, typer.Option(help="Characters of each output kept in the transcript browser.")
    ] = DEFAULT_MAX_CHARS,
    judge_accuracy: Annotated[
        Path | None,
        typer.Option(
            help='JSON file {"JUDGE": {"sensitivity": .., "specificity": ..}} for judge-corrected'
            " rates (default: the run spec's judge_accuracy, else the judge's accuracy measured"
            " by judge-eval --save-accuracy, else the accuracy the judge ships)."
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Also write the models x suites table as CSV: one row per model, suite and"
            " channel (answer, reasoning, either), with intervals, coverage and corrected rates.",
        ),
    ] = None,
    attacks_csv: Annotated[
        Path | None,
        typer.Option(
            "--attacks-csv",
            help="Also write the attacks compared across runs as CSV: per pair of runs on one"
            " suite, attack and channel, each run's unsafe/scored, the paired difference with"
            " its interval, McNemar's p and its Holm-adjusted p across the attacks.",
        ),
    ] = None,
    harm_csv: Annotated[
        Path | None,
        typer.Option(
            "--harm-csv",
            help="Also write the harmfulness of unsafe answers and traces as CSV: per scoring"
            " judge, channel and run its mean score with interval, and the Mann-Whitney test"
            " of each pair of runs.",
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a run, or compare several runs side by side.

    Runs of several models on several suites also print a models x suites table of unsafe
    rates; runs are compared pair-wise only within a suite. Two runs that made the same attacks
    also print each attack's success compared across them (paired by sample, McNemar, Holm
    across the attacks). Several runs also print trace vs
    answer within each run (McNemar) and, where a judge gives harm scores, the harmfulness of
    unsafe answers and traces per run with Mann-Whitney tests between runs."""
    check_output(output, "--output")
    if csv_path is not None:
        check_output(csv_path, "--csv")
    if harm_csv is not None:
        check_output(harm_csv, "--harm-csv")
    if attacks_csv is not None:
        check_output(attacks_csv, "--attacks-csv")
    accuracy = _load_accuracy(judge_accuracy)
    with open_existing_store(store) as db:
        rows = [shown(db.find_run(ref)) for ref in runs]
        if len({row.id for row in rows}) != len(rows):
            raise ConfigError("the same run is named twice; give distinct runs to compare")
        loaded = [(row, db.load_results(row.id)) for row in rows]
        measurements = [
            run_measurement(db, row, pick_judge(row, results, judge)[0]) for row, results in loaded
        ]
    from thinksafe.report.matrix import build_matrix, render_matrix, write_csv

    grid = build_matrix(loaded, judge=judge, measurements=measurements)
    if grid.is_grid:
        render_matrix(grid, stdout())
    if len(loaded) == 2:
        from thinksafe.report.areas import print_pair_areas

        print_pair_areas(loaded, judge, stdout())
        from thinksafe.report.attacks import print_pair_attacks

        print_pair_attacks(loaded, judge, stdout())
    if attacks_csv is not None:
        from thinksafe.report.attacks import pair_attack_rows
        from thinksafe.report.attacks import write_csv as write_attacks_csv

        n = write_attacks_csv(pair_attack_rows(loaded, judge), attacks_csv)
        print(f"wrote {attacks_csv} ({n} rows)", file=sys.stderr)
    if csv_path is not None:
        write_csv(grid, csv_path)
        print(f"wrote {csv_path} ({len(grid.cells) * 3} rows)", file=sys.stderr)
    if len(loaded) > 1 or harm_csv is not None:
        _paired_findings(loaded, grid, judge, harm_csv)
    if len(loaded) == 1:
        from thinksafe.report.html import report_html

        row, results = loaded[0]
        page = report_html(
            row,
            results,
            judge=judge,
            redact=redact,
            max_chars=max_chars,
            judge_accuracy=accuracy,
            measurement=measurements[0],
        )
    else:
        from thinksafe.report.compare import compare_html

        page = compare_html(loaded, judge=judge, measurements=measurements)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror}; pass -o PATH") from None
    size = output.stat().st_size
    print(f"wrote {output} ({size / 1e6:.1f} MB)", file=sys.stderr)


def _paired_findings(
    loaded: Sequence[tuple[RunRow, Sequence[AttemptResult]]],
    grid: Matrix,
    judge: str | None,
    harm_csv: Path | None,
) -> None:
    """Trace vs answer within each run, and the harmfulness of unsafe responses across runs,
    in the terminal (several runs); the harmfulness as CSV when asked."""
    from thinksafe.metrics.trace_answer import trace_vs_answer_text
    from thinksafe.report.harm import build_harm, render_harm
    from thinksafe.report.harm import write_csv as write_harm_csv

    console = stdout()
    harm = build_harm(loaded, judge=judge)
    if len(loaded) > 1:
        for letter, cell in zip(string.ascii_uppercase, grid.cells):
            line = Text(f"{letter}: {cell.model} on {cell.suite}. ", style="bold")
            line.append(trace_vs_answer_text(cell.trace_vs_answer))
            console.print(line)
        render_harm(harm, console)
    if harm_csv is not None:
        rows = write_harm_csv(harm, harm_csv)
        print(f"wrote {harm_csv} ({rows} rows)", file=sys.stderr)

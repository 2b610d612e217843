"""``thinksafe export RUN``: per-attempt, per-channel rows as JSONL, CSV or Parquet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from thinksafe.cli.app import app, check_output, open_existing_store
from thinksafe.cli.options import RunArgument, StoreOption
from thinksafe.errors import ConfigError
from thinksafe.store import export as exporter


@app.command()
def export(
    run: RunArgument,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, csv or parquet (parquet needs -o).")
    ] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Export a run: one row per attempt, channel and judge, with sample metadata."""
    if fmt not in exporter.FORMATS:
        raise ConfigError(
            f"unknown export format {fmt!r}; choose one of {', '.join(exporter.FORMATS)}"
        )
    if fmt not in exporter.TEXT_FORMATS and output is None:
        raise ConfigError(f"{fmt} is a binary format: write it to a file with --output PATH")
    check_output(output, "--output")
    with open_existing_store(store) as db:
        row = db.find_run(run)
        results = db.load_results(row.id)
    judges = list(row.spec.get("judges") or [])
    if output is None:
        exporter.write(fmt, row.id, results, judges, sys.stdout, model=row.model)
    else:
        n = exporter.write_file(fmt, row.id, results, judges, output, model=row.model)
        print(f"wrote {n} rows to {output}", file=sys.stderr)

"""``thinksafe runs`` and ``thinksafe show RUN``."""

from __future__ import annotations

import typer
from rich.table import Table

from thinksafe.cli.app import app, open_existing_store, stdout
from thinksafe.cli.options import RunArgument, StoreOption
from thinksafe.metrics.schema import as_summary
from thinksafe.report.terminal import render_summary
from thinksafe.store.sqlite import RESUME_HINT
from thinksafe.text import cell


@app.command()
def runs(
    store: StoreOption = None,
) -> None:
    """List the runs in the store (a run whose process was killed is ``interrupted``)."""
    with open_existing_store(store) as db:
        rows = db.list_runs()
    table = Table(title=f"{len(rows)} runs")
    table.add_column("run", no_wrap=True)
    for col in ("name", "model", "suite"):
        table.add_column(col, overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("updated", overflow="fold")
    for row in rows:
        table.add_row(
            row.id,
            cell(row.name or ""),
            cell(row.model),
            cell(row.suite),
            row.shown_status,
            row.updated_at,
        )
    stdout().print(table)


@app.command()
def show(
    run: RunArgument,
    store: StoreOption = None,
) -> None:
    """Print a run's summary tables again."""
    with open_existing_store(store) as db:
        row = db.find_run(run)
    out = stdout()
    status = row.shown_status
    if row.summary is None:
        if status == "interrupted":
            out.print(f"run {row.id} was interrupted before it finished; {RESUME_HINT}")
        elif status == "running":
            out.print(
                f"run {row.id} is still running in another process; its summary is stored when"
                " it finishes"
            )
        else:
            out.print(f"run {row.id} is {status} and has no summary yet; run it again to finish")
        raise typer.Exit(1)
    render_summary(as_summary(row.summary), out)
    if status == "interrupted":
        out.print(f"run {row.id} (interrupted; this is its last summary: {RESUME_HINT})")
    else:
        out.print(f"run {row.id} ({status})")

"""On an 80-column terminal the demo's output, `runs`, `suites` and `--help` fit: no number,
interval, header or run id is cut, and no line is wider than the terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from rich.cells import cell_len

WIDTH = 80


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    env["COLUMNS"] = str(WIDTH)
    proc = subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def fits(text: str) -> None:
    assert "…" not in text, text
    for line in text.splitlines():
        assert cell_len(line) <= WIDTH, line


def test_demo_tables_runs_and_suites_fit_80_columns(tmp_path: Path) -> None:
    store = str(tmp_path / "demo.db")
    run = cli("run", "--model", "mock/reasoner", "--suite", "starter", "--store", store)
    fits(run.stdout)
    intervals = re.findall(r"\[\d+\.\d-\d+\.\d\]", run.stdout)
    assert len(intervals) > 20, run.stdout  # every interval whole, in the tables too
    for header in ("Category", "Answer", "Reasoning", "Either", "Channel", "cov."):
        assert header in run.stdout
    run_id = re.findall(r"^run ([0-9a-f]{12,}) ", run.stdout, re.M)[-1]

    listed = cli("runs", "--store", store)
    fits(listed.stdout)
    assert run_id in listed.stdout

    suites = cli("suites")
    fits(suites.stdout)
    assert len(suites.stdout.splitlines()) < 60

    for command in ("run", "judge", "report"):
        helped = cli(command, "--help")
        fits(helped.stdout)
        assert "safety:openai/gpt-4o-mini" in helped.stdout or command != "run"


def test_sweep_table_fits_80_columns(tmp_path: Path) -> None:
    store = str(tmp_path / "sweep.db")
    args = ("run", "--model", "mock/reasoner", "--suite", "starter", "--store", store)
    swept = cli(*args, "--sweep", "max_tokens=8,64", "--no-progress")
    table = swept.stdout.split("Unsafe rate on must-refuse prompts by max_tokens", 1)[1]
    fits(table)
    run_ids = re.findall(r"^runs ([0-9a-f]{12}) ([0-9a-f]{12}) ", swept.stdout, re.M)
    assert run_ids, swept.stdout
    for run_id in run_ids[0]:
        assert run_id in table.split("runs ", 1)[0], table
    assert "cov." in table
    assert len(re.findall(r"\[\d+\.\d-\d+\.\d\]", table)) >= 3, table  # intervals whole


def test_report_of_two_runs_fits_80_columns(tmp_path: Path) -> None:
    store = str(tmp_path / "cmp.db")
    for model in ("refuser", "reasoner"):
        args = ("run", "--model", f"mock/{model}", "--suite", "starter", "--judge", "rules")
        cli(*args, "--limit", "20", "--name", model, "--store", store, "--no-progress")
    shown = cli("report", "refuser", "reasoner", "--store", store, "-o", str(tmp_path / "c.html"))
    fits(shown.stdout)
    assert "A: mock/refuser on starter. Trace vs answer" in shown.stdout

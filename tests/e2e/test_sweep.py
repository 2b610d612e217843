"""``thinksafe run --sweep``: one suite over several settings, one run per setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from thinksafe.errors import ConfigError
from thinksafe.run.sweep import parse_sweep


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    return subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_sweep_over_max_tokens(tmp_path: Path) -> None:
    out = tmp_path / "sweep.json"
    args = [
        "run",
        "--model",
        "mock/reasoner",
        "--suite",
        "starter",
        "--limit",
        "20",
        "--sweep",
        "max_tokens=4,none",
        "--store",
        str(tmp_path / "s.db"),
        "--json",
        str(out),
    ]
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "thinksafe.run.sweep/1"
    assert doc["key"] == "max_tokens"
    assert [p["value"] for p in doc["points"]] == [4, None]
    short, full = doc["points"]
    assert short["run_id"] != full["run_id"]
    # A 4-word budget cuts traces: fewer answers can be scored than with no budget.
    assert short["answer"]["denominator"] < full["answer"]["denominator"]
    assert "thinksafe report" in proc.stdout
    # trace vs answer (McNemar) at each setting, as each run's summary gives it
    for point, summary in zip(doc["points"], doc["summaries"]):
        block = summary["judges"][summary["primary_judge"]]
        assert point["trace_vs_answer"] == block["trace_vs_answer"]["refuse"]
    shown = " ".join(proc.stdout.split())
    assert "max_tokens=4: Trace vs answer" in shown and "max_tokens=none: Trace vs" in shown
    again = cli(*args)
    assert again.returncode == 0, again.stderr
    assert json.loads(out.read_text())["points"][0]["run_id"] == short["run_id"]


@pytest.mark.parametrize(
    "text",
    ["max_tokens=5", "nosuch=1,2", "think_budget=a,b", "thinking=maybe,on", "seed=1,1"],
)
def test_bad_sweeps(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_sweep(text)


def test_thinking_values() -> None:
    assert parse_sweep("thinking=on,off") == ("thinking", [True, False])
    assert parse_sweep("think_budget=0,256") == ("think_budget", [0, 256])

"""Replay of a published attack artifact through the real command line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.artifactfiles import write_artifact, write_behaviours
from tests.e2e.test_cli_errors import assert_one_line_error, run_cli


def test_an_artifact_replay_run_counts_samples_without_a_prompt(tmp_path: Path) -> None:
    csv = write_behaviours(tmp_path / "jbb")
    artifact = write_artifact(tmp_path / "PAIR.json")
    spec = f"jbb-artifact:PAIR@{artifact}"
    store = tmp_path / "s.db"
    proc = run_cli(
        "run",
        "--model",
        "mock/complier",
        "--suite",
        f"jbb@{csv}",
        "--judge",
        "rules",
        "--attack",
        spec,
        "--store",
        str(store),
        env={"COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "no_artifact" in proc.stdout
    assert "Cost per success" in proc.stdout
    with sqlite3.connect(store) as db:
        (spec_json,) = db.execute("SELECT spec_json FROM runs").fetchone()
        sent = db.execute("SELECT COUNT(*) FROM run_attempts").fetchone()[0]
    source = json.loads(spec_json)["attack_sources"][spec]
    assert source["licence"] == "MIT" and source["prompts"] == 2
    assert [m["sample_id"] for m in source["no_artifact"]] == ["jbb-harmful-3"]
    assert sent == 2  # nothing is sent for the behaviour without a prompt


def test_an_artifact_not_cached_offline_is_one_line(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        "--model",
        "mock/complier",
        "--suite",
        "starter",
        "--attack",
        "jbb-artifact:PAIR,model=vicuna-13b-v1.5",
        "--store",
        str(tmp_path / "s.db"),
        env={"THINKSAFE_OFFLINE": "1", "THINKSAFE_CACHE": str(tmp_path / "cache")},
    )
    assert_one_line_error(proc, "jbb-artifact:PAIR@PATH", "vicuna-13b-v1.5.json")

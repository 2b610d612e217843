"""A third-party attack installed as a distribution with an entry point, used from the real
command line: listed by `thinksafe attacks` and run by `--attack NAME`."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import thinksafe
from tests.e2e.test_cli_errors import run_cli
from tests.plugindist import install_plugin


def _env(root: Path) -> dict[str, str]:
    src = str(Path(thinksafe.__file__).resolve().parents[1])
    paths = [str(root), src, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"PYTHONPATH": os.pathsep.join(paths), "COLUMNS": "200"}


def test_an_installed_plugin_attack_is_listed_and_run(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    env = _env(install_plugin(root))
    listed = run_cli("attacks", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert {"demo-shout", "demo-whisper", "base64", "pair"} <= names
    assert "demo-broken" not in names  # a plugin that fails to load is left out, the rest shown
    broken = run_cli(
        *["run", "--model", "mock/echo", "--suite", "starter"], "--attack", "demo-broken", env=env
    )
    assert broken.returncode == 2
    assert "plugin 'demo-broken'" in broken.stderr

    store = tmp_path / "s.db"
    args = ["--model", "mock/echo", "--suite", "starter", "--judge", "rules", "--limit", "2"]
    proc = run_cli("run", *args, "--attack", "demo-shout", "--store", str(store), env=env)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(store) as db:
        attempts = [
            json.loads(row[0]) for row in db.execute("SELECT attempt_json FROM run_attempts")
        ]
    assert len(attempts) == 2
    assert {a["attack"] for a in attempts} == {"demo-shout"}
    assert all(a["messages"][-1]["content"].isupper() for a in attempts)

"""Several processes opening one store and starting the same run at the same moment all
succeed (no ``table runs already exists``, no ``UNIQUE constraint failed``)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Each process waits for the go file, then opens the store and starts the same run.
WORKER = r"""
import os, sys, time
from pathlib import Path
from thinksafe.records import Attempt, Sample, messages_from
from thinksafe.store.sqlite import Store

store, go = sys.argv[1], Path(sys.argv[2])
messages = messages_from([{"role": "user", "content": "hi"}])
sample = Sample(id="s1", suite="t", messages=messages, category="c", harm_area="h",
                expected="refuse")
attempt = Attempt(sample_id="s1", attack="none", messages=sample.messages)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
with Store(store) as db:
    db.start_run("run1", name=None, model="mock/echo", suite="t", spec={},
                 samples=[sample], attempts=[(attempt, "key1")])
"""


def _race(store: Path, tmp: Path, n: int) -> list[subprocess.CompletedProcess[str]]:
    go = tmp / f"go-{store.name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THINKSAFE_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(store), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.05)
    go.touch()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.mark.parametrize("round_", range(2))
def test_processes_starting_one_run_on_one_store_all_succeed(tmp_path: Path, round_: int) -> None:
    store = tmp_path / "new.db"
    for _ in range(2):  # a new store, then the same store again
        for proc in _race(store, tmp_path, 5):
            assert proc.returncode == 0, proc.stderr
        (tmp_path / f"go-{store.name}").unlink()
    db = sqlite3.connect(store)
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM run_attempts").fetchone()[0] == 1
    db.close()

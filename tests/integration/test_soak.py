"""Soak: a run killed with SIGKILL again and again, against a server that fails one call in
five (500, 429, a malformed body), ends in the same summary as a clean run, with no row
stored twice."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeOpenAIServer, Reply, last_user_message
from tests.integration.test_cli_run import _slow_script, _stored, cli, run_args

N = 80
KILLS = 6
FAULT_RATE = 0.2


class Faulty:
    """The answers of ``_slow_script``, but one call in five fails transiently."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults = 0

    def __call__(self, body: Mapping[str, Any]) -> Reply:
        with self.lock:
            roll = self.rng.random()
            kind = self.rng.randrange(3)
        if roll < FAULT_RATE:
            self.faults += 1
            if kind == 0:
                return Reply.error(500, "injected")
            if kind == 1:
                return Reply.error(429, "injected", retry_after="0")
            return Reply.malformed()
        assert last_user_message(body)
        return _slow_script(body)


def _counts(store: Path) -> dict[str, int]:
    db = sqlite3.connect(store)
    try:
        out = {
            t: int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in ("runs", "run_samples", "run_attempts", "completions", "run_verdicts")
        }
        out["duplicate_verdicts"] = int(
            db.execute(
                "SELECT COUNT(*) FROM (SELECT run_id, attempt_id, judge, channel, COUNT(*) c"
                " FROM run_verdicts GROUP BY 1, 2, 3, 4 HAVING c > 1)"
            ).fetchone()[0]
        )
        return out
    finally:
        db.close()


@pytest.mark.slow
def test_repeated_sigkills_under_faults_match_a_clean_run(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(json.dumps({"id": f"s{i}", "prompt": f"question {i}"}) + "\n" for i in range(N)),
        encoding="utf-8",
    )
    extra = ("--max-concurrency", "4", "--max-retries", "12")
    with FakeOpenAIServer(_slow_script, latency_s=0.05) as clean:
        ref_out = tmp_path / "ref.json"
        ref = cli(*run_args(clean, suite, tmp_path / "ref.db", ref_out, *extra))
        assert ref.returncode == 0, ref.stderr

    faulty = Faulty(seed=7)
    with FakeOpenAIServer(faulty, latency_s=0.05) as srv:
        store = tmp_path / "soak.db"
        out = tmp_path / "soak.json"
        args = [
            sys.executable,
            "-m",
            "thinksafe.cli.main",
            *run_args(srv, suite, store, out, *extra),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
        rng = random.Random(3)
        kills = 0
        for _ in range(KILLS):
            before = _stored(store)
            if before >= N:
                break
            proc = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
            )
            target = before + rng.randint(3, 12)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and _stored(store) < target:
                if proc.poll() is not None:
                    break
                time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        assert kills >= 3, "the kills should land mid-run"
        final = cli(*run_args(srv, suite, store, out, *extra))
        assert final.returncode == 0, final.stderr
        assert faulty.faults > 0

    assert json.loads(out.read_text())["judges"] == json.loads(ref_out.read_text())["judges"]
    counts = _counts(store)
    assert counts == {
        "runs": 1,
        "run_samples": N,
        "run_attempts": N,
        "completions": N,
        "run_verdicts": 2 * N,
        "duplicate_verdicts": 0,
    }, counts

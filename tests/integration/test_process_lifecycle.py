"""Process-level behaviour of ``thinksafe run``: request workers die with a killed parent; a
killed run reads as interrupted, a live one as running."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakeserver import FakeOpenAIServer, Reply
from thinksafe.store.sqlite import HEARTBEAT_S

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="request workers are forked on Linux only"
)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)]
)
def test_workers_die_with_their_parent(tmp_path: Path, sig: int) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(json.dumps({"id": f"s{i}", "prompt": f"q {i}"}) + "\n" for i in range(20)),
        encoding="utf-8",
    )
    with FakeOpenAIServer(lambda body: Reply.answer("late", delay_s=8.0)) as srv:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thinksafe.cli.main",
                "run",
                "--model",
                "openai/m",
                "--base-url",
                srv.base_url,
                "--suite",
                f"file:{suite}",
                "--judge",
                "rules",
                "--store",
                str(tmp_path / "s.db"),
                "--workers",
                "2",
                "--no-progress",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                len(_children(proc.pid)) == 2 and len(srv.chat_requests) >= 2
            ):
                time.sleep(0.05)
            workers = _children(proc.pid)
            assert len(workers) == 2, "the run should have forked two workers"
            proc.send_signal(sig)
            proc.wait(timeout=30)
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline and any(_alive(p) for p in workers):
                time.sleep(0.05)
            assert not any(_alive(p) for p in workers), "a worker outlived its parent"
            # nobody holds the caller's pipes any more: reading them ends
            proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # SIGTERM stops the command as Ctrl-C does (exit 128 + 15); SIGKILL cannot be caught
    assert proc.returncode == (128 + sig if sig == signal.SIGTERM else -sig)


def _run_status(store: Path) -> str:
    env = {**_env(), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", "runs", "--store", str(store)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for status in ("interrupted", "running", "complete"):
        if f" {status} " in proc.stdout:
            return status
    raise AssertionError(proc.stdout)


def _age_stamp(store: Path) -> None:
    """Move the run's last stamp ten minutes back, as if that long had passed."""
    db = sqlite3.connect(store, timeout=10)
    db.execute("UPDATE runs SET updated_at='2000-01-01T00:00:00+00:00'")
    db.commit()
    db.close()


def test_a_killed_run_is_interrupted_and_a_live_one_running(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(json.dumps({"id": f"s{i}", "prompt": f"q {i}"}) + "\n" for i in range(3)),
        encoding="utf-8",
    )
    store = tmp_path / "s.db"
    with FakeOpenAIServer(lambda body: Reply.answer("late", delay_s=8.0)) as srv:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thinksafe.cli.main",
                "run",
                "--model",
                "openai/m",
                "--base-url",
                srv.base_url,
                "--suite",
                f"file:{suite}",
                "--judge",
                "rules",
                "--store",
                str(store),
                "--no-progress",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not srv.chat_requests:
                time.sleep(0.05)
            assert srv.chat_requests
            # live: however old its last stamp, the running process stamps it again
            _age_stamp(store)
            time.sleep(HEARTBEAT_S * 2.5)
            assert _run_status(store) == "running"
            live = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "thinksafe.cli.main",
                    "show",
                    "latest",
                    "--store",
                    str(store),
                ],
                capture_output=True,
                text=True,
                env={**_env(), "COLUMNS": "200"},
                timeout=60,
            )
            assert live.returncode == 1
            assert "still running" in live.stdout and "again" not in live.stdout, live.stdout
            proc.kill()
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    _age_stamp(store)  # as if STALE_S had passed with nobody stamping it
    assert _run_status(store) == "interrupted"
    shown = subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", "show", "latest", "--store", str(store)],
        capture_output=True,
        text=True,
        env={**_env(), "COLUMNS": "200"},
        timeout=60,
    )
    assert "interrupted" in shown.stdout
    assert "run the same command again to resume" in shown.stdout

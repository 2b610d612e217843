"""Ctrl-C on a terminal: the run stops with exit code 130 and says how to resume."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakeserver import FakeOpenAIServer, Reply, last_user_message

pty = pytest.importorskip("pty")


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        seen += chunk
        if needle and needle in seen:
            break
    return seen


def test_ctrl_c_on_a_terminal_says_how_to_resume(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(json.dumps({"id": f"s{i}", "prompt": f"q {i}"}) + "\n" for i in range(5)),
        encoding="utf-8",
    )
    with FakeOpenAIServer(lambda body: Reply.answer("late", delay_s=6.0)) as srv:
        argv = [
            sys.executable,
            "-c",
            "import sys; print('started', flush=True);"
            " from thinksafe.cli.main import entry; entry()",
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
            "--no-progress",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
        pid, fd = pty.fork()
        if pid == 0:  # the child: a session on its own terminal
            os.execve(sys.executable, argv, env)
        try:
            seen = _read_until(fd, b"started", 60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not srv.chat_requests:
                time.sleep(0.05)
            assert srv.chat_requests, "the run never called the server"
            os.write(fd, b"\x03")  # Ctrl-C, as a user types it
            seen += _read_until(fd, b"", 30)
            _, status = os.waitpid(pid, 0)
        finally:
            os.close(fd)
    text = seen.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert "run the same command to resume" in text
    assert "Traceback" not in text
    # At once, not only once the run's stamp has gone stale, it is listed as interrupted.
    listed = subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", "runs", "--store", str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "interrupted" in listed.stdout and "running" not in listed.stdout, listed.stdout


def _run_cli(base_url: str, suite: Path, store: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thinksafe.cli.main",
            "run",
            "--model",
            "openai/m",
            "--base-url",
            base_url,
            "--suite",
            f"file:{suite}",
            "--judge",
            "rules",
            "--store",
            str(store),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_sigterm_stops_like_ctrl_c_and_keeps_what_was_done(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    prompts = [f"fast {i}" for i in range(3)] + [f"slow {i}" for i in range(3)]
    suite.write_text(
        "".join(json.dumps({"id": f"s{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)),
        encoding="utf-8",
    )
    store = tmp_path / "s.db"
    stalling = [True]

    def reply(body: dict[str, object]) -> Reply:
        slow = stalling[0] and last_user_message(body).startswith("slow")
        return Reply.answer("I can't help with that.", delay_s=60.0 if slow else 0.0)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    with FakeOpenAIServer(reply) as srv:
        proc = _run_cli(srv.base_url, suite, store)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(srv.chat_requests) < 6:
                time.sleep(0.05)
            assert len(srv.chat_requests) == 6
            time.sleep(0.3)  # the fast replies are in; the slow ones are not
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 143, err
        assert "run the same command to resume" in err and "Traceback" not in err, err
        listed = subprocess.run(
            [sys.executable, "-m", "thinksafe.cli.main", "runs", "--store", str(store)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert "interrupted" in listed.stdout, listed.stdout
        # Resumed, only the calls that had not come back are made again.
        stalling[0] = False
        before = len(srv.chat_requests)
        again = _run_cli(srv.base_url, suite, store)
        _, err = again.communicate(timeout=120)
        asked = sorted(last_user_message(r.body) for r in srv.chat_requests[before:])
    assert again.returncode == 0, err
    assert asked == [f"slow {i}" for i in range(3)], asked

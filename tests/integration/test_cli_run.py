"""The real CLI against a real OpenAI-compatible server on 127.0.0.1.

The server answers by markers in the prompt, in both reasoning shapes (a ``reasoning_content``
field and ``<think>`` tags), and fails in the ways real servers fail (429 with Retry-After, 500,
a reply slower than the timeout, a malformed body). The ``scripted`` judge labels text containing
``[[UNSAFE]]`` unsafe, so every number in the summary is known in advance.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeOpenAIServer, Reply, last_user_message

SECRET = "sk-test-SECRET-4f9a2c7e1b"

REFUSAL = "I can't help with that."
CLEAN_TRACE = "This asks for something harmful. I should decline."
LEAKY_TRACE = "They want steps. Step 1 is [[UNSAFE]] the details. But I should decline."

SUITE = [
    # id, prompt, expected
    ("r1", "[safe] question one", "refuse"),
    ("r2", "[leak] question two", "refuse"),
    ("r3", "[unsafe-think] question three", "refuse"),
    ("r4", "[unsafe-clean] question four", "refuse"),
    ("r5", "[429] [safe] question five", "refuse"),
    ("r6", "[500] [unsafe-think] question six", "refuse"),
    ("r7", "[malformed] [safe] question seven", "refuse"),
    ("r8", "[dead] question eight", "refuse"),
    ("c1", "[comply] benign one", "comply"),
    ("c2", "[overrefuse] benign two", "comply"),
    ("c3", "[slow] [comply] benign three", "comply"),
]


class Script:
    """Replies by marker; failure markers fail the first calls of a prompt, then answer."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def __call__(self, body: Mapping[str, Any]) -> Reply:
        prompt = last_user_message(body)
        n = self.calls[prompt] = self.calls.get(prompt, 0) + 1
        if "[dead]" in prompt:
            return Reply.error(503, "overloaded")
        if "[429]" in prompt and n == 1:
            return Reply.error(429, "slow down", retry_after="0")
        if "[500]" in prompt and n <= 2:
            return Reply.error(500, "boom")
        if "[malformed]" in prompt and n == 1:
            return Reply.malformed()
        if "[slow]" in prompt and n == 1:
            return Reply.slow(3.0)
        if "[safe]" in prompt:
            return Reply.answer(REFUSAL, reasoning_content=CLEAN_TRACE)
        if "[leak]" in prompt:
            return Reply.answer(REFUSAL, reasoning_content=LEAKY_TRACE)
        if "[unsafe-think]" in prompt:
            return Reply.answer("<think>Plan: [[UNSAFE]] steps.</think>Sure: [[UNSAFE]] here.")
        if "[unsafe-clean]" in prompt:
            return Reply.answer("Sure: [[UNSAFE]] here.", reasoning_content="Simple request.")
        if "[overrefuse]" in prompt:
            return Reply.answer(REFUSAL, reasoning="This sounds risky; decline.")
        return Reply.answer("Here is a helpful answer.", reasoning="Benign; answer it.")


def write_suite(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for sid, prompt, expected in SUITE:
            row = {"id": sid, "prompt": prompt, "category": "test", "expected": expected}
            fh.write(json.dumps(row) + "\n")
    return path


def cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=180,
    )


def run_args(srv: FakeOpenAIServer, suite: Path, store: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--model",
        "openai/fake-model",
        "--base-url",
        srv.base_url,
        "--suite",
        f"file:{suite}",
        "--judge",
        "scripted",
        "--store",
        str(store),
        "--json",
        str(out),
        "--timeout",
        "1",
        "--max-retries",
        "2",
        "--max-concurrency",
        "4",
        *extra,
    ]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(Script()) as srv:
        yield srv


def test_run_numbers_cache_and_secrets(server: FakeOpenAIServer, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.jsonl")
    store = tmp_path / "store.db"
    out = tmp_path / "summary.json"
    proc = cli(*run_args(server, suite, store, out), env={"OPENAI_API_KEY": SECRET})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())
    assert summary["schema"] == "thinksafe.summary/2"
    block = summary["judges"]["scripted"]
    assert block["judge"]["spec"] == "scripted"
    assert "Scripted fake judge" in block["judge"]["note"]

    refuse = block["unsafe"]["refuse"]["overall"]
    # answer: r3, r4, r6 unsafe; r1, r2, r5, r7 safe; r8 failed for good
    assert (refuse["answer"]["numerator"], refuse["answer"]["denominator"]) == (3, 7)
    assert refuse["answer"]["total"] == 8
    assert refuse["answer"]["outcomes"]["error"] == 1
    assert refuse["answer"]["coverage"] == pytest.approx(7 / 8)
    lo, hi = refuse["answer"]["ci95"]
    assert lo < 3 / 7 < hi
    # reasoning: r2 (leaky field), r3 and r6 (think tags) unsafe
    assert (refuse["reasoning"]["numerator"], refuse["reasoning"]["denominator"]) == (3, 7)
    # either: r2, r3, r4, r6
    assert (refuse["either"]["numerator"], refuse["either"]["denominator"]) == (4, 7)

    cells = block["reasoning_x_answer"]["refuse"]["overall"]["cells"]
    assert cells["safe/safe"]["count"] == 3
    assert cells["leaky_reasoning"]["count"] == 1
    assert cells["unsafe_answer_clean_trace"]["count"] == 1
    assert cells["unsafe/unsafe"]["count"] == 2

    over = block["over_refusal"]["overall"]
    assert (over["numerator"], over["denominator"]) == (1, 3)

    requests_first = server.request_count
    # r8: 3 tries; r5: 2; r6: 3; r7: 2; c3: 2 (the slow reply timed out); 6 others: 1
    chat = len(server.chat_requests)
    assert chat == 3 + 2 + 3 + 2 + 2 + 6
    assert all(r.headers.get("Authorization") == f"Bearer {SECRET}" for r in server.chat_requests)

    # The same command again: every successful completion is cached; only the dead prompt
    # is tried again.
    server.reset()
    proc2 = cli(*run_args(server, suite, store, out), env={"OPENAI_API_KEY": SECRET})
    assert proc2.returncode == 0, proc2.stderr
    assert [r.prompt for r in server.chat_requests] == ["[dead] question eight"] * 3
    summary2 = json.loads(out.read_text())
    assert summary2["judges"] == summary["judges"]
    assert summary2["run"]["id"] == summary["run"]["id"]
    assert requests_first > 0

    # The secret never reaches the store, the exports or the summary.
    dump = "\n".join(sqlite3.connect(store).iterdump())
    assert SECRET not in dump
    assert SECRET not in store.read_bytes().decode("latin-1")
    assert SECRET not in out.read_text()
    for fmt in ("jsonl", "csv"):
        exported = cli("export", summary["run"]["id"], "--format", fmt, "--store", str(store))
        assert exported.returncode == 0, exported.stderr
        assert SECRET not in exported.stdout
        assert "[[UNSAFE]]" in exported.stdout
    assert SECRET not in proc.stdout + proc.stderr


def test_everything_cached_needs_no_server(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.jsonl")
    store = tmp_path / "store.db"
    out = tmp_path / "summary.json"
    script = Script()
    with FakeOpenAIServer(lambda b: Reply.answer("ok", reasoning_content="fine")) as srv:
        base = srv.base_url
        assert cli(*run_args(srv, suite, store, out)).returncode == 0
    del script
    # The server is gone, and the same command still completes from the store.

    class Gone:
        base_url = base

    proc = cli(*run_args(Gone(), suite, store, out))  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stderr
    assert "0 model calls" in proc.stdout


def test_max_error_rate_exits_non_zero(server: FakeOpenAIServer, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.jsonl")
    proc = cli(
        *run_args(server, suite, tmp_path / "s.db", tmp_path / "o.json", "--max-error-rate", "0")
    )
    assert proc.returncode == 1
    assert "max-error-rate" in proc.stderr


def _slow_script(body: Mapping[str, Any]) -> Reply:
    prompt = last_user_message(body)
    n = int(prompt.split()[-1])
    if n % 5 == 0:
        return Reply.answer("Sure: [[UNSAFE]] content.", reasoning_content="plan [[UNSAFE]]")
    if n % 7 == 0:
        return Reply.answer(REFUSAL, reasoning_content=LEAKY_TRACE)
    return Reply.answer(f"<think>{CLEAN_TRACE}</think>{REFUSAL}", delay_s=0.0)


def _stored(store: Path) -> int:
    """Completions committed so far (0 while the store does not exist yet)."""
    if not store.exists():
        return 0
    try:
        db = sqlite3.connect(store, timeout=0.1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


def _comparable(summary: Mapping[str, Any]) -> Any:
    return summary["judges"]


def test_sigkill_resumes_to_identical_results(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    with suite.open("w") as fh:
        for i in range(60):
            fh.write(json.dumps({"id": f"s{i}", "prompt": f"question {i}"}) + "\n")
    with FakeOpenAIServer(_slow_script, latency_s=0.1) as srv:
        # An uninterrupted run in its own store.
        ref_out = tmp_path / "ref.json"
        ref = cli(*run_args(srv, suite, tmp_path / "ref.db", ref_out, "--max-concurrency", "2"))
        assert ref.returncode == 0, ref.stderr

        store = tmp_path / "killed.db"
        out = tmp_path / "killed.json"
        args = run_args(srv, suite, store, out, "--max-concurrency", "2")
        full = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
        for stop_at in (8, 20):
            proc = subprocess.Popen(
                [sys.executable, "-m", "thinksafe.cli.main", *args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=full,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _stored(store) < stop_at:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
        db = sqlite3.connect(store)
        done_before = db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
        db.close()
        assert 0 < done_before < 60, "the kill should land mid-run"

        srv.reset()
        resumed = cli(*args)
        assert resumed.returncode == 0, resumed.stderr
        assert len(srv.chat_requests) <= 60 - done_before
        assert "resumed" in resumed.stdout

    assert _comparable(json.loads(out.read_text())) == _comparable(json.loads(ref_out.read_text()))
    db = sqlite3.connect(store)
    for table, expected in (
        ("run_attempts", 60),
        ("run_samples", 60),
        ("completions", 60),
        ("runs", 1),
    ):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == expected, table
    # every attempt has exactly one verdict per judged channel
    dup = db.execute(
        "SELECT COUNT(*) FROM (SELECT run_id, attempt_id, judge, channel, COUNT(*) c"
        " FROM run_verdicts GROUP BY 1, 2, 3, 4 HAVING c > 1)"
    ).fetchone()[0]
    assert dup == 0
    assert db.execute("SELECT COUNT(*) FROM run_verdicts").fetchone()[0] == 120

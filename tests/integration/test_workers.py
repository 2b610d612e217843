"""Requests sent from forked worker processes (``--workers``): same results as one process,
the cache still answers a second run, a dying worker costs only its own requests, and the
rules for choosing how many workers.

Forking happens in fresh interpreters (the CLI, or a small script), never inside the test
process, which may have threads running."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from thinksafe.errors import ConfigError
from thinksafe.run.engine import RunSpec
from thinksafe.run.evaluate import resolve_workers
from thinksafe.run.workers import AUTO_MIN_CONCURRENCY, AUTO_WORKERS, can_fork

REPO = Path(__file__).resolve().parents[2]
FAKESERVER = REPO / "tests" / "fakeserver.py"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="worker processes are forked (Linux only)"
)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(FAKESERVER), "--port", "0", "--latency", "0.02"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


def _suite(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            prompt = f"Prompt {i}: how do tides work?" + (" [refuse]" if i % 3 == 0 else "")
            expected = "refuse" if i % 3 == 0 else "comply"
            fh.write(json.dumps({"id": f"p{i}", "prompt": prompt, "expected": expected}) + "\n")
    return path


def _run(url: str, suite: Path, store: Path, workers: int, out: Path) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "thinksafe",
            "run",
            "--model",
            "openai/test-model",
            "--base-url",
            url,
            "--suite",
            f"file:{suite}",
            "--store",
            str(store),
            "--max-concurrency",
            "8",
            "--workers",
            str(workers),
            "--json",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out.parent)},
    )
    assert proc.returncode == 0, proc.stderr
    document: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return document


def _export(store: Path, run_id: str) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "thinksafe", "export", run_id, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    for row in rows:  # how long a call took differs between runs
        row.pop("latency_s", None)
        completion = row.get("completion")
        if isinstance(completion, dict):
            completion.pop("latency_s", None)
    return rows


def test_workers_give_the_same_results_and_the_cache_still_answers(
    server_url: str, tmp_path: Path
) -> None:
    suite = _suite(tmp_path / "suite.jsonl", 30)
    one = _run(server_url, suite, tmp_path / "one.db", 1, tmp_path / "one.json")
    two = _run(server_url, suite, tmp_path / "two.db", 2, tmp_path / "two.json")
    assert one["run"]["id"] == two["run"]["id"]  # type: ignore[index]
    assert one["judges"] == two["judges"]
    run_id = str(one["run"]["id"])  # type: ignore[index]
    rows = _export(tmp_path / "two.db", run_id)
    assert len(rows) > 30 and rows == _export(tmp_path / "one.db", run_id)
    again = _run(server_url, suite, tmp_path / "two.db", 2, tmp_path / "again.json")
    assert again["judges"] == two["judges"]


DYING = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from thinksafe.records import Completion, messages_from
    from thinksafe.run.retry import RetryPolicy
    from thinksafe.config import GenerationConfig
    from thinksafe.run.workers import WorkerPool

    class Dying:
        spec = "test/dying"
        def identity(self): return {"name": "dying"}
        async def check(self): return None
        async def aclose(self): return None
        async def generate(self, messages, config):
            text = messages[-1].content
            if text == "die":
                os._exit(3)
            await asyncio.sleep(0.01)
            return Completion(answer="echo " + text)

    pool = WorkerPool.fork(2, target=Dying(), generation=GenerationConfig(),
                           retry=RetryPolicy(max_attempts=1))

    async def main():
        await pool.start()
        first = await asyncio.gather(*(pool.generate(messages_from(f"q{i}")) for i in range(6)))
        died = await pool.generate(messages_from("die"))
        await asyncio.sleep(0.2)
        alive = pool.alive
        after = await asyncio.gather(*(pool.generate(messages_from(f"r{i}")) for i in range(4)))
        await pool.generate(messages_from("die"))
        await asyncio.sleep(0.2)
        none_left = await pool.generate(messages_from("late"))
        await pool.aclose()
        print(json.dumps({
            "first": [c.answer for c in first],
            "died": died.error,
            "alive": alive,
            "after": [c.answer for c in after],
            "none_left": none_left is None,
        }))

    asyncio.run(main())
    """
)


def test_a_dying_worker_fails_only_its_own_requests(tmp_path: Path) -> None:
    script = tmp_path / "dying.py"
    script.write_text(DYING, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["first"] == [f"echo q{i}" for i in range(6)]
    assert "stopped unexpectedly" in out["died"]
    assert out["alive"] == 1
    assert out["after"] == [f"echo r{i}" for i in range(4)]
    assert out["none_left"] is True


def test_how_many_workers_a_run_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("thinksafe.run.workers.can_fork", lambda: True)
    monkeypatch.setattr("thinksafe.run.build.can_fork", lambda: True)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    wide = AUTO_MIN_CONCURRENCY
    assert resolve_workers(RunSpec(model="openai/m", suite="starter", max_concurrency=wide)) == (
        AUTO_WORKERS
    )
    assert resolve_workers(RunSpec(model="openai/m", suite="starter", max_concurrency=16)) == 1
    assert resolve_workers(RunSpec(model="mock/reasoner", suite="s", max_concurrency=wide)) == 1
    assert (
        resolve_workers(
            RunSpec(model="openai/m", suite="s", max_concurrency=wide), lambda m, c: None
        )  # type: ignore[arg-type,return-value]
        == 1
    )
    assert resolve_workers(RunSpec(model="openai/m", suite="s", workers=4)) == 4
    assert resolve_workers(RunSpec(model="openai/m", suite="s", workers=4, max_concurrency=2)) == 2
    with pytest.raises(ConfigError, match="openai"):
        resolve_workers(RunSpec(model="mock/reasoner", suite="s", workers=2))
    with pytest.raises(ConfigError, match="--workers"):
        resolve_workers(RunSpec(model="openai/m", suite="s", workers=-1))
    monkeypatch.setattr("thinksafe.run.build.can_fork", lambda: False)
    with pytest.raises(ConfigError, match="Linux"):
        resolve_workers(RunSpec(model="openai/m", suite="s", workers=2))


def test_a_process_with_threads_does_not_fork() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        thread.join()

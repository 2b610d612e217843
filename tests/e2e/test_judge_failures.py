"""A run whose judge could not be reached is a failed run: it says why and exits non-zero,
as a run whose model could not be reached does."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.test_cli_errors import free_port, run_cli
from tests.fakeserver import FakeOpenAIServer, Reply


def run_judged(judge_url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``thinksafe run`` of mock/refuser on two starter prompts, judged by ``safety:openai/j``
    at ``judge_url``."""
    return run_cli(
        "run",
        "--model",
        "mock/refuser",
        "--suite",
        "starter",
        "--limit",
        "2",
        "--judge",
        "safety:openai/j",
        "--judge-base-url",
        judge_url,
        *extra,
        "--no-progress",
        "--store",
        str(tmp_path / "s.db"),
    )


def test_run_whose_judge_is_unreachable_exits_1_and_says_why(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc = run_judged(url, tmp_path, "--max-retries", "0")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "judge call(s) failed" in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "no call of judge safety:openai/j succeeded" in last, proc.stderr
    assert "127.0.0.1" in last


def test_run_whose_judge_calls_all_fail_with_one_client_error_exits_2(tmp_path: Path) -> None:
    with FakeOpenAIServer(script=lambda body: Reply.error(404, "no such model j")) as srv:
        proc = run_judged(srv.base_url, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "404" in last, proc.stderr
    # the judge's server is set with --judge-base-url, not the target's --base-url
    assert "--judge-base-url" in last and " --base-url" not in last, last


def test_judge_command_whose_judge_is_unreachable_exits_1(tmp_path: Path) -> None:
    transcripts = tmp_path / "t.jsonl"
    rows = [{"prompt": "p1", "response": "r1"}, {"prompt": "p2", "response": "r2"}]
    transcripts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = run_cli(
        "judge",
        str(transcripts),
        "--judge",
        "safety:openai/j",
        "--judge-base-url",
        f"http://127.0.0.1:{free_port()}/v1",
        "--max-retries",
        "0",
        "--no-progress",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert proc.returncode == 1, proc.stderr
    assert "no call of judge safety:openai/j succeeded" in proc.stderr, proc.stderr


def test_a_judge_that_answers_is_not_a_failure(tmp_path: Path) -> None:
    reply = Reply.answer('{"label": "safe", "refusal": "full", "rationale": "declines"}')
    with FakeOpenAIServer(script=lambda body: reply) as srv:
        proc = run_judged(srv.base_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "judge call(s) failed" not in proc.stderr


def test_judge_eval_whose_judge_is_unreachable_exits_1_and_saves_no_accuracy(
    tmp_path: Path,
) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("prompt,response,human\nhow to hurt,Sure: step 1,unsafe\nhi,hello,safe\n")
    store = tmp_path / "s.db"
    proc = run_cli(
        "judge-eval",
        str(labelled),
        "--label-column",
        "human",
        "--judge",
        "safety:openai/j",
        "--judge-base-url",
        f"http://127.0.0.1:{free_port()}/v1",
        "--max-retries",
        "0",
        "--save-accuracy",
        "--no-progress",
        "--store",
        str(store),
    )
    assert proc.returncode == 1, proc.stderr
    assert "no call of judge safety:openai/j succeeded" in proc.stderr, proc.stderr
    assert "saved the measured accuracy" not in proc.stdout
    with sqlite3.connect(store) as db:
        tables = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        saved = [r for t in tables if "accuracy" in t for r in db.execute(f"SELECT * FROM {t}")]
    assert saved == []


def test_unreachable_attacker_names_the_judge_server_flags(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        "--model",
        "mock/reasoner",
        "--suite",
        "starter",
        "--limit",
        "1",
        "--judge",
        "rules",
        "--attack",
        "past-tense:attacker=openai/x",
        "--judge-base-url",
        f"http://127.0.0.1:{free_port()}/v1",
        "--no-progress",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "attacker openai/x" in lines[0] and "cannot reach" in lines[0], lines[0]
    assert "--judge-base-url" in lines[0] and " --base-url" not in lines[0], lines[0]

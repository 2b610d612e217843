"""Prefill, attacker rewrites and packaged templates through the real command line."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from tests.e2e.test_cli_errors import assert_one_line_error, run_cli
from tests.fakeserver import FakeOpenAIServer, Reply
from tests.templatefiles import TEMPLATES, install_pyrit


def test_prefill_on_a_target_that_cannot_continue_is_refused_before_any_call(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer() as srv:
        proc = run_cli(
            "run",
            "--model",
            "ollama/some-model",
            "--base-url",
            srv.base_url,
            "--suite",
            "starter",
            "--attack",
            "none",
            "--attack",
            "forged-thinking",
            "--store",
            str(tmp_path / "s.db"),
        )
        assert_one_line_error(proc, "'forged-thinking'", "ollama/some-model")
        assert srv.request_count == 0


def past(body: dict[str, Any]) -> Reply:
    prompt = body["messages"][-1]["content"]
    request = prompt.split(">>>\n", 1)[1].split("\n<<<END-", 1)[0]
    return Reply.answer(f"Long ago, {request}")


def test_a_past_tense_run_again_makes_no_call(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    args = [
        "run",
        "--model",
        "mock/echo",
        "--suite",
        "starter",
        "--limit",
        "5",
        "--judge",
        "rules",
        "--attack",
        "past-tense:attacker=openai/rewriter",
        "--judge-base-url",
        "",  # filled below
        "--store",
        str(store),
    ]
    with FakeOpenAIServer(past) as srv:
        args[args.index("--judge-base-url") + 1] = srv.base_url
        first = run_cli(*args)
        assert first.returncode == 0, first.stderr
        calls = srv.request_count
        assert len(srv.chat_requests) == 5
        again = run_cli(*args)
        assert again.returncode == 0, again.stderr
        assert srv.request_count == calls
    assert "0 model calls" in again.stdout
    with sqlite3.connect(store) as db:
        sent = [json.loads(r[0]) for r in db.execute("SELECT attempt_json FROM run_attempts")]
    assert len(sent) == 5
    assert all(a["messages"][-1]["content"].startswith("Long ago, ") for a in sent)


def test_a_pyrit_template_run_records_where_the_template_came_from(tmp_path: Path) -> None:
    site = install_pyrit(tmp_path / "p", version="0.0.9")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    store = tmp_path / "s.db"
    proc = run_cli(
        "run",
        "--model",
        "mock/echo",
        "--suite",
        "starter",
        "--limit",
        "3",
        "--judge",
        "rules",
        "--attack",
        "pyrit-template:test_persona",
        "--store",
        str(store),
        env={"PYTHONPATH": path},
    )
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(store) as db:
        sent = [json.loads(r[0]) for r in db.execute("SELECT attempt_json FROM run_attempts")]
        (spec,) = [json.loads(r[0]) for r in db.execute("SELECT spec_json FROM runs")]
    head = TEMPLATES["test_persona"].split("{{")[0]
    assert all(a["messages"][-1]["content"].startswith(head) for a in sent)
    assert all(a["attack_args"]["template"]["version"] == "0.0.9" for a in sent)
    source = spec["attack_sources"]["pyrit-template:test_persona"]
    assert (source["package"], source["licence"]) == ("pyrit", "MIT")
    missing = run_cli(
        "run",
        "--model",
        "mock/echo",
        "--attack",
        "pyrit-template:nothing_like_it",
        "--store",
        str(store),
        env={"PYTHONPATH": path},
    )
    assert_one_line_error(missing, "no jailbreak template 'nothing_like_it'")

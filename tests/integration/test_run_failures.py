"""Runs in which calls fail, through the real CLI against a real server on 127.0.0.1: the
reasons are shown, a run with no successful call exits non-zero, and one whose calls all failed
with the same client error is a user mistake (one line with the server's reason, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakeserver import FakeOpenAIServer, Reply
from tests.integration.test_cli_run import cli


def _suite(path: Path, n: int = 3) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"s{i}", "prompt": f"question {i}"}) + "\n" for i in range(n)),
        encoding="utf-8",
    )
    return path


def _run(srv: FakeOpenAIServer, tmp: Path, *extra: str) -> Any:
    return cli(
        "run",
        "--model",
        "openai/no-such-model",
        "--base-url",
        srv.base_url,
        "--suite",
        f"file:{_suite(tmp / 'suite.jsonl')}",
        "--judge",
        "rules",
        "--store",
        str(tmp / "s.db"),
        "--timeout",
        "5",
        *extra,
    )


def test_every_call_404_is_one_line_with_the_servers_reason(tmp_path: Path) -> None:
    reason = "The model `no-such-model` does not exist"
    with FakeOpenAIServer(lambda body: Reply.error(404, reason)) as srv:
        proc = _run(srv, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: model not found on the server")
    assert reason in last


def test_no_call_succeeded_exits_1_and_says_why(tmp_path: Path) -> None:
    page = b"<html><body>Proxy login required</body></html>"
    with FakeOpenAIServer(lambda body: Reply.malformed(page)) as srv:
        proc = _run(srv, tmp_path, "--max-retries", "0")
    assert proc.returncode == 1, proc.stderr
    assert "no model call succeeded" in proc.stderr
    assert "not a chat completion" in proc.stderr
    assert "3 x" in proc.stderr


def test_some_failures_are_listed_but_the_run_succeeds(tmp_path: Path) -> None:
    def script(body: dict[str, Any]) -> Reply:
        text = str(body["messages"][-1]["content"])
        return Reply.error(400, "bad option") if text.endswith("0") else Reply.answer("Sure.")

    with FakeOpenAIServer(script) as srv:
        proc = _run(srv, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 model call(s) failed" in proc.stderr
    assert "bad option" in proc.stderr


PAGE = (
    "<html>\n  <body>\n    <h1>Error response</h1>\n    <p>Unsupported method</p>\n"
    "  </body>\n</html>"
)


def test_a_multi_line_server_reason_is_shown_on_one_line(tmp_path: Path) -> None:
    with FakeOpenAIServer(lambda body: Reply.error(501, PAGE)) as srv:
        proc = _run(srv, tmp_path, "--max-retries", "0")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "3 model call(s) failed; most frequent reasons:", proc.stderr
    assert len(lines) == 3, proc.stderr  # the reason, then why the run failed
    assert "<h1>Error response</h1> <p>Unsupported method</p>" in lines[1]
    assert lines[2].startswith("no model call succeeded") and "Unsupported method" in lines[2]


def test_a_multi_line_client_error_is_one_line(tmp_path: Path) -> None:
    with FakeOpenAIServer(lambda body: Reply.error(404, PAGE)) as srv:
        proc = _run(srv, tmp_path)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "<p>Unsupported method</p> </body>" in last, proc.stderr

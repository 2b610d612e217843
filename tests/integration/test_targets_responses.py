"""The openai-responses/ target against a real Responses API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakeresponses import Answer, FakeResponsesServer, Rule
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.records import Completion, Message, messages_from
from thinksafe.run.build import build_target
from thinksafe.run.retry import RetryPolicy, call_with_retries
from thinksafe.targets.responses import ResponsesTarget

SECRET = "sk-test-SECRET-responses-0123456789"

RULES = [
    Rule("summ", Answer("The answer.", summary="**Planning**\n\nI weigh the request.")),
    Rule("rawtext", Answer("The answer.", reasoning_text="step one, step two")),
    Rule("hidden", Answer("The answer.", reasoning_hidden=True)),
    Rule("plain", Answer("Plain.")),
    Rule("cutthink", Answer(None, summary="Partial plan", status="incomplete",
                             incomplete_reason="max_output_tokens")),
    Rule("cutanswer", Answer("Half an ans", summary="Plan", status="incomplete",
                              incomplete_reason="max_output_tokens")),
    Rule("filtered", Answer(None, status="incomplete", incomplete_reason="content_filter")),
    Rule("refusal", Answer(None, summary="Not this one.", refusal="I can't help with that.")),
    Rule("failed500", Answer(None, status="failed", error_code="server_error")),
    Rule("failedbad", Answer(None, status="failed", error_code="invalid_prompt")),
    Rule("flaky", Answer.http_error(429, "busy", **{"Retry-After": "0"}), times=2),
    Rule("flaky", Answer("Recovered.", summary="ok")),
    Rule("e400", Answer.http_error(400, f"bad request; key {SECRET}")),
    Rule("e503", Answer.http_error(503, "maintenance")),
    Rule("garbage", Answer(raw_body=b"<html>502</html>")),
    Rule("usage", Answer("x", usage={"input_tokens": 11, "output_tokens": 40,
                                     "output_tokens_details": {"reasoning_tokens": 32}})),
]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer(RULES) as srv:
        yield srv


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def ask_all(
    url: str, prompts: list[str], config: GenerationConfig | None = None, model: str = "o4-mini"
) -> list[Completion | ProviderError]:
    target = build_target(f"openai-responses/{model}", ConnectionConfig(base_url=url))
    assert isinstance(target, ResponsesTarget)

    async def main() -> list[Completion | ProviderError]:
        out: list[Completion | ProviderError] = []
        try:
            for prompt in prompts:
                try:
                    out.append(
                        await target.generate(messages_from(prompt), config or GenerationConfig())
                    )
                except ProviderError as exc:
                    out.append(exc)
        finally:
            await target.aclose()
        return out

    return asyncio.run(main())


def ask(url: str, prompt: str, config: GenerationConfig | None = None) -> Completion:
    (out,) = ask_all(url, [prompt], config)
    assert isinstance(out, Completion), out
    return out


def fail(url: str, prompt: str) -> ProviderError:
    (out,) = ask_all(url, [prompt])
    assert isinstance(out, ProviderError), out
    return out


def bodies_for(srv: FakeResponsesServer, prompt: str) -> list[Any]:
    return [
        r.body
        for r in srv.response_requests
        if isinstance(r.body, dict) and r.body["input"][-1]["content"] == prompt
    ]


def test_the_summary_is_the_trace(server: FakeResponsesServer) -> None:
    c = ask(server.base_url, "summ please")
    assert (c.answer, c.reasoning, c.reasoning_kind) == (
        "The answer.",
        "**Planning**\n\nI weigh the request.",
        "summary",
    )
    assert c.finish_reason == "stop" and c.status == "ok"


def test_reasoning_text_is_raw_hidden_is_redacted_none_is_absent(
    server: FakeResponsesServer,
) -> None:
    raw, hidden, plain = ask_all(server.base_url, ["rawtext", "hidden", "plain"])
    assert isinstance(raw, Completion) and isinstance(hidden, Completion)
    assert isinstance(plain, Completion)
    assert (raw.reasoning, raw.reasoning_kind) == ("step one, step two", "raw")
    assert (hidden.reasoning, hidden.reasoning_kind) == ("", "redacted")
    assert (plain.reasoning, plain.reasoning_kind) == ("", "absent")


def test_the_request_body(server: FakeResponsesServer) -> None:
    config = GenerationConfig(
        system_prompt="Be safe.", max_tokens=900, reasoning_effort="high", seed=3
    )
    ask(server.base_url, "summ body", config)
    (body,) = bodies_for(server, "summ body")
    assert body == {
        "model": "o4-mini",
        "input": [
            {"role": "system", "content": "Be safe."},
            {"role": "user", "content": "summ body"},
        ],
        "store": False,
        "reasoning": {"effort": "high", "summary": "auto"},
        "max_output_tokens": 900,
    }


def test_conversation_turns_and_extra_body_are_sent(server: FakeResponsesServer) -> None:
    target = build_target("openai-responses/gpt-5", ConnectionConfig(base_url=server.base_url))
    messages = (
        Message("user", "hello"),
        Message("assistant", "Hi."),
        Message("user", "summ turns"),
    )
    config = GenerationConfig(temperature=0.5, extra_body={"reasoning": {"summary": "detailed"}})

    async def main() -> Completion:
        try:
            return await target.generate(messages, config)
        finally:
            await target.aclose()

    asyncio.run(main())
    (body,) = bodies_for(server, "summ turns")
    assert [m["role"] for m in body["input"]] == ["user", "assistant", "user"]
    assert body["reasoning"] == {"summary": "detailed"}
    assert body["temperature"] == 0.5 and body["store"] is False


def test_cut_in_the_trace_is_truncated_and_cut_in_the_answer_is_length(
    server: FakeResponsesServer,
) -> None:
    think, answer = ask_all(server.base_url, ["cutthink", "cutanswer"])
    assert isinstance(think, Completion) and isinstance(answer, Completion)
    assert (think.finish_reason, think.reasoning_kind, think.answer) == (
        "length",
        "truncated",
        "",
    )
    assert think.reasoning == "Partial plan"
    assert think.answer_truncated
    assert (answer.finish_reason, answer.reasoning_kind) == ("length", "summary")
    assert answer.answer_truncated


def test_a_content_filter_is_blocked_and_a_refusal_is_the_answer(
    server: FakeResponsesServer,
) -> None:
    filtered, refused = ask_all(server.base_url, ["filtered", "refusal"])
    assert isinstance(filtered, Completion) and isinstance(refused, Completion)
    assert filtered.status == "blocked" and filtered.finish_reason == "content_filter"
    assert refused.status == "ok" and refused.answer == "I can't help with that."
    assert refused.reasoning_kind == "summary"


def test_usage_counts_reasoning_tokens(server: FakeResponsesServer) -> None:
    c = ask(server.base_url, "usage")
    assert c.usage.to_dict() == {
        "prompt_tokens": 11,
        "completion_tokens": 40,
        "reasoning_tokens": 32,
    }
    summ = ask(server.base_url, "summ usage")
    assert summ.usage.to_dict() == {
        "prompt_tokens": 2,
        "completion_tokens": 7,
        "reasoning_tokens": 5,
    }


def test_failed_responses_are_errors_retried_only_for_server_errors(
    server: FakeResponsesServer,
) -> None:
    server_error, bad = ask_all(server.base_url, ["failed500", "failedbad"])
    assert isinstance(server_error, ProviderError) and server_error.transient
    assert "server_error" in str(server_error)
    assert isinstance(bad, ProviderError) and not bad.transient
    assert "invalid_prompt" in str(bad)


def test_http_errors_follow_the_retry_rules(
    server: FakeResponsesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    e400 = fail(server.base_url, "e400")
    assert not e400.transient and e400.status == 400 and SECRET not in str(e400)
    e503 = fail(server.base_url, "e503")
    assert e503.transient and e503.status == 503
    garbage = fail(server.base_url, "garbage")
    assert garbage.transient and "not a response" in str(garbage)


def test_the_retry_wrapper_gets_through_429s(server: FakeResponsesServer) -> None:
    target = build_target("openai-responses/o3", ConnectionConfig(base_url=server.base_url))
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> Completion:
        try:
            return await call_with_retries(
                lambda: target.generate(messages_from("flaky one"), GenerationConfig()),
                RetryPolicy(jitter=False),
                sleep=fake_sleep,
            )
        finally:
            await target.aclose()

    c = asyncio.run(main())
    assert c.answer == "Recovered." and sleeps == [0.0, 0.0]
    assert len(bodies_for(server, "flaky one")) == 3


def summaries_refused(body: dict[str, Any]) -> Answer:
    reasoning = body.get("reasoning") or {}
    if "summary" in reasoning:
        return Answer.http_error(
            400, "Your organization must be verified to generate reasoning summaries."
        )
    if "temperature" in body:
        return Answer.http_error(400, "Unsupported parameter: 'temperature' is not supported.")
    return Answer("Fine.", reasoning_hidden=True)


def no_reasoning_model(body: dict[str, Any]) -> Answer:
    if "reasoning" in body:
        return Answer.http_error(
            400, "Unsupported parameter: 'reasoning.effort' is not supported with this model."
        )
    return Answer("Fine.")


def test_refused_summaries_and_sampling_are_dropped_once_for_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = GenerationConfig(temperature=0.0, reasoning_effort="low")
    with FakeResponsesServer(summaries_refused) as srv:
        outs = ask_all(srv.base_url, ["a", "b", "c"], config)
        bodies = [r.body for r in srv.response_requests]
    assert all(isinstance(o, Completion) and o.reasoning_kind == "redacted" for o in outs)
    assert len(bodies) == 3 + 2
    assert [b.get("reasoning") for b in bodies[2:]] == [{"effort": "low"}] * 3
    assert caplog.text.count("refuses reasoning summaries") == 1
    assert caplog.text.count("refuses the sampling settings") == 1


def test_a_model_without_reasoning_gets_requests_without_it() -> None:
    with FakeResponsesServer(no_reasoning_model) as srv:
        outs = ask_all(srv.base_url, ["a", "b"], GenerationConfig(reasoning_effort="low"))
        bodies = [r.body for r in srv.response_requests]
    assert [o.answer for o in outs if isinstance(o, Completion)] == ["Fine.", "Fine."]
    assert len(bodies) == 3 and "reasoning" not in bodies[2]


def test_think_modes_are_refused_in_one_line(server: FakeResponsesServer) -> None:
    target = build_target("openai-responses/o3", ConnectionConfig(base_url=server.base_url))

    async def main() -> None:
        try:
            await target.generate(messages_from("x"), GenerationConfig(think_budget=100))
        finally:
            await target.aclose()

    with pytest.raises(ConfigError, match="--reasoning-effort"):
        asyncio.run(main())


def test_identity_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    target = build_target("openai-responses/o4-mini", ConnectionConfig())
    assert target.identity() == {
        "provider": "openai-responses",
        "model": "o4-mini",
        "base_url": "https://api.openai.com/v1",
    }
    assert SECRET not in repr(target) and SECRET not in json.dumps(target.identity())
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_target("openai-responses/o4-mini", ConnectionConfig())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork (Linux)")
def test_worker_processes_send_responses_requests(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    db = tmp_path / "db.sqlite"
    with FakeResponsesServer() as srv:
        done = subprocess.run(
            [sys.executable, "-m", "thinksafe.cli.main", "run",
             "--model", "openai-responses/o4-mini", "--base-url", srv.base_url,
             "--suite", "starter", "--limit", "6", "--judge", "rules", "--workers", "2",
             "--store", str(db), "--no-progress"],
            capture_output=True, text=True, env=env, timeout=180,
        )  # fmt: skip
        assert len(srv.response_requests) == 6
    assert done.returncode == 0, done.stderr
    assert "6 model calls" in done.stdout


def test_a_run_stores_summaries_as_traces(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    db = tmp_path / "db.sqlite"
    with FakeResponsesServer() as srv:
        done = subprocess.run(
            [sys.executable, "-m", "thinksafe.cli.main", "run",
             "--model", "openai-responses/o4-mini", "--base-url", srv.base_url,
             "--reasoning-effort", "medium", "--suite", "starter", "--limit", "3",
             "--judge", "rules", "--store", str(db), "--no-progress"],
            capture_output=True, text=True, env=env, timeout=180,
        )  # fmt: skip
        bodies = [r.body for r in srv.response_requests]
    assert done.returncode == 0, done.stderr
    assert len(bodies) == 3
    assert all(b["store"] is False and b["reasoning"]["effort"] == "medium" for b in bodies)
    with sqlite3.connect(db) as conn:
        rows = [json.loads(js) for (js,) in conn.execute("SELECT completion_json FROM completions")]
    assert len(rows) == 3
    assert {r["reasoning_kind"] for r in rows} == {"summary"}
    assert all(r["reasoning"].startswith("**Answering**") for r in rows)

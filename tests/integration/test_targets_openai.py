"""The openai/ollama target against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakeserver import FakeOpenAIServer, Reply, Rule, free_port
from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, ProviderError, TargetUnavailableError
from thinksafe.protocols import Target
from thinksafe.records import Completion, Message, Messages, messages_from
from thinksafe.run.build import build_target
from thinksafe.run.retry import RetryPolicy, call_with_retries
from thinksafe.targets.openai import (
    OpenAITarget,
    is_local_url,
    ollama_base_url,
    parse_retry_after,
)

SECRET = "sk-test-SECRET-0123456789abcdef"
T = TypeVar("T")

RULES = [
    Rule("plain", Reply.answer("Plain answer.")),
    Rule("rc", Reply.answer("The answer.", reasoning_content="My trace.")),
    Rule("field", Reply.answer("The answer.", reasoning="Field trace.")),
    Rule("tags", Reply.answer("<think>Tagged trace.</think>\nTagged answer.")),
    Rule("cut", Reply.answer("<think>Never ends", finish_reason="length")),
    Rule("limit429", Reply.error(429, "slow down", retry_after=3)),
    Rule("ms429", Reply.error(429, "slow down", retry_after_ms=1500)),
    Rule("date503", Reply.error(503, "maintenance", retry_after="Wed, 21 Oct 2015 07:28:00 GMT")),
    Rule("fail500", Reply.error(500, "boom")),
    Rule("flaky", Reply.error(429, "busy", retry_after=0), times=2),
    Rule("flaky", Reply.answer("Recovered.")),
    Rule("slow", Reply.slow(5.0)),
    Rule("garbage", Reply.malformed(b"<html>502 Bad Gateway</html>")),
    Rule("halfjson", Reply.malformed()),
    Rule("errorbody", Reply.malformed(b'{"error": {"message": "upstream overloaded"}}')),
    Rule("nochoices", Reply.empty_choices_reply()),
    Rule("e400", Reply.error(400, f"invalid parameter; you sent key {SECRET}")),
    Rule("e404", Reply.error(404, "The model does not exist")),
    Rule("e422", Reply.error(422, "unprocessable")),
    Rule("usage", Reply.answer("x", usage={"prompt_tokens": 7, "completion_tokens": 9})),
]


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(RULES) as srv:
        yield srv


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST", "OLLAMA_API_KEY", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def target_for(url: str, **conn: Any) -> Target:
    return build_target("openai/fake-model", ConnectionConfig(base_url=url, **conn))


def ask(
    url: str,
    prompt: str | Messages,
    config: GenerationConfig | None = None,
    **conn: Any,
) -> Completion:
    target = target_for(url, **conn)
    messages = messages_from(prompt) if isinstance(prompt, str) else prompt

    async def main() -> Completion:
        try:
            return await target.generate(messages, config or GenerationConfig())
        finally:
            await target.aclose()

    return asyncio.run(main())


def fail(url: str, prompt: str, **conn: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        ask(url, prompt, **conn)
    return info.value


def with_target(target: Target, fn: Callable[[Target], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await fn(target)
        finally:
            await target.aclose()

    return asyncio.run(main())


# -- shapes of replies -------------------------------------------------------------------


def test_registered_under_openai_and_ollama(env: pytest.MonkeyPatch) -> None:
    assert {"openai", "ollama"} <= set(registry.targets.names())
    target = build_target("openai/m", ConnectionConfig(base_url="http://127.0.0.1:1/v1"))
    assert isinstance(target, Target)
    assert target.spec == "openai/m"


def test_default_script_answer_with_reasoning_content(server: FakeOpenAIServer) -> None:
    c = ask(server.base_url, "hello there")
    assert c.answer == "Here is an answer to: hello there"
    assert c.reasoning == "The user asks: hello there. I will answer briefly."
    assert c.reasoning_kind == "raw"
    assert c.finish_reason == "stop"
    assert c.model == "fake-model"
    assert c.error is None
    assert c.latency_s > 0
    assert c.usage.prompt_tokens == 2
    assert c.usage.reasoning_tokens == 9
    assert c.usage.completion_tokens == 9 + 7


def test_answer_without_reasoning(server: FakeOpenAIServer) -> None:
    c = ask(server.base_url, "plain")
    assert (c.answer, c.reasoning, c.reasoning_kind) == ("Plain answer.", "", "absent")


@pytest.mark.parametrize(
    ("prompt", "reasoning"),
    [("rc", "My trace."), ("field", "Field trace."), ("tags", "Tagged trace.")],
)
def test_every_reasoning_shape_is_split(
    server: FakeOpenAIServer, prompt: str, reasoning: str
) -> None:
    c = ask(server.base_url, prompt)
    assert c.reasoning == reasoning
    assert c.reasoning_kind == "raw"
    assert c.answer in ("The answer.", "Tagged answer.")


def test_finish_reason_length_cuts_the_trace(server: FakeOpenAIServer) -> None:
    c = ask(server.base_url, "cut")
    assert c.finish_reason == "length"
    assert c.reasoning_kind == "truncated"
    assert c.answer == "" and c.reasoning == "Never ends"


def test_usage_without_details(server: FakeOpenAIServer) -> None:
    c = ask(server.base_url, "usage")
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.reasoning_tokens) == (7, 9, 0)


# -- what is sent ------------------------------------------------------------------------


def test_only_set_fields_are_sent(server: FakeOpenAIServer) -> None:
    ask(server.base_url, "plain minimal")
    body = [r for r in server.chat_requests if r.prompt == "plain minimal"][-1].body
    assert body == {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "plain minimal"}],
    }


def test_generation_options_and_extra_body_reach_the_server(server: FakeOpenAIServer) -> None:
    config = GenerationConfig(
        system_prompt="Be safe.",
        temperature=0.6,
        top_p=0.95,
        max_tokens=512,
        seed=7,
        reasoning_effort="high",
        extra_body={"top_k": 20, "chat_template_kwargs": {"enable_thinking": True}},
    )
    ask(server.base_url, "plain with options", config)
    req = [r for r in server.chat_requests if r.prompt == "plain with options"][-1]
    body = req.body
    assert body["messages"] == [
        {"role": "system", "content": "Be safe."},
        {"role": "user", "content": "plain with options"},
    ]
    assert body["temperature"] == 0.6
    assert body["top_p"] == 0.95
    assert body["max_tokens"] == 512
    assert body["seed"] == 7
    assert body["reasoning_effort"] == "high"
    assert body["top_k"] == 20
    assert body["chat_template_kwargs"] == {"enable_thinking": True}


def test_system_prompt_is_not_added_when_the_messages_have_one(server: FakeOpenAIServer) -> None:
    messages = (Message("system", "Own system."), Message("user", "plain own system"))
    ask(server.base_url, messages, GenerationConfig(system_prompt="Config system."))
    body = [r for r in server.chat_requests if r.prompt == "plain own system"][-1].body
    assert body["messages"][0] == {"role": "system", "content": "Own system."}
    assert len(body["messages"]) == 2


def test_the_key_is_sent_as_a_bearer_token(env: pytest.MonkeyPatch) -> None:
    env.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET) as srv:
        c = ask(srv.base_url, "hello")
        assert c.answer.startswith("Here is an answer")
        assert srv.requests[-1].headers["Authorization"] == f"Bearer {SECRET}"


# -- errors ------------------------------------------------------------------------------


def test_429_is_transient_with_retry_after(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "limit429")
    assert err.transient and err.status == 429 and err.retry_after == 3.0
    assert "429" in str(err)


def test_retry_after_ms_is_read(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "ms429")
    assert err.retry_after == pytest.approx(1.5)


def test_retry_after_http_date_is_read() -> None:
    when = datetime(2030, 1, 1, 12, 0, 30, tzinfo=timezone.utc)
    now = (when - timedelta(seconds=30)).timestamp()
    assert parse_retry_after({"retry-after": format_datetime(when, usegmt=True)}, now) == 30.0
    assert parse_retry_after({"retry-after": "12"}) == 12.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_a_past_http_date_means_retry_now(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "date503")
    assert err.transient and err.status == 503
    assert err.retry_after == 0.0


def test_500_is_transient(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "fail500")
    assert err.transient and err.status == 500 and err.retry_after is None
    assert "boom" in str(err)


def test_the_retry_wrapper_gets_through_429s(server: FakeOpenAIServer) -> None:
    target = target_for(server.base_url)
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def go(t: Target) -> Completion:
        return await call_with_retries(
            lambda: t.generate(messages_from("flaky one"), GenerationConfig()),
            RetryPolicy(jitter=False),
            sleep=fake_sleep,
        )

    before = len([r for r in server.chat_requests if r.prompt == "flaky one"])
    c = with_target(target, go)
    assert c.answer == "Recovered."
    assert sleeps == [0.0, 0.0]  # the server said Retry-After: 0
    after = len([r for r in server.chat_requests if r.prompt == "flaky one"])
    assert after - before == 3


def test_timeout_is_transient(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "slow", timeout_s=0.3)
    assert err.transient
    assert "timed out" in str(err)


@pytest.mark.parametrize("prompt", ["garbage", "halfjson"])
def test_malformed_body_is_transient(server: FakeOpenAIServer, prompt: str) -> None:
    err = fail(server.base_url, prompt)
    assert err.transient
    assert "not a chat completion" in str(err)


def test_error_object_in_a_200_reply_is_transient(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "errorbody")
    assert err.transient and "upstream overloaded" in str(err)


def test_empty_choices_is_not_transient(server: FakeOpenAIServer) -> None:
    err = fail(server.base_url, "nochoices")
    assert not err.transient
    assert "no choices" in str(err)


@pytest.mark.parametrize(
    ("prompt", "status", "words"),
    [("e400", 400, "rejected the request"), ("e404", 404, "model not found"), ("e422", 422, "")],
)
def test_client_errors_are_not_transient(
    server: FakeOpenAIServer, env: pytest.MonkeyPatch, prompt: str, status: int, words: str
) -> None:
    env.setenv("OPENAI_API_KEY", SECRET)
    err = fail(server.base_url, prompt)
    assert not err.transient and err.status == status
    assert words in str(err)
    assert SECRET not in str(err)  # the server echoed the key; it is scrubbed


def test_401_says_which_variable_and_never_shows_the_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("MY_KEY", SECRET)
    with FakeOpenAIServer(api_key="the-right-key") as srv:
        target = build_target(
            "openai/fake-model", ConnectionConfig(base_url=srv.base_url, api_key_env="MY_KEY")
        )
        assert SECRET not in repr(target.identity()) and SECRET not in repr(target)

        async def go(t: Target) -> ProviderError:
            with pytest.raises(ProviderError) as info:
                await t.generate(messages_from("hi"), GenerationConfig())
            return info.value

        err = with_target(target, go)
        assert not err.transient and err.status == 401
        assert "MY_KEY" in str(err) and SECRET not in str(err)
        with pytest.raises(TargetUnavailableError) as unavailable:
            with_target(
                build_target(
                    "openai/m", ConnectionConfig(base_url=srv.base_url, api_key_env="MY_KEY")
                ),
                lambda t: t.check(),
            )
        assert "MY_KEY" in str(unavailable.value) and SECRET not in str(unavailable.value)


def test_connection_refused_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    err = fail(url, "hello")
    assert err.transient
    assert "connection" in str(err) and "timed out" not in str(err)


# -- check() -----------------------------------------------------------------------------


def test_check_passes_against_a_live_server(server: FakeOpenAIServer) -> None:
    with_target(target_for(server.base_url), lambda t: t.check())
    assert any(r.path == "/v1/models" for r in server.requests)


def test_check_accepts_a_server_without_models_route() -> None:
    with FakeOpenAIServer(models_status=404) as srv:
        with_target(target_for(srv.base_url), lambda t: t.check())


def test_check_on_an_unreachable_port_says_what_to_do() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(TargetUnavailableError) as info:
        with_target(target_for(url), lambda t: t.check())
    message = str(info.value)
    assert message.startswith(f"cannot reach {url}")
    assert "--base-url" in message


# -- keys and base URLs ------------------------------------------------------------------


def test_missing_key_for_a_remote_server_is_a_config_error(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_target("openai/gpt-4o-mini")
    with pytest.raises(ConfigError, match="--api-key-env"):
        build_target("openai/m", ConnectionConfig(base_url="https://api.example.com/v1"))


def test_missing_key_for_a_local_server_is_fine(env: pytest.MonkeyPatch) -> None:
    for url in ("http://localhost:8000/v1", "http://127.0.0.2:8000/v1", "http://[::1]:8000/v1"):
        target = build_target("openai/m", ConnectionConfig(base_url=url))
        assert target.identity() == {"provider": "openai", "model": "m", "base_url": url}


def test_an_explicit_key_variable_must_be_set(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="MY_KEY"):
        build_target(
            "openai/m", ConnectionConfig(base_url="http://localhost:8000/v1", api_key_env="MY_KEY")
        )
    with pytest.raises(ConfigError, match="MY_KEY"):
        build_target("ollama/llama3", ConnectionConfig(api_key_env="MY_KEY"))


def test_a_secret_key_never_shows_in_identity(env: pytest.MonkeyPatch) -> None:
    env.setenv("OPENAI_API_KEY", SECRET)
    target = build_target("openai/gpt-4o-mini")
    assert target.identity() == {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "base_url": "https://api.openai.com/v1",
    }
    assert SECRET not in repr(target) and SECRET not in str(vars(target).get("base_url"))


def test_openai_base_url_env_is_honoured_and_the_flag_wins(env: pytest.MonkeyPatch) -> None:
    env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    assert build_target("openai/m").identity()["base_url"] == "http://127.0.0.1:9999/v1"
    flagged = build_target("openai/m", ConnectionConfig(base_url="http://localhost:1234/v1"))
    assert flagged.identity()["base_url"] == "http://localhost:1234/v1"


def test_ollama_defaults_and_ollama_host(env: pytest.MonkeyPatch) -> None:
    target = build_target("ollama/qwen3:8b")
    assert target.identity() == {
        "provider": "ollama",
        "model": "qwen3:8b",
        "base_url": "http://localhost:11434/v1",
    }
    env.setenv("OLLAMA_HOST", "http://127.0.0.1:11434")
    assert build_target("ollama/x").identity()["base_url"] == "http://127.0.0.1:11434/v1"
    assert ollama_base_url({"OLLAMA_HOST": "0.0.0.0"}) == "http://0.0.0.0:11434/v1"
    assert ollama_base_url({"OLLAMA_HOST": "gpu-box:8080"}) == "http://gpu-box:8080/v1"
    assert ollama_base_url({"OLLAMA_HOST": "https://o.example/v1"}) == "https://o.example:11434/v1"


def test_ollama_target_talks_to_an_openai_endpoint(
    server: FakeOpenAIServer, env: pytest.MonkeyPatch
) -> None:
    env.setenv("OLLAMA_HOST", server.base_url.removesuffix("/v1"))
    target = build_target("ollama/fake-model")
    assert isinstance(target, OpenAITarget)

    async def go(t: Target) -> Completion:
        await t.check()
        return await t.generate(messages_from("rc ollama"), GenerationConfig())

    c = with_target(target, go)
    assert c.reasoning == "My trace."


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:8000/v1", True),
        ("http://LOCALHOST/v1", True),
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.10", True),
        ("http://[::1]:8000/v1", True),
        ("http://0.0.0.0:8000/v1", True),
        ("http://gpu.local:8000/v1", True),
        ("http://app.localhost/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("https://localhost.example.com/v1", False),
        ("not a url", False),
    ],
)
def test_is_local_url(url: str, local: bool) -> None:
    assert is_local_url(url) is local


# -- the scripted server as a separate process (used by benchmarks) ----------------------


def test_fakeserver_runs_as_a_process() -> None:
    script = Path(__file__).resolve().parents[1] / "fakeserver.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--latency", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        c = ask(url, "hello from a process")
        assert c.answer == "Here is an answer to: hello from a process"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "served 1 requests" in err


def test_a_server_that_wants_a_key_when_none_was_set(env: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(api_key="needed") as srv:
        err = fail(srv.base_url, "hi")
        assert not err.transient and err.status == 401
        assert "wants an API key" in str(err) and "OPENAI_API_KEY" in str(err)
        with pytest.raises(TargetUnavailableError, match="set OPENAI_API_KEY"):
            with_target(target_for(srv.base_url), lambda t: t.check())

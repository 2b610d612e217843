"""Request rules for closed reasoning models, checked on the bodies a real 127.0.0.1 server got."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeOpenAIServer, Reply
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ProviderError
from thinksafe.records import Completion, messages_from
from thinksafe.run.build import build_target
from thinksafe.targets.openai import wants_completion_tokens

MAX_TOKENS_REFUSED = (
    "Unsupported parameter: 'max_tokens' is not supported with this model."
    " Use 'max_completion_tokens' instead."
)
TEMPERATURE_REFUSED = (
    "Unsupported value: 'temperature' does not support 0 with this model."
    " Only the default (1) value is supported."
)


def strict_reasoning_server(body: Mapping[str, Any]) -> Reply:
    """Answers like OpenAI's reasoning models: 400 for max_tokens, temperature or top_p."""
    if "max_tokens" in body:
        return Reply.error(400, MAX_TOKENS_REFUSED)
    if "temperature" in body or "top_p" in body:
        return Reply.error(400, TEMPERATURE_REFUSED)
    return Reply.answer("Fine.", reasoning_content="Thinking.")


def ask_many(url: str, model: str, prompts: list[str], config: GenerationConfig) -> list[Any]:
    target = build_target(f"openai/{model}", ConnectionConfig(base_url=url))

    async def main() -> list[Completion | ProviderError]:
        out: list[Completion | ProviderError] = []
        try:
            for prompt in prompts:
                try:
                    out.append(await target.generate(messages_from(prompt), config))
                except ProviderError as exc:
                    out.append(exc)
        finally:
            await target.aclose()
        return out

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("o1", True),
        ("o3-mini", True),
        ("o4-mini-2025-04-16", True),
        ("gpt-5", True),
        ("gpt-5-mini", True),
        ("openai/o3", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4o", False),
        ("deepseek-reasoner", False),
        ("gpt-oss-20b", False),
        ("o1x", False),
    ],
)
def test_known_models_that_refuse_max_tokens(model: str, expected: bool) -> None:
    assert wants_completion_tokens(model) is expected


def test_a_known_reasoning_model_gets_max_completion_tokens_from_the_start() -> None:
    with FakeOpenAIServer() as srv:
        ask_many(srv.base_url, "o3-mini", ["hello"], GenerationConfig(max_tokens=300))
        (req,) = srv.chat_requests
    assert req.body["max_completion_tokens"] == 300
    assert "max_tokens" not in req.body


def test_max_tokens_refused_once_then_max_completion_tokens_for_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = GenerationConfig(max_tokens=256)
    with caplog.at_level(logging.WARNING), FakeOpenAIServer(strict_reasoning_server) as srv:
        out = ask_many(srv.base_url, "served-reasoner", ["one", "two", "three"], config)
        bodies = [r.body for r in srv.chat_requests]
    assert all(isinstance(c, Completion) and c.answer == "Fine." for c in out)
    # One refused request, then every request (the retried one included) uses the new field.
    assert [("max_tokens" in b, b.get("max_completion_tokens")) for b in bodies] == [
        (True, None),
        (False, 256),
        (False, 256),
        (False, 256),
    ]
    said = [r.getMessage() for r in caplog.records if "max_completion_tokens" in r.getMessage()]
    assert len(said) == 1


def test_temperature_refused_once_then_left_out_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = GenerationConfig(temperature=0.0, top_p=0.9, max_tokens=64)
    with caplog.at_level(logging.WARNING), FakeOpenAIServer(strict_reasoning_server) as srv:
        out = ask_many(srv.base_url, "served-reasoner", ["a", "b"], config)
        bodies = [r.body for r in srv.chat_requests]
    assert all(isinstance(c, Completion) for c in out)
    assert len(bodies) == 4  # max_tokens refused, temperature refused, then two good ones
    assert "max_tokens" in bodies[0] and bodies[0]["temperature"] == 0.0
    assert bodies[1]["max_completion_tokens"] == 64 and bodies[1]["temperature"] == 0.0
    for body in bodies[2:]:
        assert "temperature" not in body and "top_p" not in body
        assert body["max_completion_tokens"] == 64
    said = [r.getMessage() for r in caplog.records if "sampling settings" in r.getMessage()]
    assert len(said) == 1


def test_another_400_is_not_retried() -> None:
    def refuse(body: Mapping[str, Any]) -> Reply:
        return Reply.error(400, "Invalid 'messages': empty content")

    with FakeOpenAIServer(refuse) as srv:
        (out,) = ask_many(srv.base_url, "m", ["x"], GenerationConfig(max_tokens=5))
        assert srv.request_count == 1
    assert isinstance(out, ProviderError) and out.status == 400


def test_a_refusal_that_persists_is_an_error_not_a_loop() -> None:
    def always(body: Mapping[str, Any]) -> Reply:
        return Reply.error(400, MAX_TOKENS_REFUSED)

    with FakeOpenAIServer(always) as srv:
        (out,) = ask_many(srv.base_url, "m", ["x"], GenerationConfig(max_tokens=5))
        assert srv.request_count == 2
    assert isinstance(out, ProviderError) and out.status == 400


def test_the_run_output_says_so_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    with FakeOpenAIServer(strict_reasoning_server) as srv:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "thinksafe.cli.main",
                "run",
                "--model",
                "openai/served-reasoner",
                "--base-url",
                srv.base_url,
                "--suite",
                "starter",
                "--limit",
                "6",
                "--judge",
                "rules",
                "--temperature",
                "0",
                "--max-tokens",
                "100",
                "--store",
                str(tmp_path / "db.sqlite"),
                "--max-concurrency",
                "1",
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        bodies = [r.body for r in srv.chat_requests]
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("refuses max_tokens") == 1
    assert done.stderr.count("refuses the sampling settings") == 1
    assert "model calls" in done.stdout
    assert sum("max_tokens" in b for b in bodies) == 1
    assert sum("temperature" in b for b in bodies) == 2
    assert len(bodies) == 6 + 2

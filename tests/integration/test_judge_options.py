"""Sampling options of a rubric judge reach the server and its identity."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

import thinksafe.judges.safety  # noqa: F401  (registers the judge)
from tests.fakeserver import FakeOpenAIServer, Reply
from tests.unit.rubric_fakes import make_item
from thinksafe.config import ConnectionConfig
from thinksafe.errors import ConfigError
from thinksafe.protocols import Judge
from thinksafe.records import Verdict
from thinksafe.run.build import JudgeContext, build_judge

REPLY = "verdict: safe\nrefusal: full\nrationale: it declines."


def judge_once(spec: str, url: str) -> tuple[Judge, Verdict]:
    judge = build_judge(spec, JudgeContext(connection=ConnectionConfig(base_url=url)))

    async def main() -> Verdict:
        try:
            return await judge.judge(make_item("I can't help with that."))
        finally:
            await judge.aclose()

    return judge, asyncio.run(main())


def test_defaults_are_temperature_0_and_512_tokens() -> None:
    with FakeOpenAIServer(lambda body: Reply.answer(REPLY)) as srv:
        judge, verdict = judge_once("safety:openai/judge-model", srv.base_url)
        (req,) = srv.chat_requests
    assert verdict.label == "safe"
    assert req.body["temperature"] == 0.0 and req.body["max_tokens"] == 512
    assert judge.spec == "safety:openai/judge-model"


def test_options_are_sent_and_named_in_spec_and_identity() -> None:
    spec = "safety:openai/judge-model?temperature=1&max_tokens=4000&reasoning_effort=low"
    with FakeOpenAIServer(lambda body: Reply.answer(REPLY)) as srv:
        judge, verdict = judge_once(spec, srv.base_url)
        (req,) = srv.chat_requests
    assert verdict.label == "safe"
    assert req.body["model"] == "judge-model"
    assert req.body["temperature"] == 1.0
    assert req.body["max_tokens"] == 4000
    assert req.body["reasoning_effort"] == "low"
    assert judge.spec == spec
    plain = build_judge("safety:openai/judge-model", JudgeContext(ConnectionConfig(srv.base_url)))
    assert judge.identity() != plain.identity()
    assert judge.identity()["generation"]["max_tokens"] == 4000


def test_temperature_none_leaves_it_out() -> None:
    seen: list[Mapping[str, Any]] = []

    def script(body: Mapping[str, Any]) -> Reply:
        seen.append(body)
        return Reply.answer(REPLY)

    with FakeOpenAIServer(script) as srv:
        judge, _ = judge_once("safety:openai/judge-model?temperature=none", srv.base_url)
    assert "temperature" not in seen[0]
    assert judge.spec == "safety:openai/judge-model?temperature=none"


def test_a_judge_model_refusing_temperature_0_is_retried_without_it() -> None:
    def script(body: Mapping[str, Any]) -> Reply:
        if "temperature" in body:
            return Reply.error(400, "Unsupported value: 'temperature' does not support 0")
        return Reply.answer(REPLY)

    with FakeOpenAIServer(script) as srv:
        _, verdict = judge_once("safety:openai/judge-model", srv.base_url)
        bodies = [r.body for r in srv.chat_requests]
    assert verdict.label == "safe"
    assert ["temperature" in b for b in bodies] == [True, False]


@pytest.mark.parametrize("option", ["max_tokens=lots", "temperature=hot", "max_tokens=0"])
def test_a_bad_option_is_one_line(option: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_judge(
            f"safety:openai/judge-model?{option}",
            JudgeContext(ConnectionConfig("http://127.0.0.1:9/v1")),
        )
    assert "\n" not in str(info.value)

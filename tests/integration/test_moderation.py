"""The ``moderation`` judge against a real moderation server on 127.0.0.1 (aiohttp, written
here): flagged, not flagged, several windows in one request, keys, and 429/500/4xx/malformed
replies becoming ``ProviderError``s."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiohttp import web

from thinksafe.config import ConnectionConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.judges.moderation import DEFAULT_MODEL, ModerationJudge
from thinksafe.protocols import Judge
from thinksafe.records import Attempt, Channel, JudgeItem, Sample, Verdict, messages_from
from thinksafe.run.build import JudgeContext, build_judge

T = TypeVar("T")
SECRET = "sk-moderation-test-0123456789"

CATEGORIES = ("harassment", "hate", "self-harm", "violence", "violence/graphic")


def result_for(text: str) -> dict[str, Any]:
    """What the fake server says about one input."""
    flagged = "ATTACK" in text
    scores = {name: 0.01 for name in CATEGORIES}
    if flagged:
        scores["violence"] = 0.91
        scores["harassment"] = 0.62
    else:
        scores["hate"] = 0.07
    return {
        "flagged": flagged,
        "categories": {name: flagged and scores[name] > 0.5 for name in CATEGORIES},
        "category_scores": scores,
        "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
    }


@dataclass
class ModerationServer:
    """A moderation endpoint on 127.0.0.1; ``requests`` records each body and its headers."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"body": body, "auth": request.headers.get("Authorization")})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        joined = " ".join(inputs)
        if "RATE" in joined:
            return web.json_response(
                {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "2"}
            )
        if "BOOM" in joined:
            return web.json_response({"error": {"message": "internal"}}, status=500)
        if "BAD" in joined:
            return web.json_response({"error": {"message": "bad input"}}, status=400)
        if "HTML" in joined:
            return web.Response(text="<html>502</html>", content_type="application/json")
        if "PAGE" in joined:
            return web.Response(text="<html>a login page</html>", content_type="text/html")
        if "SHORT" in joined:
            return web.json_response({"id": "m", "model": body["model"], "results": []})
        if "NOFLAG" in joined:
            return web.json_response({"id": "m", "model": body["model"], "results": [{}]})
        results = [result_for(text) for text in inputs]
        return web.json_response({"id": "modr-1", "model": body["model"], "results": results})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/moderations", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MY_MODERATION_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def item(text: str, channel: Channel = "answer") -> JudgeItem:
    sample = Sample(
        id="s1",
        suite="unit",
        messages=messages_from("a request"),
        category="c",
        harm_area="h",
        expected="refuse",
    )
    return JudgeItem(sample, Attempt("s1", "none", sample.messages), channel, text)


def with_server(
    body: Callable[[ModerationServer], Awaitable[T]],
) -> tuple[T, ModerationServer]:
    server = ModerationServer()

    async def main() -> T:
        await server.start()
        try:
            return await body(server)
        finally:
            await server.stop()

    return asyncio.run(main()), server


def moderate(
    text: str,
    spec: str = "moderation",
    channel: Channel = "answer",
    **connection: Any,
) -> tuple[Verdict, ModerationServer]:
    async def body(server: ModerationServer) -> Verdict:
        judge = build_judge(
            spec, JudgeContext(connection=ConnectionConfig(base_url=server.base_url, **connection))
        )
        try:
            return await judge.judge(item(text, channel))
        finally:
            await judge.aclose()

    return with_server(body)


def test_flagged_is_unsafe_with_categories_and_probability(env: pytest.MonkeyPatch) -> None:
    verdict, server = moderate("Here is how to ATTACK them.")
    assert verdict.label == "unsafe"
    assert verdict.judge == "moderation"
    assert verdict.probability == pytest.approx(0.91)
    assert verdict.rationale == "flagged: violence (0.91), harassment (0.62)"
    assert verdict.refusal is None and verdict.first_unsafe_offset is None
    raw = json.loads(verdict.raw)
    assert raw["model"] == DEFAULT_MODEL and raw["results"][0]["flagged"] is True
    (request,) = server.requests
    assert request["body"] == {"model": DEFAULT_MODEL, "input": "Here is how to ATTACK them."}
    assert request["auth"] == "Bearer not-needed"  # a local server needs no key


def test_not_flagged_is_safe_on_both_channels(env: pytest.MonkeyPatch) -> None:
    channels: tuple[Channel, ...] = ("answer", "reasoning")
    for channel in channels:
        verdict, _ = moderate("A recipe for bread.", channel=channel)
        assert (verdict.label, verdict.channel) == ("safe", channel)
        assert verdict.probability == pytest.approx(0.07)
        assert verdict.rationale == "not flagged; highest: hate (0.07)"


def test_model_key_and_identity(env: pytest.MonkeyPatch) -> None:
    env.setenv("MY_MODERATION_KEY", SECRET)
    verdict, server = moderate(
        "fine", spec="moderation:text-moderation-stable", api_key_env="MY_MODERATION_KEY"
    )
    assert verdict.judge == "moderation:text-moderation-stable"
    assert server.requests[0]["body"]["model"] == "text-moderation-stable"
    assert server.requests[0]["auth"] == f"Bearer {SECRET}"
    one = build_judge("moderation", JudgeContext(ConnectionConfig(base_url="http://127.0.0.1:1")))
    two = build_judge(
        "moderation:other", JudgeContext(ConnectionConfig(base_url="http://127.0.0.1:1"))
    )
    assert isinstance(one, ModerationJudge) and isinstance(one, Judge)
    assert one.identity() != two.identity()
    assert one.channels == frozenset({"answer", "reasoning"})
    assert SECRET not in json.dumps(one.identity())


def test_a_remote_server_needs_a_key(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_judge("moderation", JudgeContext(ConnectionConfig(base_url="https://example.com/v1")))
    with pytest.raises(ConfigError, match="MY_MODERATION_KEY"):
        build_judge("moderation", JudgeContext(ConnectionConfig(api_key_env="MY_MODERATION_KEY")))


def test_long_texts_go_as_several_inputs_in_one_request(env: pytest.MonkeyPatch) -> None:
    async def body(server: ModerationServer) -> Verdict:
        judge = build_judge("moderation", JudgeContext(ConnectionConfig(base_url=server.base_url)))
        assert isinstance(judge, ModerationJudge)
        small = ModerationJudge(judge._endpoint, spec=judge.spec, max_chars=100, overlap=20)
        try:
            return await small.judge(item("a" * 150 + "ATTACK" + "b" * 100))
        finally:
            await small.aclose()

    verdict, server = with_server(body)
    (request,) = server.requests
    assert isinstance(request["body"]["input"], list) and len(request["body"]["input"]) == 3
    assert verdict.label == "unsafe"
    assert verdict.first_unsafe_offset == 80
    assert "window at character 80 of 256); 3 windows" in verdict.rationale


@pytest.mark.parametrize(
    ("text", "status", "transient", "message"),
    [
        ("RATE", 429, True, "HTTP 429: slow down"),
        ("BOOM", 500, True, "HTTP 500: internal"),
        ("BAD", 400, False, "HTTP 400"),
    ],
)
def test_http_errors_become_provider_errors(
    env: pytest.MonkeyPatch, text: str, status: int, transient: bool, message: str
) -> None:
    with pytest.raises(ProviderError, match=message) as caught:
        moderate(text)
    assert caught.value.transient is transient
    assert caught.value.status == status
    if status == 429:
        assert caught.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SHORT", "0 results for 1 inputs"),
        ("NOFLAG", "without a true/false `flagged`"),
        ("HTML", "not JSON"),
        ("PAGE", "not a moderation result"),
    ],
)
def test_malformed_replies_are_transient_provider_errors(
    env: pytest.MonkeyPatch, text: str, message: str
) -> None:
    with pytest.raises(ProviderError, match=message) as caught:
        moderate(text)
    assert caught.value.transient


def test_unreachable_server_is_a_transient_error(env: pytest.MonkeyPatch) -> None:
    async def body(server: ModerationServer) -> Verdict:
        url = server.base_url
        await server.stop()
        judge = build_judge("moderation", JudgeContext(ConnectionConfig(base_url=url)))
        try:
            return await judge.judge(item("text"))
        finally:
            await judge.aclose()

    with pytest.raises(ProviderError, match="connection") as caught:
        with_server(body)
    assert caught.value.transient


def test_empty_text_makes_no_call(env: pytest.MonkeyPatch) -> None:
    verdict, server = moderate("   ")
    assert verdict.label == "unscorable" and server.requests == []

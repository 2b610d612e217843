"""A scripted OpenAI Responses API server (``POST /v1/responses``) on 127.0.0.1, for tests.

In a test (the server runs its own event loop in a background thread)::

    with FakeResponsesServer([Rule("*", Answer("Hi.", summary="Greeting."))]) as srv:
        srv.base_url  # http://127.0.0.1:PORT/v1
        srv.response_requests[0].body  # the JSON body the target sent

Replies are scripted by ``Rule``s matched on the last user message of the request's ``input``
(the first rule that matches and still has uses left wins) or by a callable ``(body) -> Answer``;
the default answers by quoting the prompt, with a reasoning summary. The lifecycle, the request
log and ``GET /v1/models`` are :class:`tests.fakeserver.FakeOpenAIServer`'s.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakeserver import FakeOpenAIServer, RecordedRequest, _error_response


@dataclass(frozen=True)
class Answer:
    """One scripted response: an answer and a reasoning summary (or raw reasoning text), a
    status (``completed``, ``incomplete`` with a reason, ``failed`` with an error code) or an
    HTTP error."""

    text: str | None = "OK"
    summary: str | None = None  # a reasoning item with this summary_text
    reasoning_text: str | None = None  # a reasoning item with this reasoning_text content
    reasoning_hidden: bool = False  # a reasoning item with neither (encrypted only)
    refusal: str | None = None  # a refusal part instead of output_text
    status: str = "completed"
    incomplete_reason: str | None = None
    error_code: str | None = None  # with status "failed"
    http_status: int = 200
    error_message: str = "scripted error"
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    usage: Mapping[str, Any] | None = None  # default: word counts

    @classmethod
    def http_error(cls, status: int, message: str = "scripted error", **headers: str) -> Answer:
        return cls(text=None, http_status=status, error_message=message, headers=headers)


@dataclass(frozen=True)
class Rule:
    """Use ``answer`` for requests whose last user message contains ``match`` (``"*"``: any),
    for the first ``times`` such calls of each prompt when ``times`` is given."""

    match: str
    answer: Answer
    times: int | None = None


Script = Sequence[Rule] | Callable[[Mapping[str, Any]], Answer]


def last_user_input(body: Mapping[str, Any]) -> str:
    items = body.get("input")
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, Mapping) and item.get("role") == "user":
            content = item.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def default_answer(body: Mapping[str, Any]) -> Answer:
    prompt = last_user_input(body)
    return Answer(
        f"Here is an answer to: {prompt}", summary=f"**Answering**\n\nThe user asks: {prompt}."
    )


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


class FakeResponsesServer(FakeOpenAIServer):
    """A Responses API server on 127.0.0.1 in a background thread (a context manager)."""

    def __init__(self, script: Script | None = None, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.responses_script = script
        self._answer_uses: dict[tuple[int, str], int] = {}

    @property
    def response_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/responses")]

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_get("/v1/models", self._models)
        return app

    def _pick(self, body: Mapping[str, Any]) -> Answer:
        script = self.responses_script
        if script is None:
            return default_answer(body)
        if callable(script):
            return script(body)
        prompt = last_user_input(body)
        with self._lock:
            for index, rule in enumerate(script):
                if rule.match != "*" and rule.match not in prompt:
                    continue
                if rule.times is not None:
                    used = self._answer_uses.get((index, prompt), 0)
                    if used >= rule.times:
                        continue
                    self._answer_uses[(index, prompt)] = used + 1
                return rule.answer
        return default_answer(body)

    async def _responses(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._note(request, body)
        if not isinstance(body, dict):
            return _error_response(400, "body is not JSON", None, {})
        if not self._authorised(request):
            return _error_response(401, "Incorrect API key provided.", "invalid_api_key", {})
        answer = self._pick(body)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if answer.http_status >= 400:
            return _error_response(answer.http_status, answer.error_message, None, answer.headers)
        if answer.raw_body is not None:
            return web.Response(body=answer.raw_body, content_type="application/json")
        return web.Response(
            body=json.dumps(self._response(body, answer)).encode(),
            headers=dict(answer.headers),
            content_type="application/json",
        )

    def _response(self, body: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            n = self._next_id
        output: list[dict[str, Any]] = []
        if (
            answer.summary is not None
            or answer.reasoning_text is not None
            or answer.reasoning_hidden
        ):
            item: dict[str, Any] = {"type": "reasoning", "id": f"rs_{n}", "summary": []}
            if answer.summary is not None:
                item["summary"] = [{"type": "summary_text", "text": answer.summary}]
            if answer.reasoning_text is not None:
                item["content"] = [{"type": "reasoning_text", "text": answer.reasoning_text}]
            if answer.reasoning_hidden:
                item["encrypted_content"] = "gAAAA-opaque"
            output.append(item)
        parts: list[dict[str, Any]] = []
        if answer.text is not None:
            parts.append({"type": "output_text", "text": answer.text, "annotations": []})
        if answer.refusal is not None:
            parts.append({"type": "refusal", "refusal": answer.refusal})
        if parts:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{n}",
                    "role": "assistant",
                    "status": "completed",
                    "content": parts,
                }
            )
        if answer.usage is not None:
            usage = dict(answer.usage)
        else:
            prompt_tokens = sum(
                _words(m.get("content")) for m in body.get("input") or [] if isinstance(m, dict)
            )
            thought = _words(answer.summary) + _words(answer.reasoning_text)
            out_tokens = _words(answer.text) + _words(answer.refusal) + thought
            usage = {
                "input_tokens": prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": out_tokens,
                "output_tokens_details": {"reasoning_tokens": thought},
                "total_tokens": prompt_tokens + out_tokens,
            }
        error = None
        if answer.status == "failed":
            error = {"code": answer.error_code or "server_error", "message": "scripted failure"}
        return {
            "id": f"resp_{n}",
            "object": "response",
            "created_at": 0,
            "status": answer.status,
            "error": error,
            "incomplete_details": (
                {"reason": answer.incomplete_reason} if answer.status == "incomplete" else None
            ),
            "model": body.get("model", "fake-model"),
            "output": output if answer.status != "failed" else [],
            "store": body.get("store", True),
            "usage": usage,
        }

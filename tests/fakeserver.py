"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

In a test (sync or async; the server runs its own event loop in a background thread)::

    with FakeOpenAIServer() as srv:
        srv.base_url  # http://127.0.0.1:PORT/v1
        ...
        srv.request_count, srv.requests

Replies are scripted by a list of ``Rule``s (matched on the last user message; the first rule
that matches and still has uses left wins) or by a callable ``(body) -> Reply``. Without a script
the server answers deterministically from the prompt (see ``default_reply``).

As a separate process (for benchmarks)::

    python tests/fakeserver.py --port 0 --latency 0.5

prints ``http://127.0.0.1:PORT/v1`` on the first line of stdout and serves until SIGTERM or
SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

# A prompt containing this marker is refused by the default script.
REFUSE_MARKER = "[refuse]"


@dataclass(frozen=True)
class Reply:
    """One scripted response. Build it with the class methods."""

    content: str | None = "OK"
    reasoning_content: str | None = None  # DeepSeek / vLLM style field
    reasoning: str | None = None  # OpenRouter / Ollama style field
    finish_reason: str = "stop"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None  # sent verbatim instead of JSON
    empty_choices: bool = False
    delay_s: float = 0.0
    error_message: str = ""
    usage: Mapping[str, Any] | None = None  # default: word counts

    @classmethod
    def answer(
        cls,
        content: str | None,
        *,
        reasoning_content: str | None = None,
        reasoning: str | None = None,
        finish_reason: str = "stop",
        delay_s: float = 0.0,
        usage: Mapping[str, Any] | None = None,
    ) -> Reply:
        return cls(
            content=content,
            reasoning_content=reasoning_content,
            reasoning=reasoning,
            finish_reason=finish_reason,
            delay_s=delay_s,
            usage=usage,
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "scripted error",
        *,
        retry_after: str | float | None = None,
        retry_after_ms: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        h = dict(headers or {})
        if retry_after is not None:
            h["Retry-After"] = str(retry_after)
        if retry_after_ms is not None:
            h["retry-after-ms"] = str(retry_after_ms)
        return cls(content=None, status=status, headers=h, error_message=message)

    @classmethod
    def malformed(
        cls, body: bytes = b'{"id": "chatcmpl-1", "choices": [', status: int = 200
    ) -> Reply:
        return cls(content=None, status=status, raw_body=body)

    @classmethod
    def empty_choices_reply(cls) -> Reply:
        return cls(content=None, empty_choices=True)

    @classmethod
    def slow(cls, delay_s: float, content: str = "late") -> Reply:
        return cls(content=content, delay_s=delay_s)


@dataclass(frozen=True)
class Rule:
    """Use ``reply`` for requests whose last user message contains ``match`` (``"*"``: any).

    With ``times=N`` the rule applies only to the first N matching calls of each distinct
    prompt, then falls through to the next rules: ``[Rule("*", Reply.error(429), times=2),
    Rule("*", Reply.answer("ok"))]`` fails every prompt twice, then answers it.
    """

    match: str
    reply: Reply
    times: int | None = None

    def matches(self, prompt: str) -> bool:
        return self.match == "*" or self.match in prompt


Script = Sequence[Rule] | Callable[[Mapping[str, Any]], Reply]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None

    @property
    def prompt(self) -> str:
        return last_user_message(self.body) if isinstance(self.body, Mapping) else ""


def last_user_message(body: Mapping[str, Any]) -> str:
    messages = body.get("messages") or []
    for m in reversed(messages):
        if isinstance(m, Mapping) and m.get("role") == "user":
            content = m.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def default_reply(body: Mapping[str, Any]) -> Reply:
    """Refuse prompts containing ``[refuse]``; otherwise answer by quoting the prompt. Both
    carry a ``reasoning_content`` trace."""
    prompt = last_user_message(body)
    if REFUSE_MARKER in prompt.lower():
        return Reply.answer(
            "I can't help with that.",
            reasoning_content="The request asks for something harmful. I should refuse.",
        )
    return Reply.answer(
        f"Here is an answer to: {prompt}",
        reasoning_content=f"The user asks: {prompt}. I will answer briefly.",
    )


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


class FakeOpenAIServer:
    """An OpenAI-compatible server on 127.0.0.1 in a background thread (a context manager).

    ``latency_s`` is added to every chat request; ``api_key`` (when set) makes every request
    without ``Authorization: Bearer <api_key>`` fail with 401; ``models_status`` changes the
    status of ``GET /v1/models`` (e.g. 404 for servers without it); ``record=False`` keeps only
    the count (for long benchmarks).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        latency_s: float = 0.0,
        port: int = 0,
        api_key: str | None = None,
        models: Sequence[str] = ("fake-model",),
        models_status: int = 200,
        record: bool = True,
    ) -> None:
        self.script = script
        self.latency_s = latency_s
        self.port = port
        self.api_key = api_key
        self.models = tuple(models)
        self.models_status = models_status
        self.record = record
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._count = 0
        self._uses: Counter[tuple[int, str]] = Counter()
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- what happened -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._count

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._count = 0
            self._uses.clear()

    # -- the app -------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app

    def _authorised(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _note(self, request: web.Request, body: Any) -> None:
        with self._lock:
            self._count += 1
            if self.record:
                self._requests.append(
                    RecordedRequest(request.method, request.path, dict(request.headers), body)
                )

    def _choose(self, body: Mapping[str, Any]) -> Reply:
        script = self.script
        if script is None:
            return default_reply(body)
        if callable(script):
            return script(body)
        prompt = last_user_message(body)
        with self._lock:
            for index, rule in enumerate(script):
                if not rule.matches(prompt):
                    continue
                if rule.times is not None:
                    key = (index, prompt)
                    if self._uses[key] >= rule.times:
                        continue
                    self._uses[key] += 1
                return rule.reply
        return default_reply(body)

    async def _models(self, request: web.Request) -> web.Response:
        self._note(request, None)
        if not self._authorised(request):
            return _error_response(401, "invalid api key", "invalid_api_key", {})
        if self.models_status != 200:
            return _error_response(self.models_status, "no such route", None, {})
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.Response:
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
        reply = self._choose(body)
        wait = self.latency_s + reply.delay_s
        if wait > 0:
            await asyncio.sleep(wait)
        if reply.status >= 400:
            return _error_response(reply.status, reply.error_message, None, reply.headers)
        if reply.raw_body is not None:
            return web.Response(
                status=reply.status,
                body=reply.raw_body,
                headers=dict(reply.headers),
                content_type="application/json",
            )
        return web.Response(
            body=json.dumps(self._completion(body, reply)).encode(),
            headers=dict(reply.headers),
            content_type="application/json",
        )

    def _completion(self, body: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            n = self._next_id
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning_content is not None:
            message["reasoning_content"] = reply.reasoning_content
        if reply.reasoning is not None:
            message["reasoning"] = reply.reasoning
        if reply.usage is not None:
            usage = dict(reply.usage)
        else:
            prompt_tokens = sum(
                _words(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)
            )
            thought = _words(reply.reasoning_content) + _words(reply.reasoning)
            completion_tokens = _words(reply.content) + thought
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "completion_tokens_details": {"reasoning_tokens": thought},
            }
        choices = (
            []
            if reply.empty_choices
            else [{"index": 0, "message": message, "finish_reason": reply.finish_reason}]
        )
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": choices,
            "usage": usage,
        }

    # -- lifecycle -----------------------------------------------------------------------

    async def _start_site(self) -> web.AppRunner:
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, backlog=4096)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return runner

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._runner = loop.run_until_complete(self._start_site())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                # Handlers still sleeping (a client went away mid-request) end here, quietly.
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, runner, thread = self._loop, self._runner, self._thread
        if loop is None or thread is None:
            return
        if runner is not None and not loop.is_closed():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._runner = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _error_response(
    status: int, message: str, code: str | None, headers: Mapping[str, str]
) -> web.Response:
    payload = {"error": {"message": message, "type": "fake_error", "param": None, "code": code}}
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers=dict(headers),
        content_type="application/json",
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for "unreachable server" tests)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(port: int, latency_s: float) -> None:
    server = FakeOpenAIServer(port=port, latency_s=latency_s, record=False)
    runner = await server._start_site()
    sys.stdout.write(server.base_url + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        sys.stderr.write(f"served {server.request_count} requests\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible chat server.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.latency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

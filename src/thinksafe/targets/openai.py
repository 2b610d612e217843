"""``openai/MODEL`` and ``ollama/MODEL``: any OpenAI-compatible chat-completions server.

One ``AsyncOpenAI`` client per target, on the SDK's aiohttp transport, created lazily inside the
running event loop. The SDK never retries (``max_retries=0``): failures become ``ProviderError``
and the shared wrapper in ``thinksafe.run.retry`` decides. Replies are read as plain JSON (the
SDK is asked for the body bytes) and split into answer and thinking trace by
``thinksafe.targets.reasoning``; that skips the SDK's pydantic models, which cost more CPU per
call than everything else here.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import (
    ConfigError,
    MissingExtraError,
    ProviderError,
    TargetUnavailableError,
    is_transient_status,
)
from thinksafe.records import Completion, Messages, Usage
from thinksafe.targets.reasoning import split_message
from thinksafe.targets.thinking import Prefill, openai_request_fields

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "OpenAITarget",
    "is_local_url",
    "ollama_base_url",
    "parse_retry_after",
    "wants_completion_tokens",
]

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_URL = "http://localhost:11434/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
# Sent to local servers that need no key (the SDK insists on one).
PLACEHOLDER_KEY = "not-needed"
CHECK_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
_MAX_DETAIL = 300

logger = logging.getLogger("thinksafe.targets.openai")

# OpenAI's reasoning models (o1, o3, o4 and gpt-5 families) refuse ``max_tokens`` and want
# ``max_completion_tokens``; matched on the model name after any ``org/`` prefix.
_COMPLETION_TOKENS_MODELS = re.compile(r"^(o1|o3|o4)(-|$)|^gpt-5(?!-chat)", re.IGNORECASE)
_UNSUPPORTED = re.compile(r"unsupported|not supported|does not support|only the default", re.I)


def wants_completion_tokens(model: str) -> bool:
    """Whether ``model`` is known to refuse ``max_tokens`` (OpenAI's reasoning families)."""
    return bool(_COMPLETION_TOKENS_MODELS.search(model.rsplit("/", 1)[-1]))


def is_local_url(url: str) -> bool:
    """True for loopback and local-network names: localhost, 127.0.0.0/8, ::1, 0.0.0.0,
    ``*.localhost`` and ``*.local``."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def ollama_base_url(env: Mapping[str, str]) -> str:
    """The Ollama OpenAI endpoint from ``OLLAMA_HOST`` (``host``, ``host:port`` or a URL)."""
    host = env.get("OLLAMA_HOST", "").strip()
    if not host:
        return OLLAMA_DEFAULT_URL
    if "://" not in host:
        host = "http://" + host
    parts = urlsplit(host)
    netloc = parts.netloc
    if parts.port is None:
        netloc = f"{netloc}:11434"
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{netloc}{path}"


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = datetime.now(timezone.utc).timestamp() if now is None else now
        return max(0.0, when.timestamp() - current)
    return seconds if seconds >= 0 else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if reasoning is None:
        reasoning = raw.get("reasoning_tokens")
    return Usage(
        _int(raw.get("prompt_tokens")), _int(raw.get("completion_tokens")), _int(reasoning)
    )


class OpenAITarget:
    """A chat-completions endpoint reached through the ``openai`` SDK."""

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        base_url: str,
        api_key: str,
        api_key_env: str,
        timeout_s: float = 600.0,
    ) -> None:
        self.provider = provider
        self.model = model
        self._classifies = False
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.__key = api_key
        self._client: AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # What this server was found to refuse, remembered for the rest of the run: the token
        # cap goes as ``max_completion_tokens``; ``temperature`` and ``top_p`` are left out.
        self.completion_tokens = wants_completion_tokens(model)
        self.drop_sampling = False

    # -- construction from a spec ------------------------------------------------------------

    @classmethod
    def from_connection(
        cls,
        provider: str,
        model: str,
        connection: ConnectionConfig,
        env: Mapping[str, str] | None = None,
    ) -> OpenAITarget:
        """Resolve the base URL and the key (from the environment) for ``provider``."""
        env = os.environ if env is None else env
        explicit_env = connection.api_key_env
        if provider == "ollama":
            base_url = connection.base_url or ollama_base_url(env)
            key_env = explicit_env or "OLLAMA_API_KEY"
        else:
            base_url = connection.base_url or env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_URL
            key_env = explicit_env or DEFAULT_KEY_ENV
        # A key read from a file often ends in a newline; no key holds other control or
        # non-ASCII characters, which an HTTP header cannot carry.
        key = env.get(key_env, "").strip()
        if key and not (key.isascii() and key.isprintable()):
            raise ConfigError(
                f"the API key in {key_env} holds characters no key has (control characters or"
                f" non-ASCII letters); set {key_env} to the key alone"
            )
        if not key:
            if explicit_env:
                raise ConfigError(
                    f"environment variable {explicit_env} is not set; export it with the API key"
                    " or pass a different --api-key-env NAME"
                )
            if provider != "ollama" and not is_local_url(base_url):
                raise ConfigError(
                    f"no API key for {base_url}: set {DEFAULT_KEY_ENV} or pass --api-key-env NAME"
                )
            key = PLACEHOLDER_KEY
        return cls(
            provider=provider,
            model=model,
            base_url=base_url,
            api_key=key,
            api_key_env=key_env,
            timeout_s=connection.timeout_s,
        )

    # -- the Target protocol -----------------------------------------------------------------

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.model}"

    def identity(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "base_url": self.base_url}

    def __repr__(self) -> str:
        return f"OpenAITarget({self.spec!r}, base_url={self.base_url!r})"

    def classify_conversations(self) -> None:
        """This target serves a guard model: a last assistant message is the response to
        classify, never a reply to continue (see :meth:`prefill_support`)."""
        self._classifies = True

    def prefill_support(self) -> str | None:
        """A server that renders the chat template itself (vLLM, SGLang) continues a last
        assistant message when asked with ``continue_final_message``; OpenAI's own API and
        Ollama's OpenAI endpoint have no such switch."""
        if self._classifies:
            return None
        if self.provider != "openai" or urlsplit(self.base_url).hostname == "api.openai.com":
            return None
        return "continue_final_message=true, add_generation_prompt=false (vLLM, SGLang)"

    def _continues(self, messages: Messages) -> bool:
        """Whether this request asks the server to continue a last assistant message (where it
        cannot, such a conversation is sent as it always was)."""
        return (
            bool(messages)
            and messages[-1].role == "assistant"
            and (self.prefill_support() is not None)
        )

    def prepare(self) -> None:
        """Build the SDK client now (imports, TLS context) without an event loop. The first
        event loop that uses it keeps it; a target prepared before a fork hands a ready
        client to each worker process."""
        if self._client is None:
            self._client = self._new_client()
            self._loop = None

    def _get_client(self) -> AsyncOpenAI:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is None:
            self._loop = loop
        if self._client is not None and self._loop is loop:
            return self._client
        self._client = self._new_client()
        self._loop = loop
        return self._client

    def _new_client(self) -> AsyncOpenAI:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingExtraError("the openai SDK is missing: pip install 'thinksafe'") from exc
        timeout = openai.Timeout(self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s))
        try:
            http_client = openai.DefaultAioHttpClient(timeout=timeout)
        except RuntimeError as exc:
            raise MissingExtraError(
                "the aiohttp transport for the openai SDK is missing: pip install 'openai[aiohttp]'"
            ) from exc
        return openai.AsyncOpenAI(
            api_key=self.__key,
            base_url=self.base_url,
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )

    def _body(self, messages: Messages, config: GenerationConfig) -> dict[str, Any]:
        sent = [{"role": m.role, "content": m.content} for m in messages]
        if config.system_prompt and not any(m.role == "system" for m in messages):
            sent.insert(0, {"role": "system", "content": config.system_prompt})
        body: dict[str, Any] = {"model": self.model, "messages": sent}
        if config.temperature is not None and not self.drop_sampling:
            body["temperature"] = config.temperature
        if config.top_p is not None and not self.drop_sampling:
            body["top_p"] = config.top_p
        if config.max_tokens is not None:
            field = "max_completion_tokens" if self.completion_tokens else "max_tokens"
            body[field] = config.max_tokens
        if config.seed is not None:
            body["seed"] = config.seed
        if config.reasoning_effort is not None:
            body["reasoning_effort"] = config.reasoning_effort
        if self._continues(messages):
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        if config.extra_body:
            body.update(config.extra_body)
        if (
            config.thinking is not None
            or config.think_mode is not None
            or config.think_budget is not None
            or config.min_think_tokens is not None
        ):
            body.update(openai_request_fields(config, self.provider))
        return body

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        client = self._get_client()
        started = time.perf_counter()
        # A request refused for a parameter this model does not take is sent again once per
        # parameter, adapted (see _adapt); at most two adaptations, so at most three sends.
        for _ in range(3):
            body = self._body(messages, config)
            try:
                raw: bytes = await client.post("/chat/completions", cast_to=bytes, body=body)
                break
            except Exception as exc:
                if self._adapt(exc, body):
                    continue
                raise self._provider_error(exc) from None
        else:  # pragma: no cover - _adapt returns True at most twice
            raise ProviderError("the server kept refusing the request", transient=False)
        latency = time.perf_counter() - started
        lead = Prefill.parse(messages[-1].content).lead() if self._continues(messages) else ""
        return self._completion(raw, latency, lead)

    def _adapt(self, exc: Exception, body: Mapping[str, Any]) -> bool:
        """After an HTTP 400 naming a parameter this model refuses (``max_tokens``,
        ``temperature``, ``top_p``), change how requests are written for the rest of the run
        and say so once. True when the request is worth sending again."""
        import openai

        if not isinstance(exc, openai.APIStatusError) or exc.status_code != 400:
            return False
        message = _server_message(exc.body)
        param = exc.body.get("param") if isinstance(exc.body, dict) else None
        if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
            param = exc.body["error"].get("param", param)
        named = f"{message} {param or ''}"
        refused = bool(_UNSUPPORTED.search(message)) or "max_completion_tokens" in message
        if not refused:
            return False
        if "max_tokens" in body and "max_tokens" in named and not self.completion_tokens:
            self.completion_tokens = True
            logger.warning(
                "%s refuses max_tokens; sending max_completion_tokens instead for this run",
                self.spec,
            )
            return True
        if (
            ("temperature" in body and "temperature" in named)
            or ("top_p" in body and "top_p" in named)
        ) and not self.drop_sampling:
            self.drop_sampling = True
            logger.warning(
                "%s refuses the sampling settings (temperature, top_p); sending requests without"
                " them for this run, so the server's defaults apply",
                self.spec,
            )
            return True
        return False

    def _completion(self, raw: bytes, latency: float, lead: str = "") -> Completion:
        """The completion in ``raw``; ``lead`` is the forced start of the reply that the
        server's content continues (a prefill), read before it."""
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                f"{self.base_url} returned something that is not a chat completion"
                f" ({_preview(raw)}); a proxy or the server may be misbehaving",
                transient=True,
            )
        choices = data.get("choices")
        if not isinstance(choices, list):
            error = data.get("error")
            if error is not None:
                detail = error.get("message") if isinstance(error, dict) else error
                raise ProviderError(
                    f"the server reported an error: {self._scrub(str(detail))}", transient=True
                )
            raise ProviderError(
                f"{self.base_url} returned something that is not a chat completion (no choices"
                " field)",
                transient=True,
            )
        if not choices:
            raise ProviderError("server returned no choices", transient=False)
        choice = choices[0]
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise ProviderError(
                f"{self.base_url} returned a chat completion without a message", transient=True
            )
        finish = choice.get("finish_reason")
        finish_reason = finish if isinstance(finish, str) else None
        content = message.get("content")
        if lead and (content is None or isinstance(content, str)):
            message = {**message, "content": lead + (content or "")}
        try:
            split = split_message(message, finish_reason=finish_reason)
        except TypeError as exc:
            raise ProviderError(
                f"{self.base_url} returned a message that cannot be read: {exc}", transient=False
            ) from None
        model = data.get("model")
        return Completion(
            answer=split.answer,
            reasoning=split.reasoning,
            reasoning_kind=split.kind,
            finish_reason=finish_reason,
            usage=_usage(data.get("usage")),
            latency_s=latency,
            model=model if isinstance(model, str) else self.model,
        )

    async def check(self) -> None:
        client = self._get_client()
        try:
            await client.get("/models", cast_to=bytes, options={"timeout": CHECK_TIMEOUT_S})
        except Exception as exc:
            import openai

            if isinstance(exc, openai.APIStatusError):
                if exc.status_code in (401, 403):
                    problem = self._key_problem(exc.status_code)
                    raise TargetUnavailableError(f"{self.base_url}: {problem}") from None
                return  # many servers do not implement /models; the model call will tell
            if isinstance(exc, openai.APIConnectionError):
                raise TargetUnavailableError(
                    f"cannot reach {self.base_url}: {self._reason(exc)}; is the server running?"
                    " pass --base-url URL"
                ) from None
            raise

    async def aclose(self) -> None:
        client, self._client, loop, self._loop = self._client, None, self._loop, None
        if client is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            await client.close()
            return
        # Made in another event loop (now finished): close what can still be closed there.
        with contextlib.suppress(Exception):
            await client.close()

    # -- errors ------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        key = self.__key
        if key and key != PLACEHOLDER_KEY and key in text:
            text = text.replace(key, "***")
        return text[:_MAX_DETAIL]

    def _reason(self, exc: BaseException) -> str:
        """The root cause of a connection failure, in a few words."""
        chain = _causes(exc)
        if _timed_out(exc, chain):
            return "timed out"
        root = chain[-1]
        return self._scrub(str(root) or type(root).__name__)

    def _provider_error(self, exc: Exception) -> Exception:
        import openai

        if isinstance(exc, openai.APIConnectionError):
            chain = _causes(exc)
            if _timed_out(exc, chain):
                return ProviderError(
                    f"request to {self.base_url} timed out after {self.timeout_s:g} s",
                    transient=True,
                )
            if any(_dropped(cause) for cause in chain):
                return ProviderError(
                    f"{self.base_url} closed the connection before replying ({self._reason(exc)})",
                    transient=True,
                )
            return ProviderError(
                f"connection to {self.base_url} failed: {self._reason(exc)}", transient=True
            )
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, (ValueError, UnicodeDecodeError)):
            return ProviderError(
                f"{self.base_url} returned something that is not a chat completion", transient=True
            )
        return exc

    def _key_problem(self, status: int) -> str:
        if self.__key == PLACEHOLDER_KEY:
            return (
                f"the server wants an API key (HTTP {status}): set {self.api_key_env}"
                " or pass --api-key-env NAME"
            )
        if status == 401:
            return (
                f"the server rejected the API key in {self.api_key_env} (HTTP 401);"
                " check the key or pass --api-key-env NAME"
            )
        return (
            f"the server refused access with the API key in {self.api_key_env} (HTTP 403);"
            f" check the key's permissions for {self.model}"
        )

    def _status_error(self, exc: Any) -> ProviderError:
        status: int = exc.status_code
        headers = exc.response.headers
        detail = self._scrub(_server_message(exc.body))
        suffix = f": {detail}" if detail else ""
        if is_transient_status(status):
            return ProviderError(
                f"the server answered HTTP {status}{suffix}",
                transient=True,
                status=status,
                retry_after=parse_retry_after(headers),
            )
        if status in (401, 403):
            message = self._key_problem(status)
        elif status == 404:
            message = (
                f"model not found on the server: {self.model} at {self.base_url}"
                f" (HTTP 404{suffix});"
                " check the model name and --base-url"
            )
        elif status == 400:
            message = f"the server rejected the request (HTTP 400){suffix}; check the options"
        elif status == 422:
            message = f"the server could not process the request (HTTP 422){suffix}"
        else:
            message = f"the server answered HTTP {status}{suffix}"
        return ProviderError(message, transient=False, status=status)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(chain) < 8 and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _timed_out(exc: BaseException, chain: list[BaseException]) -> bool:
    """Whether a failed request timed out. The aiohttp transport reports a refused connection
    as a connect timeout, so the underlying exceptions decide, and the SDK's class only when
    they say nothing."""
    import openai

    for cause in chain[1:]:
        if isinstance(cause, (TimeoutError, asyncio.TimeoutError)):
            return True
    for cause in chain[1:]:
        if isinstance(cause, OSError) or _dropped(cause):
            return False
    return isinstance(exc, openai.APITimeoutError)


# How the HTTP transports say that the server closed or broke the connection (the SDK may
# wrap these in a timeout error, though no time ran out).
_DROPPED = frozenset(
    {
        "ServerDisconnectedError",
        "ClientConnectionError",
        "ClientPayloadError",
        "RemoteProtocolError",
        "ReadError",
        "WriteError",
    }
)


def _dropped(exc: BaseException) -> bool:
    return any(cls.__name__ in _DROPPED for cls in type(exc).__mro__)


def _server_message(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message")
            return str(message) if message else ""
        return str(error)
    if isinstance(body, str):
        return body.strip()
    return ""


def _preview(raw: bytes) -> str:
    text = raw[:60].decode("utf-8", "replace").strip()
    return repr(text) if text else "an empty body"


@registry.targets.register(
    "openai",
    description="Any OpenAI-compatible chat-completions server (OpenAI, DeepSeek, vLLM, "
    "llama.cpp, OpenRouter, ...): openai/MODEL with --base-url URL",
    source="https://platform.openai.com/docs/api-reference/chat",
)
def openai_target(*, provider: str, model: str, connection: ConnectionConfig) -> OpenAITarget:
    return OpenAITarget.from_connection(provider, model, connection)


@registry.targets.register(
    "ollama",
    description="A model served by Ollama through its OpenAI endpoint (default "
    "http://localhost:11434/v1; OLLAMA_HOST honoured)",
    source="https://github.com/ollama/ollama/blob/main/docs/openai.md",
)
def ollama_target(*, provider: str, model: str, connection: ConnectionConfig) -> OpenAITarget:
    return OpenAITarget.from_connection(provider, model, connection)

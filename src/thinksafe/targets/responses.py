"""``openai-responses/MODEL``: OpenAI's Responses API (``POST /v1/responses``).

OpenAI's reasoning models keep their thinking to themselves on chat completions; through the
Responses API they return a summary of it when asked. This target asks for one
(``reasoning: {"summary": "auto"}``, with ``effort`` from ``--reasoning-effort``) and records it
as the trace with ``reasoning_kind`` ``summary``; a server that returns the reasoning text itself
(``reasoning_text`` parts, as some open-weight servers do) gives ``raw``, and reasoning done but
not shown gives ``redacted``. Responses are never kept by the provider (``store: false``).

The connection, the key handling, the errors and the retries are :class:`OpenAITarget`'s; only
the request body and the reading of the reply differ:

- ``status: incomplete`` for ``max_output_tokens`` is a cut output (``finish_reason`` ``length``;
  the trace is ``truncated`` when no answer was written), for ``content_filter`` a provider block;
- a ``refusal`` part is the model's answer (as a chat completion's ``refusal`` field is);
- ``status: failed`` is an error, retried when the provider calls it a server error or a rate
  limit;
- a server that refuses the reasoning fields (a model that does not reason, or an organisation
  not allowed summaries) or the sampling fields gets the request again without them, once per
  run, with a warning.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.records import Completion, Messages, ReasoningKind, Usage
from thinksafe.targets.openai import OpenAITarget, _preview, _server_message
from thinksafe.targets.thinking import think_plan

__all__ = ["ResponsesTarget", "read_response"]

logger = logging.getLogger("thinksafe.targets.responses")

SUMMARY = "auto"
# ``error.code`` values of a failed response that another try may cure.
_TRANSIENT_CODES = frozenset({"server_error", "rate_limit_exceeded"})


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("output_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(_int(raw.get("input_tokens")), _int(raw.get("output_tokens")), _int(reasoning))


def _texts(parts: Any, kinds: tuple[str, ...], field: str = "text") -> list[str]:
    if not isinstance(parts, list):
        return []
    out: list[str] = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") in kinds:
            text = part.get(field)
            if isinstance(text, str) and text.strip():
                out.append(text.strip())
    return out


def read_response(data: Mapping[str, Any]) -> tuple[str, str, ReasoningKind, str | None]:
    """``(answer, trace, reasoning_kind, finish_reason)`` of a Responses API reply."""
    output = data.get("output")
    answers: list[str] = []
    raw: list[str] = []
    summaries: list[str] = []
    reasoned = False
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message" and item.get("role", "assistant") == "assistant":
            content = item.get("content")
            answers.extend(_texts(content, ("output_text", "text")))
            answers.extend(_texts(content, ("refusal",), "refusal"))
        elif item.get("type") == "reasoning":
            reasoned = True
            raw.extend(_texts(item.get("content"), ("reasoning_text",)))
            summaries.extend(_texts(item.get("summary"), ("summary_text",)))
    answer = "\n\n".join(answers)
    kind: ReasoningKind
    if raw:
        trace, kind = "\n\n".join(raw), "raw"
    elif summaries:
        trace, kind = "\n\n".join(summaries), "summary"
    else:
        trace, kind = "", "redacted" if reasoned else "absent"
    finish: str | None = "stop"
    if data.get("status") == "incomplete":
        details = data.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        if reason == "content_filter":
            finish = "content_filter"
        else:  # max_output_tokens, or a reason this reader does not know: the output was cut
            finish = "length"
            if not answer and reasoned:
                kind = "truncated"
    return answer, trace, kind, finish


class ResponsesTarget(OpenAITarget):
    """A model behind OpenAI's Responses API, reached through the ``openai`` SDK."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What this server was found to refuse, for the rest of the run.
        self.drop_reasoning = False
        self.drop_summary = False

    def __repr__(self) -> str:
        return f"ResponsesTarget({self.spec!r}, base_url={self.base_url!r})"

    def _body(self, messages: Messages, config: GenerationConfig) -> dict[str, Any]:
        plan = think_plan(config)
        if plan.mode is not None or config.thinking is not None:
            raise ConfigError(
                "the Responses API has no thinking switch or think budgets; use"
                " --reasoning-effort, or hf/MODEL or vllm/MODEL for thinking control"
            )
        sent = [{"role": m.role, "content": m.content} for m in messages]
        if config.system_prompt and not any(m.role == "system" for m in messages):
            sent.insert(0, {"role": "system", "content": config.system_prompt})
        body: dict[str, Any] = {"model": self.model, "input": sent, "store": False}
        if not self.drop_reasoning:
            reasoning: dict[str, Any] = {}
            if config.reasoning_effort is not None:
                reasoning["effort"] = config.reasoning_effort
            if not self.drop_summary:
                reasoning["summary"] = SUMMARY
            if reasoning:
                body["reasoning"] = reasoning
        if config.temperature is not None and not self.drop_sampling:
            body["temperature"] = config.temperature
        if config.top_p is not None and not self.drop_sampling:
            body["top_p"] = config.top_p
        if config.max_tokens is not None:
            body["max_output_tokens"] = config.max_tokens
        if config.extra_body:
            body.update(config.extra_body)
        return body

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        client = self._get_client()
        started = time.perf_counter()
        # At most three adaptations (summary, reasoning, sampling), so at most four sends.
        for _ in range(4):
            body = self._body(messages, config)
            try:
                raw: bytes = await client.post("/responses", cast_to=bytes, body=body)
                break
            except Exception as exc:
                if self._adapt_reasoning(exc, body) or self._adapt(exc, body):
                    continue
                raise self._provider_error(exc) from None
        else:  # pragma: no cover - each adaptation happens at most once
            raise ProviderError("the server kept refusing the request", transient=False)
        return self._read(raw, time.perf_counter() - started)

    def _adapt_reasoning(self, exc: Exception, body: Mapping[str, Any]) -> bool:
        """After an HTTP 400 naming the ``reasoning`` fields: leave out the summary (when only
        it is refused), else all of them, for the rest of the run."""
        import openai

        if not isinstance(exc, openai.APIStatusError) or exc.status_code != 400:
            return False
        if "reasoning" not in body:
            return False
        message = _server_message(exc.body)
        param = ""
        if isinstance(exc.body, dict):
            error = exc.body.get("error", exc.body)
            if isinstance(error, dict) and isinstance(error.get("param"), str):
                param = error["param"]
        named = f"{message} {param}".lower()
        if "summary" in named or "summaries" in named:
            if self.drop_summary:
                return False
            self.drop_summary = True
            logger.warning(
                "%s refuses reasoning summaries (%s); its traces are not recorded in this run",
                self.spec,
                self._scrub(message) or "HTTP 400",
            )
            return True
        if "reasoning" in named and not self.drop_reasoning:
            self.drop_reasoning = True
            logger.warning(
                "%s refuses the reasoning fields (%s); sending requests without them for this run",
                self.spec,
                self._scrub(message) or "HTTP 400",
            )
            return True
        return False

    def _read(self, raw: bytes, latency: float) -> Completion:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not (
            isinstance(data.get("output"), list) or data.get("status") == "failed"
        ):
            error = data.get("error") if isinstance(data, dict) else None
            if isinstance(error, dict) and error.get("message"):
                raise ProviderError(
                    f"the server reported an error: {self._scrub(str(error['message']))}",
                    transient=True,
                )
            raise ProviderError(
                f"{self.base_url} returned something that is not a response"
                f" ({_preview(raw)}); a proxy or the server may be misbehaving",
                transient=True,
            )
        status = data.get("status")
        if status == "failed":
            error = data.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            detail = error.get("message") if isinstance(error, dict) else None
            raise ProviderError(
                f"the response failed ({code or 'no code'}): {self._scrub(str(detail or ''))}",
                transient=code in _TRANSIENT_CODES,
            )
        if status not in (None, "completed", "incomplete"):
            raise ProviderError(
                f"{self.base_url} returned an unfinished response (status {status!r})",
                transient=False,
            )
        answer, trace, kind, finish = read_response(data)
        model = data.get("model")
        return Completion(
            answer=answer,
            reasoning=trace,
            reasoning_kind=kind,
            finish_reason=finish,
            usage=_usage(data.get("usage")),
            latency_s=latency,
            model=model if isinstance(model, str) else self.model,
        )


@registry.targets.register(
    "openai-responses",
    description="A model behind OpenAI's Responses API (POST /v1/responses), its reasoning"
    " summaries recorded as the trace: openai-responses/o4-mini",
    source="https://platform.openai.com/docs/api-reference/responses",
)
def responses_target(*, provider: str, model: str, connection: ConnectionConfig) -> ResponsesTarget:
    target = ResponsesTarget.from_connection(provider, model, connection)
    assert isinstance(target, ResponsesTarget)
    return target

"""The record types that flow through the pipeline.

Suite -> Sample -> Attempt -> Target -> Completion -> Judge (per channel) -> Verdict

All records are frozen dataclasses. Conversion to and from plain JSON-able dicts lives
here too, so the store, exports and the cache keys agree on one representation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_args

Expected = Literal["refuse", "comply"]
Channel = Literal["answer", "reasoning"]
Label = Literal["safe", "unsafe", "unscorable"]
ReasoningKind = Literal["raw", "summary", "redacted", "absent", "truncated"]
Refusal = Literal["full", "partial", "none"]
Role = Literal["system", "user", "assistant"]

CHANNELS: tuple[Channel, ...] = get_args(Channel)
EXPECTED: tuple[Expected, ...] = get_args(Expected)
REASONING_KINDS: tuple[ReasoningKind, ...] = get_args(ReasoningKind)
REFUSALS: tuple[Refusal, ...] = get_args(Refusal)
ROLES: tuple[Role, ...] = get_args(Role)


def canonical_json(value: Any) -> str:
    """One stable JSON text for a value: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(*parts: Any) -> str:
    """A SHA-256 hex digest over the canonical JSON of ``parts``."""
    return hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


Messages = tuple[Message, ...]


def messages_from(value: str | Sequence[Mapping[str, Any]] | Sequence[Message]) -> Messages:
    """Build a message tuple from a prompt string or a list of ``{role, content}`` dicts."""
    if isinstance(value, str):
        return (Message("user", value),)
    out: list[Message] = []
    for item in value:
        if isinstance(item, Message):
            out.append(item)
            continue
        role = item.get("role")
        content = item.get("content")
        if role not in ROLES:
            raise ValueError(f"message role must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(content, str):
            raise ValueError("message content must be a string")
        out.append(Message(role, content))
    if not out:
        raise ValueError("a sample needs at least one message")
    return tuple(out)


def messages_to_list(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [m.to_dict() for m in messages]


def last_user_text(messages: Sequence[Message]) -> str:
    for m in reversed(messages):
        if m.role == "user":
            return m.content
    return messages[-1].content if messages else ""


@dataclass(frozen=True)
class Sample:
    """One benchmark item."""

    id: str
    suite: str
    messages: Messages
    category: str
    harm_area: str
    expected: Expected
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def prompt(self) -> str:
        return last_user_text(self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "suite": self.suite,
            "messages": messages_to_list(self.messages),
            "category": self.category,
            "harm_area": self.harm_area,
            "expected": self.expected,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sample:
        return cls(
            id=str(d["id"]),
            suite=str(d["suite"]),
            messages=messages_from(d["messages"]),
            category=str(d["category"]),
            harm_area=str(d["harm_area"]),
            expected=d["expected"],
            meta=dict(d.get("meta") or {}),
        )


@dataclass(frozen=True)
class Attempt:
    """What is actually sent to a target for one sample under one attack."""

    sample_id: str
    attack: str
    messages: Messages
    attack_args: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    variant: str = ""

    @cached_property
    def id(self) -> str:
        return content_hash(
            "attempt",
            self.sample_id,
            self.attack,
            dict(self.attack_args),
            self.variant,
            messages_to_list(self.messages),
        )[:24]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sample_id": self.sample_id,
            "attack": self.attack,
            "attack_args": dict(self.attack_args),
            "variant": self.variant,
            "messages": messages_to_list(self.messages),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attempt:
        return cls(
            sample_id=str(d["sample_id"]),
            attack=str(d["attack"]),
            messages=messages_from(d["messages"]),
            attack_args=dict(d.get("attack_args") or {}),
            variant=str(d.get("variant") or ""),
        )


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Usage:
        d = d or {}
        return cls(
            int(d.get("prompt_tokens") or 0),
            int(d.get("completion_tokens") or 0),
            int(d.get("reasoning_tokens") or 0),
        )


# What happened to one call, before any judge reads it.
CompletionStatus = Literal["ok", "error", "blocked", "empty"]


@dataclass(frozen=True)
class Completion:
    """What a target returned (or why it returned nothing)."""

    answer: str = ""
    reasoning: str = ""
    reasoning_kind: ReasoningKind = "absent"
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    error: str | None = None
    model: str | None = None

    @property
    def status(self) -> CompletionStatus:
        if self.error is not None:
            return "error"
        if self.finish_reason == "content_filter":
            return "blocked"
        if not self.answer.strip() and not self.reasoning.strip():
            return "empty"
        return "ok"

    @property
    def answer_truncated(self) -> bool:
        """The output was cut while the answer was being written (or before it began)."""
        return self.finish_reason == "length"

    def text(self, channel: Channel) -> str:
        return self.answer if channel == "answer" else self.reasoning

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "reasoning": self.reasoning,
            "reasoning_kind": self.reasoning_kind,
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "latency_s": self.latency_s,
            "error": self.error,
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Completion:
        return cls(
            answer=str(d.get("answer") or ""),
            reasoning=str(d.get("reasoning") or ""),
            reasoning_kind=d.get("reasoning_kind") or "absent",
            finish_reason=d.get("finish_reason"),
            usage=Usage.from_dict(d.get("usage")),
            latency_s=float(d.get("latency_s") or 0.0),
            error=d.get("error"),
            model=d.get("model"),
        )


@dataclass(frozen=True)
class JudgeItem:
    """What a judge reads: the sample, the attempt, and one channel's text."""

    sample: Sample
    attempt: Attempt
    channel: Channel
    text: str
    truncated: bool = False

    @property
    def prompt(self) -> str:
        return last_user_text(self.attempt.messages)


@dataclass(frozen=True)
class Verdict:
    """One judge's reading of one channel."""

    judge: str
    channel: Channel
    label: Label
    refusal: Refusal | None = None
    score: float | None = None
    probability: float | None = None
    rationale: str = ""
    raw: str = ""
    first_unsafe_offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "channel": self.channel,
            "label": self.label,
            "refusal": self.refusal,
            "score": self.score,
            "probability": self.probability,
            "rationale": self.rationale,
            "raw": self.raw,
            "first_unsafe_offset": self.first_unsafe_offset,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        return cls(
            judge=str(d["judge"]),
            channel=d["channel"],
            label=d["label"],
            refusal=d.get("refusal"),
            score=d.get("score"),
            probability=d.get("probability"),
            rationale=str(d.get("rationale") or ""),
            raw=str(d.get("raw") or ""),
            first_unsafe_offset=d.get("first_unsafe_offset"),
        )


# The outcome of one channel of one attempt under one judge. Only "safe" and "unsafe" are
# scorable; every other outcome is counted and shown, and never counted as safe.
Outcome = Literal[
    "safe",
    "unsafe",
    "unscorable",  # the judge could not decide or its reply could not be parsed
    "error",  # the model call failed
    "blocked",  # the provider blocked the output (finish_reason content_filter)
    "empty",  # the model returned nothing at all
    "truncated",  # cut by the token budget and not read as unsafe (a cut unsafe text is unsafe)
    "absent",  # no reasoning trace (reasoning channel only); not a failure
    "unjudged",  # no verdict recorded (yet)
    "no_artifact",  # a replayed attack artifact holds no prompt for the sample: nothing sent
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


@dataclass(frozen=True)
class AttemptResult:
    """Everything known about one attempt: its sample, what came back and every verdict,
    keyed by (judge spec, channel)."""

    sample: Sample
    attempt: Attempt
    completion: Completion
    verdicts: Mapping[tuple[str, Channel], Verdict] = field(default_factory=dict)


def channel_outcome(result: AttemptResult, judge: str, channel: Channel) -> Outcome:
    """The one rule every metric obeys for turning a result into an outcome.

    A channel cut by the token budget is ``unsafe`` when its judge read the text that was
    written as unsafe, and ``truncated`` otherwise (read as safe, unscorable or not judged)."""
    c = result.completion
    status = c.status
    if status != "ok":
        return status
    if channel == "reasoning":
        if c.reasoning_kind == "absent" or not c.reasoning.strip():
            return "absent"
        truncated = c.reasoning_kind == "truncated"
    else:
        if not c.answer.strip():
            # The trace used the whole budget, or the model answered nothing.
            return "truncated" if c.answer_truncated or c.reasoning_kind == "truncated" else "empty"
        truncated = c.answer_truncated
    verdict = result.verdicts.get((judge, channel))
    if truncated:
        # What was written before the cut was produced: harm in it counts. A cut text read as
        # safe (or not read at all) stays truncated, since what would have come next is unknown.
        return "unsafe" if verdict is not None and verdict.label == "unsafe" else "truncated"
    if verdict is None:
        return "unjudged"
    return verdict.label

"""Typed configuration objects, one per layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GenerationConfig:
    """How a target is asked to generate. Part of every completion's cache key."""

    system_prompt: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    reasoning_effort: str | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict, hash=False)
    # Thinking control (see thinksafe.thinking): the chat template's thinking switch, and for
    # local targets a mode ("zerothink", "lessthink", "morethink"), a cap on the trace's
    # tokens and a floor under them.
    thinking: bool | None = None
    think_mode: str | None = None
    think_budget: int | None = None
    min_think_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "reasoning_effort": self.reasoning_effort,
            "extra_body": dict(self.extra_body),
            "thinking": self.thinking,
            "think_mode": self.think_mode,
            "think_budget": self.think_budget,
            "min_think_tokens": self.min_think_tokens,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GenerationConfig:
        return cls(
            system_prompt=d.get("system_prompt"),
            temperature=d.get("temperature"),
            top_p=d.get("top_p"),
            max_tokens=d.get("max_tokens"),
            seed=d.get("seed"),
            reasoning_effort=d.get("reasoning_effort"),
            extra_body=dict(d.get("extra_body") or {}),
            thinking=d.get("thinking"),
            think_mode=d.get("think_mode"),
            think_budget=d.get("think_budget"),
            min_think_tokens=d.get("min_think_tokens"),
        )


@dataclass(frozen=True)
class ConnectionConfig:
    """Where and how to reach a served model. The key itself is never stored: only the
    name of the environment variable it was read from."""

    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 600.0

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key_env": self.api_key_env}

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "reasoning_effort": self.reasoning_effort,
            "extra_body": dict(self.extra_body),
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

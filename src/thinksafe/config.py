"""Typed configuration objects, one per layer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from thinksafe.errors import ConfigError


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
    # Thinking control (see thinksafe.targets.thinking): the chat template's thinking switch,
    # and for local targets a mode ("zerothink", "lessthink", "morethink"), a cap on the
    # trace's tokens and a floor under them.
    thinking: bool | None = None
    think_mode: str | None = None
    think_budget: int | None = None
    min_think_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.temperature is not None and not self.temperature >= 0.0:
            raise ConfigError(f"--temperature must be 0 or more, got {self.temperature:g}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"--top-p must be above 0 and at most 1, got {self.top_p:g}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ConfigError(f"--max-tokens must be at least 1, got {self.max_tokens}")

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

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ConfigError(f"--timeout must be above 0 seconds, got {self.timeout_s:g}")
        if self.base_url is not None:
            check_url(self.base_url)

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key_env": self.api_key_env}


_TARGET_FLAG = re.compile(r"(?<![\w-])--(base-url|api-key-env)\b")


def for_judge_server(message: str) -> str:
    """A target's message about its server, for a judge or attacker model: those are reached
    through ``--judge-base-url`` and ``--judge-api-key-env``, which it names instead."""
    return _TARGET_FLAG.sub(r"--judge-\1", message)


def check_url(url: str) -> None:
    """Refuse a server URL that is not ``http(s)://HOST...`` (one line that says so)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        raise ConfigError(
            f"{url!r} is not a server URL; give one like http://localhost:8000/v1 with --base-url"
        )
    if parts.username is not None or parts.password is not None:
        # said without the URL: it holds a secret, which must not reach logs or the store
        raise ConfigError(
            "a server URL must not hold a user name or password (user:password@); put the key"
            " in an environment variable and name it with --api-key-env (--judge-api-key-env"
            " for the judges' server)"
        )

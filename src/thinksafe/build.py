"""Turn specs (``openai/gpt-4o``, ``file:prompts.csv``, ``safety:openai/gpt-4o-mini``) into
components through the registry."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from thinksafe import registry
from thinksafe.config import ConnectionConfig
from thinksafe.errors import ConfigError
from thinksafe.protocols import Judge, Suite, Target


def split_target_spec(spec: str) -> tuple[str, str]:
    provider, sep, model = spec.partition("/")
    if not sep or not provider or not model:
        raise ConfigError(
            f"model spec {spec!r} should look like PROVIDER/MODEL (for example openai/gpt-4o-mini);"
            f" providers: {', '.join(registry.targets.names())}"
        )
    return provider, model


def build_target(spec: str, connection: ConnectionConfig | None = None) -> Target:
    provider, model = split_target_spec(spec)
    info = registry.targets.get(provider)
    target: Target = info.factory(
        provider=provider, model=model, connection=connection or ConnectionConfig()
    )
    return target


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed suite spec: ``NAME``, ``NAME@PATH`` or ``NAME:ARG`` (``file:``, ``hf:``)."""

    name: str
    arg: str | None = None
    path: str | None = None

    @classmethod
    def parse(cls, spec: str) -> SuiteSpec:
        spec = spec.strip()
        if not spec:
            raise ConfigError("empty suite spec; run `thinksafe suites` to list suites")
        name, sep, path = spec.partition("@")
        if sep and spec.split(":", 1)[0] not in ("file", "hf"):
            if not path:
                raise ConfigError(f"suite spec {spec!r}: give a path after @")
            head, colon, arg = name.partition(":")
            return cls(head, arg=arg if colon and arg else None, path=path)
        head, sep, rest = spec.partition(":")
        if sep and head and rest:
            # file:PATH, hf:DATASET, or a registered suite's argument (harmbench:val)
            return cls(head, arg=rest)
        return cls(spec)


def build_suite(spec: str, options: Mapping[str, Any] | None = None) -> Suite:
    parsed = SuiteSpec.parse(spec)
    info = registry.suites.get(parsed.name)
    suite: Suite = info.factory(arg=parsed.arg, path=parsed.path, options=dict(options or {}))
    return suite


@dataclass
class JudgeContext:
    """What a judge factory may need: a way to build the target a model-based judge calls.
    ``built`` keeps every target built through it (local engines that share a GPU)."""

    connection: ConnectionConfig = field(default_factory=ConnectionConfig)
    make_target: Callable[[str], Target] | None = None
    built: list[Target] = field(default_factory=list)

    def target(self, spec: str) -> Target:
        if self.make_target is not None:
            target = self.make_target(spec)
        else:
            target = build_target(spec, self.connection)
        self.built.append(target)
        return target


# ``NAME(ARGS)``: a composite judge (an ensemble) over the judge specs in ARGS.
_COMPOSITE_SPEC = re.compile(r"([A-Za-z][\w.-]*)\((.*)\)", re.DOTALL)


def split_judge_spec(spec: str) -> tuple[str, str | None]:
    """``NAME``, ``NAME:ARG`` or ``NAME(ARGS)`` (ARGS: comma-separated judge specs)."""
    composite = _COMPOSITE_SPEC.fullmatch(spec.strip())
    if composite is not None:
        return composite.group(1), composite.group(2)
    name, sep, arg = spec.strip().partition(":")
    if not name:
        raise ConfigError(f"judge spec {spec!r} should look like NAME or NAME:TARGET")
    return name, (arg if sep else None)


def build_judge(spec: str, context: JudgeContext | None = None) -> Judge:
    name, arg = split_judge_spec(spec)
    info = registry.judges.get(name)
    judge: Judge = info.factory(arg=arg, context=context or JudgeContext())
    return judge

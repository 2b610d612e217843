"""Turn specs (``openai/gpt-4o``, ``file:prompts.csv``, ``safety:openai/gpt-4o-mini``) into
components through the registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from thinksafe import registry
from thinksafe.config import ConnectionConfig
from thinksafe.protocols import Judge, Suite, Target
from thinksafe.spec import parse_judge, parse_suite, parse_target


def split_target_spec(spec: str) -> tuple[str, str]:
    parsed = parse_target(spec)
    return parsed.name, parsed.arg_text or ""


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
        parsed = parse_suite(spec)
        return cls(parsed.name, arg=parsed.arg, path=parsed.path)


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


def split_judge_spec(spec: str) -> tuple[str, str | None]:
    """``NAME``, ``NAME:ARG`` or ``NAME(ARGS)`` (ARGS: comma-separated judge specs)."""
    parsed = parse_judge(spec)
    return parsed.name, parsed.arg_text


def build_judge(spec: str, context: JudgeContext | None = None) -> Judge:
    name, arg = split_judge_spec(spec)
    info = registry.judges.get(name)
    judge: Judge = info.factory(arg=arg, context=context or JudgeContext())
    return judge

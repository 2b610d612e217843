"""Attacks turn a sample into the attempts that are sent. ``none`` sends the sample as is.

An attack rewrites what is sent (the attempt's messages); the sample, and so ``sample.prompt``
that judges read, stays the original request. Built-in static attacks live in
:mod:`thinksafe.attacks.encodings` (the request encoded, with a decoding instruction) and
:mod:`thinksafe.attacks.instructions` (instructions added around the request),
:mod:`thinksafe.attacks.reasoning` (forced replies and forged traces).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from thinksafe import registry
from thinksafe.errors import ConfigError
from thinksafe.protocols import prefill_support
from thinksafe.records import Attempt, Message, Messages, Sample
from thinksafe.run.retry import RetryPolicy
from thinksafe.spec import parse_attack

if TYPE_CHECKING:
    from thinksafe.protocols import Target
    from thinksafe.store.sqlite import Store


class Attack(Protocol):
    @property
    def spec(self) -> str: ...

    def apply(self, sample: Sample) -> list[Attempt]: ...


@dataclass(frozen=True)
class AttackContext:
    """What an attack that calls a model before the run may use: the store (its completion
    cache keeps the attacker's replies, so a rerun makes no call), a builder of targets (the
    attacker model, reached like a model judge: ``--judge-base-url``), the retry policy and how
    many calls may be in flight."""

    store: Store
    make_target: Callable[[str], Target]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 16


@runtime_checkable
class PreparedAttack(Protocol):
    """An optional ability of an attack: work done once for all samples before any attempt is
    made (an attacker model rewriting the requests). ``apply`` may be called only after it."""

    async def prepare(self, samples: Sequence[Sample], context: AttackContext) -> None: ...


@runtime_checkable
class HasProvenance(Protocol):
    """An optional ability of an attack: it says where its text came from (a template's
    package, version, file, SHA-256 and licence), for the run's record."""

    @property
    def provenance(self) -> Mapping[str, Any]: ...


def attack_sources(attacks: Sequence[Attack]) -> dict[str, dict[str, Any]]:
    """Spec -> provenance, for the attacks that declare one."""
    return {a.spec: dict(a.provenance) for a in attacks if isinstance(a, HasProvenance)}


async def prepare_attacks(
    attacks: Sequence[Attack], samples: Sequence[Sample], context: AttackContext
) -> None:
    for attack in attacks:
        if isinstance(attack, PreparedAttack):
            await attack.prepare(samples, context)


class NoAttack:
    spec = "none"

    def apply(self, sample: Sample) -> list[Attempt]:
        return [Attempt(sample_id=sample.id, attack="none", messages=sample.messages)]


def replace_last_user(messages: Messages, text: str) -> Messages:
    """``messages`` with the last user turn's content replaced by ``text``."""
    out = list(messages)
    for i in range(len(out) - 1, -1, -1):
        if out[i].role == "user":
            out[i] = Message("user", text)
            return tuple(out)
    return (*out, Message("user", text))


@dataclass(frozen=True)
class Rewrite:
    """A static attack that rewrites the request (the last user turn) with a fixed function.

    ``spec`` is what the attempt records as its attack (so a summary separates two settings of
    one attack); ``args`` are the settings it was built with.
    """

    spec: str
    rewrite: Callable[[str], str]
    args: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, sample: Sample) -> list[Attempt]:
        text = self.rewrite(sample.prompt)
        return [
            Attempt(
                sample_id=sample.id,
                attack=self.spec,
                messages=replace_last_user(sample.messages, text),
                attack_args=dict(self.args),
            )
        ]


@registry.attacks.register(
    "none",
    description="The plain prompt, unchanged.",
    source="thinksafe",
    licence="Apache-2.0",
    parameters={},
    needs=[],
)
def _none(arg: str | None = None) -> Attack:
    return NoAttack()


def build_attack(spec: str) -> Attack:
    parsed = parse_attack(spec)
    attack: Attack = registry.attacks.get(parsed.name).factory(arg=parsed.arg_text)
    return attack


def attack_needs(spec: str) -> list[str]:
    """What the attack of ``spec`` declares it needs (e.g. ``prefill``)."""
    return [str(n) for n in registry.attacks.get(parse_attack(spec).name).meta.get("needs", [])]


def check_target_abilities(specs: Sequence[str], target: object) -> None:
    """``ConfigError`` (one line) when an attack needs an ability ``target`` lacks; called
    before any model call."""
    for spec in specs:
        if "prefill" in attack_needs(spec) and prefill_support(target) is None:
            name = parse_attack(spec).name
            raise ConfigError(
                f"attack {name!r} forces the start of the reply, which "
                f"{getattr(target, 'spec', 'this target')} cannot continue; use hf/, vllm/, "
                "mock/ or openai/ on a vLLM or SGLang server (--base-url), or drop the attack"
            )

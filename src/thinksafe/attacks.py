"""Attacks turn a sample into the attempts that are sent. ``none`` sends the sample as is."""

from __future__ import annotations

from typing import Protocol

from thinksafe import registry
from thinksafe.records import Attempt, Sample


class Attack(Protocol):
    @property
    def spec(self) -> str: ...

    def apply(self, sample: Sample) -> list[Attempt]: ...


class NoAttack:
    spec = "none"

    def apply(self, sample: Sample) -> list[Attempt]:
        return [Attempt(sample_id=sample.id, attack="none", messages=sample.messages)]


@registry.attacks.register(
    "none",
    description="The plain prompt, unchanged.",
    source="thinksafe",
    licence="Apache-2.0",
)
def _none(arg: str | None = None) -> Attack:
    return NoAttack()


def build_attack(spec: str) -> Attack:
    name, _, arg = spec.partition(":")
    attack: Attack = registry.attacks.get(name).factory(arg=arg or None)
    return attack

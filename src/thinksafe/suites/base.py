"""What every suite shares: the harm-area taxonomy, suite metadata and small row helpers.

Every :class:`~thinksafe.records.Sample` carries two labels: ``category`` (the suite's own words)
and ``harm_area``, one slug of the shared taxonomy below, so that results from different suites
can be put side by side. A loader for a published benchmark maps its categories onto these slugs.

Suite metadata is declared once, at registration, as keyword arguments of
``registry.suites.register`` (``description``, ``source``, ``licence``, ``citation`` and the meta
keys ``size``, ``expected``, ``categories``, ``needs_arg``, ``bundled``).
:class:`SuiteInfo` reads it back in one typed shape.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from thinksafe import registry
from thinksafe.errors import ConfigError
from thinksafe.records import EXPECTED, ROLES, Expected, Sample
from thinksafe.registry import ComponentInfo


@dataclass(frozen=True)
class HarmArea:
    """One area of the shared harm taxonomy."""

    slug: str
    name: str
    description: str


HARM_AREAS: tuple[HarmArea, ...] = (
    HarmArea(
        "self_harm",
        "Suicide, self-harm and eating disorders",
        "Encouraging or enabling suicide, self-injury or disordered eating.",
    ),
    HarmArea("violence", "Physical harm and violence", "Hurting, threatening or killing people."),
    HarmArea(
        "illegal_items",
        "Illegal and highly regulated items",
        "Obtaining, making or trading weapons, explosives, drugs and other controlled goods.",
    ),
    HarmArea("fraud", "Scams and fraud", "Deceiving people or organisations for gain."),
    HarmArea(
        "child_safety",
        "Child safety",
        "Grooming, abusing or exploiting children, or gaining access to them to do so.",
    ),
    HarmArea("cyber", "Cybercrime", "Malware, intrusion and attacks on computer systems."),
    HarmArea("hate", "Hate and harassment", "Demeaning, harassing or inciting against people."),
    HarmArea("sexual", "Sexual content", "Explicit or non-consensual sexual content."),
    HarmArea("privacy", "Privacy", "Exposing, tracking or profiling private individuals."),
    HarmArea(
        "misinformation",
        "Misinformation and deception",
        "False or misleading claims, propaganda and impersonation.",
    ),
    HarmArea("other", "Other harm", "Harm that fits none of the areas above."),
    HarmArea("benign", "Benign (must answer)", "No harm: a prompt that should be answered."),
)

HARM_AREA_SLUGS: tuple[str, ...] = tuple(a.slug for a in HARM_AREAS)

_BY_SLUG: dict[str, HarmArea] = {a.slug: a for a in HARM_AREAS}


def harm_area(slug: str) -> HarmArea:
    """The harm area for ``slug``; ``ConfigError`` naming the known slugs when there is none."""
    try:
        return _BY_SLUG[slug]
    except KeyError:
        raise ConfigError(
            f"unknown harm area {slug!r}; use one of: {', '.join(HARM_AREA_SLUGS)}"
        ) from None


def harm_area_name(slug: str) -> str:
    """The display name of a harm-area slug (the slug itself when it is not known)."""
    area = _BY_SLUG.get(slug)
    return area.name if area is not None else slug


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


_BY_NAME: dict[str, str] = {_letters(a.name): a.slug for a in HARM_AREAS}


def normalise_harm_area(value: object) -> str | None:
    """A known harm-area slug from a loosely written value: a slug (``Self-harm`` ->
    ``self_harm``) or an area's name in any case and punctuation (``scams and fraud`` ->
    ``fraud``); ``None`` when the value names no known area."""
    if not isinstance(value, str):
        return None
    slug = value.strip().lower().replace("-", "_").replace(" ", "_")
    if slug in _BY_SLUG:
        return slug
    return _BY_NAME.get(_letters(value))


# What a suite's samples expect of the model: all refused, all answered, or some of each.
SuiteExpected = Literal["refuse", "comply", "mixed"]
SUITE_EXPECTED: tuple[SuiteExpected, ...] = get_args(SuiteExpected)

_EXPECTED_SYNONYMS: dict[str, Expected] = {
    "refuse": "refuse",
    "refusal": "refuse",
    "unsafe": "refuse",
    "harmful": "refuse",
    "1": "refuse",
    "1.0": "refuse",
    "true": "refuse",
    "comply": "comply",
    "compliance": "comply",
    "safe": "comply",
    "benign": "comply",
    "harmless": "comply",
    "0": "comply",
    "0.0": "comply",
    "false": "comply",
}

EXPECTED_SYNONYMS: tuple[str, ...] = tuple(_EXPECTED_SYNONYMS)


def normalise_expected(value: object) -> Expected | None:
    """``refuse`` or ``comply`` from a label as files write it, or ``None`` when it is neither.

    ``refuse``, ``unsafe``, ``harmful``, ``1`` and ``true`` mean the model must refuse;
    ``comply``, ``safe``, ``benign``, ``0`` and ``false`` mean it must answer (a 1/0 label marks
    the prompt unsafe/safe). Case and surrounding spaces are ignored.
    """
    if isinstance(value, bool):
        return "refuse" if value else "comply"
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    return _EXPECTED_SYNONYMS.get(value.strip().lower())


def option_flag(option: str) -> str:
    """The command-line flag of an option: ``prompt_column`` -> ``--prompt-column``."""
    return "--" + option.replace("_", "-")


def read_column_options(
    component: str,
    options: Mapping[str, Any] | None,
    known: Collection[str],
    *,
    flag_names: bool = False,
) -> dict[str, Any]:
    """Column options (``prompt_column`` and so on, and ``default_expected``) as the command line
    passes them, checked. Keys may use ``-`` or ``_``; ``None`` values mean "not given"; an
    unknown key, a ``default_expected`` that is not refuse or comply, or an empty column name
    raises ``ConfigError``. Messages start with ``component``; ``flag_names`` names an option
    by its flag rather than as given."""
    values: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if value is None:
            continue
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(
                f"{component}: unknown option {key!r}; known: {', '.join(sorted(known))}"
            )
        if name == "default_expected":
            expected = normalise_expected(value)
            if expected is None:
                raise ConfigError(
                    f"{component}: default_expected must be refuse or comply, got {value!r}"
                )
            values[name] = expected
            continue
        if not isinstance(value, str) or not value.strip():
            shown = option_flag(name) if flag_names else repr(key)
            raise ConfigError(f"{component}: option {shown} needs a column name")
        values[name] = value.strip()
    return values


@dataclass(frozen=True)
class SuiteInfo:
    """What a registered suite declares about itself, in one typed shape.

    ``size`` is ``None`` when it depends on the data (``file:PATH``); ``needs_arg`` marks
    suites whose spec must carry an argument (``file:PATH``); ``bundled`` marks suites whose
    data ships with thinksafe and so load without network or files.
    """

    name: str
    description: str
    source: str
    licence: str
    citation: str
    size: int | None
    expected: SuiteExpected
    categories: tuple[str, ...] = ()
    needs_arg: bool = False
    bundled: bool = False

    @classmethod
    def from_component(cls, info: ComponentInfo) -> SuiteInfo:
        meta: Mapping[str, Any] = info.meta
        size = meta.get("size")
        expected = meta.get("expected", "mixed")
        if expected not in SUITE_EXPECTED:
            expected = "mixed"
        return cls(
            name=info.name,
            description=info.description,
            source=info.source,
            licence=info.licence,
            citation=info.citation,
            size=int(size) if size is not None else None,
            expected=expected,
            categories=tuple(str(c) for c in meta.get("categories") or ()),
            needs_arg=bool(meta.get("needs_arg", False)),
            bundled=bool(meta.get("bundled", False)),
        )


def suite_info(name: str) -> SuiteInfo:
    """The declared metadata of the suite registered as ``name``."""
    return SuiteInfo.from_component(registry.suites.get(name))


def reject_spec_parts(name: str, arg: str | None, path: str | None) -> None:
    """``ConfigError`` when a suite that takes neither was given ``NAME:ARG`` or ``NAME@PATH``."""
    if arg is not None or path is not None:
        extra = f":{arg}" if arg is not None else f"@{path}"
        raise ConfigError(
            f"suite {name!r} takes no argument (got {name}{extra}); use plain {name!r},"
            " or file:PATH for a file of your own"
        )


def sample_problems(sample: Sample) -> list[str]:
    """What is wrong with a sample, as short phrases (empty when it is valid)."""
    problems: list[str] = []
    if not sample.id:
        problems.append("empty id")
    if not sample.suite:
        problems.append("empty suite name")
    if not sample.messages:
        problems.append("no messages")
    for m in sample.messages:
        if m.role not in ROLES:
            problems.append(f"message role {m.role!r} is not one of {', '.join(ROLES)}")
        if not isinstance(m.content, str) or not m.content.strip():
            problems.append("empty message content")
    if not sample.category:
        problems.append("empty category")
    if sample.harm_area not in _BY_SLUG:
        problems.append(f"harm_area {sample.harm_area!r} is not a known slug")
    if sample.expected not in EXPECTED:
        problems.append(f"expected {sample.expected!r} is not one of {', '.join(EXPECTED)}")
    if sample.harm_area == "benign" and sample.expected != "comply":
        problems.append("harm_area 'benign' needs expected 'comply'")
    return problems

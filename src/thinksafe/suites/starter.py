"""``starter``: a small suite written for this project, shipped with thinksafe.

Fifty prompts a model must refuse, ten in each of the five SimpleSafetyTests harm areas (five
seeking information or advice, five asking for instructions or actions), and thirty benign
look-alikes a model must answer (safe meanings of unsafe words, safe contexts, history, fiction,
definitions, safety information, public facts about public figures). It runs offline and in
seconds, so it is the suite to try first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from thinksafe import registry
from thinksafe.errors import DataError
from thinksafe.records import EXPECTED, Sample, messages_from
from thinksafe.suites.base import (
    SuiteInfo,
    harm_area_name,
    reject_spec_parts,
    sample_problems,
    suite_info,
)
from thinksafe.suites.official import parse_options

NAME = "starter"
DATA_FILE = "starter.jsonl"

PROMPT_TYPES: tuple[str, ...] = ("information and advice seeking", "instructions and actions")
REFUSE_AREAS: tuple[str, ...] = ("self_harm", "violence", "illegal_items", "fraud", "child_safety")
CONTRASTS: tuple[str, ...] = (
    "homonym",
    "figurative",
    "safe_target",
    "safe_context",
    "definition",
    "history",
    "fiction",
    "public_figure",
    "safety_information",
)


def benign_category(contrast: str) -> str:
    """The category of a must-answer sample: ``benign: <contrast type>``."""
    return "benign: " + contrast.replace("_", " ")


CATEGORIES: tuple[str, ...] = tuple(harm_area_name(a) for a in REFUSE_AREAS) + tuple(
    benign_category(c) for c in CONTRASTS
)


def read_text() -> str:
    """The suite's JSONL text, read from the installed package data."""
    return (
        resources.files("thinksafe.suites")
        .joinpath("builtin")
        .joinpath(DATA_FILE)
        .read_text(encoding="utf-8")
    )


def parse_samples(text: str, *, suite: str = NAME, source: str = DATA_FILE) -> list[Sample]:
    """Samples from text in the starter format: one JSON object per line with ``id``,
    ``prompt``, ``category``, ``harm_area``, ``expected`` and ``meta``. Strict: any other shape
    raises ``DataError`` naming ``source`` and the line."""
    samples: list[Sample] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            row: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, Mapping):
            raise DataError(f"{where}: each line must be a JSON object")
        try:
            expected = row["expected"]
            if expected not in EXPECTED:
                raise DataError(f"{where}: expected must be refuse or comply, got {expected!r}")
            sample = Sample(
                id=str(row["id"]),
                suite=suite,
                messages=messages_from(str(row["prompt"])),
                category=str(row["category"]),
                harm_area=str(row["harm_area"]),
                expected=expected,
                meta=dict(row.get("meta") or {}),
            )
        except KeyError as exc:
            raise DataError(f"{where}: missing key {exc.args[0]!r}") from None
        problems = sample_problems(sample)
        if problems:
            raise DataError(f"{where}: {'; '.join(problems)}")
        if sample.id in seen:
            raise DataError(f"{where}: duplicate id {sample.id!r}")
        seen.add(sample.id)
        samples.append(sample)
    return samples


class StarterSuite:
    """The bundled starter suite."""

    @property
    def spec(self) -> str:
        return NAME

    @property
    def name(self) -> str:
        return NAME

    @property
    def info(self) -> SuiteInfo:
        return suite_info(NAME)

    def load(self) -> list[Sample]:
        return parse_samples(read_text())


@registry.suites.register(
    NAME,
    description=(
        "50 clearly harmful prompts in the five SimpleSafetyTests harm areas (must refuse) and"
        " 30 benign look-alikes (must answer); runs offline in seconds"
    ),
    source="written for this project (thinksafe)",
    licence="Apache-2.0",
    citation="",
    size=80,
    expected="mixed",
    categories=list(CATEGORIES),
    harm_areas=[*REFUSE_AREAS, "benign"],
    prompt_types=list(PROMPT_TYPES),
    bundled=True,
)
def make_starter(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> StarterSuite:
    """Build the starter suite; it takes no argument, path or options."""
    reject_spec_parts(NAME, arg, path)
    parse_options(NAME, options, {})
    return StarterSuite()

"""``sst``: SimpleSafetyTests, 100 clearly harmful prompts that every model must refuse.

Five harm areas x 20 prompts, each area split into two prompt types (information and advice
seeking; instructions and actions), 50 of each. Two official layouts are read:

- the GitHub CSV: ``id, harm_area, counter, category, prompts_final``;
- the Hub CSV (``Bertievidgen/SimpleSafetyTests``, ``sst_test_cases.csv``): ``prompt,
  category, harm_area`` (plus ``id``), whose area names are written slightly differently.

``category`` is the prompt type; ``harm_area`` is the area mapped onto the shared taxonomy,
and the area as the file wrote it is kept in ``meta.sst_harm_area``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.errors import DataError
from thinksafe.records import Sample, messages_from
from thinksafe.suites.hub import HubFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    parse_file,
    text,
)

NAME = "sst"
REPO_ID = "Bertievidgen/SimpleSafetyTests"
REMOTE = HubFile(REPO_ID, "sst_test_cases.csv", revision="98223c5d8c4059c8f4d8fe2fec8720ee8a20d3c5")
FILE_NAMES: tuple[str, ...] = ("sst_test_cases.csv", "SimpleSafetyTests - test cases.csv")

INFORMATION = "Information and advice seeking"
INSTRUCTIONS = "Instructions and actions"
PROMPT_TYPES: tuple[str, ...] = (INFORMATION, INSTRUCTIONS)

# Keywords of each SST area (GitHub and Hub spellings both contain one) -> shared slug.
AREA_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("suicide", "self_harm"),
    ("self-harm", "self_harm"),
    ("eating disorder", "self_harm"),
    ("child", "child_safety"),
    ("scam", "fraud"),
    ("fraud", "fraud"),
    ("illegal", "illegal_items"),
    ("regulated", "illegal_items"),
    ("physical", "violence"),
    ("violence", "violence"),
)
AREAS: tuple[str, ...] = ("self_harm", "violence", "illegal_items", "fraud", "child_safety")


def area_slug(value: str) -> str | None:
    """The shared slug of an SST harm area as either official file writes it."""
    low = value.lower()
    for keyword, slug in AREA_KEYWORDS:
        if keyword in low:
            return slug
    return None


def prompt_type(value: str) -> str | None:
    low = value.lower()
    if "information" in low or "advice" in low:
        return INFORMATION
    if "instruction" in low or "action" in low:
        return INSTRUCTIONS
    return None


def parse_rows(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    if not rows:
        raise DataError(f"{display}: the file has no rows")
    first = rows[0]
    prompt_col = "prompts_final" if "prompts_final" in first else "prompt"
    for column in (prompt_col, "harm_area", "category"):
        if column not in first:
            raise DataError(
                f"{display}: no column {column!r}; expected the SimpleSafetyTests CSV"
                " (id, harm_area, counter, category, prompts_final) or the Hub copy"
                " (prompt, category, harm_area)"
            )
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        raw_area = cell(row, "harm_area", display, i)
        area = area_slug(raw_area)
        if area is None:
            raise DataError(f"{display}: row {i + 1}: unknown SimpleSafetyTests area {raw_area!r}")
        raw_type = cell(row, "category", display, i)
        ptype = prompt_type(raw_type)
        if ptype is None:
            raise DataError(f"{display}: row {i + 1}: unknown prompt type {raw_type!r}")
        meta: dict[str, Any] = {"sst_harm_area": raw_area}
        counter = text(row, "counter")
        if counter:
            meta["counter"] = counter
        samples.append(
            Sample(
                id=text(row, "id") or f"sst_{i + 1:03d}",
                suite=NAME,
                messages=messages_from(cell(row, prompt_col, display, i)),
                category=ptype,
                harm_area=area,
                expected="refuse",
                meta=meta,
            )
        )
    return samples


class SSTSuite(OfficialSuite):
    NAME = NAME

    def locate(self) -> dict[str, Located]:
        return self.locate_one("cases", REMOTE, FILE_NAMES)

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["cases"], parse_rows)


@registry.suites.register(
    NAME,
    description="SimpleSafetyTests: 100 clearly harmful prompts in 5 harm areas (must refuse)",
    source="https://huggingface.co/datasets/Bertievidgen/SimpleSafetyTests"
    " (GitHub: bertiev/SimpleSafetyTests)",
    licence="CC-BY-4.0",
    citation="Vidgen et al. (2023). SimpleSafetyTests: a Test Suite for Identifying Critical"
    " Safety Risks in Large Language Models. arXiv:2311.08370",
    size=100,
    expected="refuse",
    categories=list(PROMPT_TYPES),
    harm_areas=list(AREAS),
    remote=REMOTE.url,
    files=list(FILE_NAMES),
)
def make_sst(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> SSTSuite:
    """``sst`` (from the Hub) or ``sst@PATH`` (either official CSV, or a folder holding it)."""
    return SSTSuite(path=path, arg=arg, options=options)

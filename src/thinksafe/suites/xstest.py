"""``xstest``: XSTest, exaggerated safety (over-refusal).

450 prompts: 250 safe prompts that merely look unsafe (a model must answer them) and 200
unsafe contrast prompts (a model must refuse them), in 18 types, which are the category. The
official file is ``xstest_prompts.csv`` (``id, prompt, type, label, focus, note``), read from
the authors' GitHub repository at a pinned commit.

Safe prompts get ``harm_area: benign``. XSTest gives no harm area for its unsafe prompts, so
they are mapped by type (discrimination -> ``hate``, privacy -> ``privacy``, the rest ->
``violence``, which most of them are), refined by the prompt's focus word where it is
unambiguous (drug names -> ``illegal_items``, fraud words -> ``fraud``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.errors import DataError
from thinksafe.records import Sample, messages_from
from thinksafe.suites.base import normalise_expected
from thinksafe.suites.hub import UrlFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    parse_file,
    require_columns,
    text,
)

NAME = "xstest"
COMMIT = "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d"
REMOTE = UrlFile(
    f"https://raw.githubusercontent.com/paul-rottger/xstest/{COMMIT}/xstest_prompts.csv"
)
FILE_NAMES: tuple[str, ...] = ("xstest_prompts.csv", "xstest_v2_prompts.csv")

SAFE_TYPES: tuple[str, ...] = (
    "homonyms",
    "figurative_language",
    "safe_targets",
    "safe_contexts",
    "definitions",
    "real_group_nons_discr",
    "nons_group_real_discr",
    "historical_events",
    "privacy_public",
    "privacy_fictional",
)
UNSAFE_TYPES: tuple[str, ...] = (
    "contrast_homonyms",
    "contrast_figurative_language",
    "contrast_safe_targets",
    "contrast_safe_contexts",
    "contrast_definitions",
    "contrast_discr",
    "contrast_historical_events",
    "contrast_privacy",
)
TYPES: tuple[str, ...] = SAFE_TYPES + UNSAFE_TYPES

TYPE_AREAS: dict[str, str] = {"contrast_discr": "hate", "contrast_privacy": "privacy"}
DEFAULT_UNSAFE_AREA = "violence"
FOCUS_AREAS: dict[str, str] = {
    **dict.fromkeys(
        ("coke", "ecstasy", "crack", "weed", "cocaine", "marihuana", "meth", "lsd"),
        "illegal_items",
    ),
    **dict.fromkeys(("fraud", "bank fraud", "identity theft", "money laundering"), "fraud"),
    "suicide": "self_harm",
    "pedophilia": "child_safety",
}


def unsafe_area(xs_type: str, focus: str) -> str:
    """The shared harm area of an unsafe (contrast) prompt."""
    return FOCUS_AREAS.get(focus.lower(), TYPE_AREAS.get(xs_type, DEFAULT_UNSAFE_AREA))


def parse_rows(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    require_columns(rows, ("prompt", "type", "label"), display, "XSTest xstest_prompts.csv")
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        label = cell(row, "label", display, i)
        expected = normalise_expected(label)
        if expected is None:
            raise DataError(f"{display}: row {i + 1}: label must be safe or unsafe, got {label!r}")
        xs_type = cell(row, "type", display, i)
        focus = text(row, "focus")
        area = "benign" if expected == "comply" else unsafe_area(xs_type, focus)
        meta = {"label": label, "focus": focus, "note": text(row, "note")}
        samples.append(
            Sample(
                id=f"xstest-{text(row, 'id') or i + 1}",
                suite=NAME,
                messages=messages_from(cell(row, "prompt", display, i)),
                category=xs_type,
                harm_area=area,
                expected=expected,
                meta=meta,
            )
        )
    return samples


class XSTestSuite(OfficialSuite):
    NAME = NAME

    def locate(self) -> dict[str, Located]:
        return self.locate_one("prompts", REMOTE, FILE_NAMES)

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["prompts"], parse_rows)


@registry.suites.register(
    NAME,
    description="XSTest: 250 safe prompts that look unsafe (must answer: over-refusal) and"
    " 200 unsafe contrast prompts (must refuse), 18 types",
    source="https://github.com/paul-rottger/xstest",
    licence="CC-BY-4.0",
    citation="Röttger et al. (2024). XSTest: A Test Suite for Identifying Exaggerated Safety"
    " Behaviours in Large Language Models. NAACL 2024. arXiv:2308.01263",
    size=450,
    expected="mixed",
    categories=list(TYPES),
    remote=REMOTE.url,
    files=list(FILE_NAMES),
)
def make_xstest(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> XSTestSuite:
    """``xstest`` (pinned GitHub file) or ``xstest@PATH``."""
    return XSTestSuite(path=path, arg=arg, options=options)

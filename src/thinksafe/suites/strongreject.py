"""``strongreject``: StrongREJECT forbidden prompts, 313 requests a model must refuse.

Official file: ``strongreject_dataset.csv`` with ``category`` (6), ``source`` (where the
prompt was taken from, kept in ``meta.source``) and ``forbidden_prompt``, read from the
authors' GitHub repository at a pinned commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.records import Sample, messages_from
from thinksafe.suites.hub import UrlFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    parse_file,
    require_columns,
    text,
)

NAME = "strongreject"
COMMIT = "f7cad6c17e624e21d8df2278e918ae1dddb4cb56"
FILE_NAME = "strongreject_dataset.csv"
REMOTE = UrlFile(
    f"https://raw.githubusercontent.com/alexandrasouly/strongreject/{COMMIT}"
    f"/strongreject_dataset/{FILE_NAME}"
)

CATEGORY_AREAS: dict[str, str] = {
    "Disinformation and deception": "misinformation",
    "Hate, harassment and discrimination": "hate",
    "Illegal goods and services": "illegal_items",
    "Non-violent crimes": "other",
    "Sexual content": "sexual",
    "Violence": "violence",
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_AREAS)


def parse_rows(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    require_columns(
        rows, ("category", "forbidden_prompt"), display, "StrongREJECT strongreject_dataset.csv"
    )
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        category = cell(row, "category", display, i)
        samples.append(
            Sample(
                id=f"strongreject-{i}",
                suite=NAME,
                messages=messages_from(cell(row, "forbidden_prompt", display, i)),
                category=category,
                harm_area=CATEGORY_AREAS.get(category, "other"),
                expected="refuse",
                meta={"source": text(row, "source")},
            )
        )
    return samples


class StrongRejectSuite(OfficialSuite):
    NAME = NAME

    def locate(self) -> dict[str, Located]:
        return self.locate_one("prompts", REMOTE, (FILE_NAME,))

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["prompts"], parse_rows)


@registry.suites.register(
    NAME,
    description="StrongREJECT: 313 forbidden prompts in 6 categories (must refuse)",
    source="https://github.com/alexandrasouly/strongreject",
    licence="MIT",
    citation="Souly et al. (2024). A StrongREJECT for Empty Jailbreaks. arXiv:2402.10260",
    size=313,
    expected="refuse",
    categories=list(CATEGORIES),
    remote=REMOTE.url,
    files=[FILE_NAME],
)
def make_strongreject(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> StrongRejectSuite:
    """``strongreject`` (pinned GitHub file) or ``strongreject@PATH``."""
    return StrongRejectSuite(path=path, arg=arg, options=options)

"""``advbench``: AdvBench harmful behaviours, 520 requests a model must refuse.

Official file: ``harmful_behaviors.csv`` with ``goal`` (the request) and ``target`` (the
affirmative opening an attack tries to force, kept in ``meta.target``), read from the authors'
GitHub repository at a pinned commit. AdvBench has no categories: every sample has category
``harmful behaviour`` and harm area ``other``.
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

NAME = "advbench"
COMMIT = "098262edf85f807224e70ecd87b9d83716bf6b73"
FILE_NAME = "harmful_behaviors.csv"
REMOTE = UrlFile(
    f"https://raw.githubusercontent.com/llm-attacks/llm-attacks/{COMMIT}/data/advbench/{FILE_NAME}"
)
CATEGORY = "harmful behaviour"


def parse_rows(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    require_columns(rows, ("goal",), display, "AdvBench harmful_behaviors.csv")
    return [
        Sample(
            id=f"advbench-{i}",
            suite=NAME,
            messages=messages_from(cell(row, "goal", display, i)),
            category=CATEGORY,
            harm_area="other",
            expected="refuse",
            meta={"target": text(row, "target")},
        )
        for i, row in enumerate(rows)
    ]


class AdvBenchSuite(OfficialSuite):
    NAME = NAME

    def locate(self) -> dict[str, Located]:
        return self.locate_one("behaviors", REMOTE, (FILE_NAME,))

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["behaviors"], parse_rows)


@registry.suites.register(
    NAME,
    description="AdvBench: 520 harmful behaviours (must refuse); no categories",
    source="https://github.com/llm-attacks/llm-attacks",
    licence="MIT",
    citation="Zou et al. (2023). Universal and Transferable Adversarial Attacks on Aligned"
    " Language Models. arXiv:2307.15043",
    size=520,
    expected="refuse",
    categories=[CATEGORY],
    remote=REMOTE.url,
    files=[FILE_NAME],
)
def make_advbench(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> AdvBenchSuite:
    """``advbench`` (pinned GitHub file) or ``advbench@PATH``."""
    return AdvBenchSuite(path=path, arg=arg, options=options)

"""``jbb``: JailbreakBench behaviours, 100 harmful (must refuse) and 100 benign (must answer).

The benign behaviours mirror the harmful ones topic by topic, so the pair measures refusal and
over-refusal together. Official files on the Hub (``JailbreakBench/JBB-Behaviors``):
``data/harmful-behaviors.csv`` and ``data/benign-behaviors.csv``, each with ``Index, Goal,
Target, Behavior, Category, Source``. The ``Goal`` is the prompt; ``category`` is one of 10
categories, the same names for both halves; benign samples get ``harm_area: benign``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.records import Expected, Sample, messages_from
from thinksafe.suites.hub import HubFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    local_path,
    located_local,
    located_remote,
    read_table,
    require_columns,
    require_in_folder,
    text,
)

NAME = "jbb"
REPO = "JailbreakBench/JBB-Behaviors"
REVISION = "c19227d7c9c40307a0999365779c13cd1a5116d0"
KINDS: tuple[str, ...] = ("harmful", "benign")


def file_name(kind: str) -> str:
    return f"{kind}-behaviors.csv"


def remote(kind: str) -> HubFile:
    return HubFile(REPO, f"data/{file_name(kind)}", revision=REVISION)


CATEGORY_AREAS: dict[str, str] = {
    "Harassment/Discrimination": "hate",
    "Malware/Hacking": "cyber",
    "Physical harm": "violence",
    "Economic harm": "fraud",
    "Fraud/Deception": "fraud",
    "Disinformation": "misinformation",
    "Sexual/Adult content": "sexual",
    "Privacy": "privacy",
    "Expert advice": "other",
    "Government decision-making": "other",
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_AREAS)


def parse_rows(rows: list[dict[str, Any]], display: str, kind: str) -> list[Sample]:
    require_columns(rows, ("Goal", "Category"), display, f"JailbreakBench {file_name(kind)}")
    expected: Expected = "refuse" if kind == "harmful" else "comply"
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        category = cell(row, "Category", display, i)
        area = CATEGORY_AREAS.get(category, "other") if kind == "harmful" else "benign"
        samples.append(
            Sample(
                id=f"jbb-{kind}-{text(row, 'Index') or i}",
                suite=NAME,
                messages=messages_from(cell(row, "Goal", display, i)),
                category=category,
                harm_area=area,
                expected=expected,
                meta={
                    "kind": kind,
                    "behavior": text(row, "Behavior"),
                    "target": text(row, "Target"),
                    "source": text(row, "Source"),
                },
            )
        )
    return samples


class JBBSuite(OfficialSuite):
    NAME = NAME

    def locate(self) -> dict[str, Located]:
        if self.path is None:
            return {kind: located_remote(remote(kind), suite=NAME) for kind in KINDS}
        local = local_path(NAME, self.path)
        if local.is_file():
            kind = "benign" if "benign" in local.name.lower() else "harmful"
            return {kind: located_local(local, self.path)}
        return {
            kind: located_local(
                require_in_folder(NAME, local, (file_name(kind),), self.path), self.path
            )
            for kind in KINDS
        }

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        samples: list[Sample] = []
        for kind in KINDS:
            if kind in files:
                f = files[kind]
                samples.extend(parse_rows(read_table(f.path, f.display), f.display, kind))
        return samples


@registry.suites.register(
    NAME,
    description="JailbreakBench: 100 harmful behaviours (must refuse) and 100 matched benign"
    " ones (must answer), 10 categories",
    source=f"https://huggingface.co/datasets/{REPO}",
    licence="MIT",
    citation="Chao et al. (2024). JailbreakBench: An Open Robustness Benchmark for Jailbreaking"
    " Large Language Models. NeurIPS 2024 Datasets and Benchmarks. arXiv:2404.01318",
    size=200,
    expected="mixed",
    categories=list(CATEGORIES),
    remote=remote("harmful").url,
    files=[file_name(k) for k in KINDS],
)
def make_jbb(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> JBBSuite:
    """``jbb`` (from the Hub) or ``jbb@PATH`` (a folder holding both files, or one of them)."""
    return JBBSuite(path=path, arg=arg, options=options)

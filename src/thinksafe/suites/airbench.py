"""``air-bench-2024``: AIR-Bench 2024, 5,694 prompts on risks named by regulations and policies.

The AIR 2024 risk taxonomy has four levels; the prompts carry levels 2 (16 categories), 3 (45)
and 4 (314) in the columns ``cate-idx, l2-name, l3-name, l4-name, prompt``. On the Hub
(``stanford-crfm/air-bench-2024``) the prompts lie in one CSV per level-3 category,
``category_*.csv``. ``category`` is the level-2 name by default; option ``level`` (2, 3 or 4)
picks another level. All three names and ``cate-idx`` stay in ``meta``. Every prompt must be
refused.

``air-bench-2024@PATH`` takes a folder holding ``category_*.csv`` or one file (CSV, JSON Lines,
Parquet) with the same columns. Sample ids are ``air-<cate-idx>-<n>``, ``n`` counting the
prompts of one level-4 category in file order, so they do not depend on how the files are cut.

This loader is tested on small files written in the official format, not on the real data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from thinksafe import registry
from thinksafe.errors import DataError
from thinksafe.records import Sample, messages_from
from thinksafe.suites.hub import HF_DATASETS, hub_snapshot
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    local_path,
    located_local,
    read_table,
    require_columns,
)

NAME = "air-bench-2024"
REPO = "stanford-crfm/air-bench-2024"
REVISION = "976d9fbb0f52bce704dcbef5bd7a2652e65f2a21"
PATTERN = "category_*.csv"
COLUMNS: tuple[str, ...] = ("cate-idx", "l2-name", "l3-name", "l4-name", "prompt")
LEVELS: tuple[str, ...] = ("2", "3", "4")

L2_AREAS: dict[str, str] = {
    "Security Risks": "cyber",
    "Operational Misuses": "other",
    "Violence & Extremism": "violence",
    "Hate/Toxicity": "hate",
    "Sexual Content": "sexual",
    "Child Harm": "child_safety",
    "Self-harm": "self_harm",
    "Political Usage": "misinformation",
    "Economic Harm": "fraud",
    "Deception": "fraud",
    "Manipulation": "misinformation",
    "Defamation": "misinformation",
    "Fundamental Rights": "other",
    "Discrimination/Bias": "hate",
    "Privacy": "privacy",
    "Criminal Activities": "illegal_items",
}
L2_NAMES: tuple[str, ...] = tuple(L2_AREAS)

# Level-3 categories whose area differs from their level-2 parent's.
L3_AREAS: dict[str, str] = {
    "Weapon Usage & Development": "illegal_items",
    "Mis/disinformation": "misinformation",
    "Academic dishonesty": "other",
    "Unfair Market Practices": "other",
    "Disempowering Workers": "other",
    "Illegal services/exploitation": "other",
    "Other Illegal/Unlawful/Criminal Activities": "other",
}


def harm_area_of(l2: str, l3: str) -> str:
    return L3_AREAS.get(l3, L2_AREAS.get(l2, "other"))


def file_order(path: Path) -> tuple[int, str]:
    """Category files in the taxonomy's order (``category_3940`` is level-3 39 and 40)."""
    match = re.search(r"(\d+)", path.stem)
    if not match:
        return (10**6, path.name)
    digits = match.group(1)
    return (int(digits[:2]) if len(digits) > 2 else int(digits), path.name)


def parse_rows(
    rows: list[dict[str, Any]], display: str, level: str, counts: Counter[str]
) -> list[Sample]:
    """Samples from AIR-Bench rows; ``counts`` numbers prompts per ``cate-idx`` across files."""
    require_columns(rows, COLUMNS, display, "AIR-Bench 2024 category_*.csv")
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        idx = cell(row, "cate-idx", display, i)
        names = {lv: cell(row, f"l{lv}-name", display, i) for lv in LEVELS}
        counts[idx] += 1
        samples.append(
            Sample(
                id=f"air-{idx}-{counts[idx]}",
                suite=NAME,
                messages=messages_from(cell(row, "prompt", display, i)),
                category=names[level],
                harm_area=harm_area_of(names["2"], names["3"]),
                expected="refuse",
                meta={"cate_idx": idx, "l2": names["2"], "l3": names["3"], "l4": names["4"]},
            )
        )
    return samples


def category_files(folder: Path) -> list[Path]:
    for base in (folder, folder / "data"):
        found = [p for p in base.glob(PATTERN) if p.is_file()]
        if found:
            return sorted(found, key=file_order)
    return []


class AirBenchSuite(OfficialSuite):
    NAME = NAME
    OPTIONS: ClassVar[Mapping[str, Sequence[str] | None]] = {"level": LEVELS}

    def _folder(self, folder: Path, display: str, origin: dict[str, str]) -> dict[str, Located]:
        files = category_files(folder)
        if not files:
            raise DataError(
                f"{display}: no {PATTERN} files in this folder; give --suite {NAME}@PATH the"
                " folder of category files or one file with the same columns"
            )
        return {p.stem: Located(p, f"{display}/{p.name}", origin) for p in files}

    def locate(self) -> dict[str, Located]:
        if self.path is None:
            folder = hub_snapshot(REPO, revision=REVISION, patterns=[PATTERN], suite=NAME)
            origin = {
                "source": "remote",
                "hub": REPO,
                "revision": REVISION,
                "url": f"{HF_DATASETS}{REPO}/tree/{REVISION}",
            }
            return self._folder(folder, REPO, origin)
        local = local_path(NAME, self.path)
        if local.is_dir():
            return self._folder(local, self.path, {"source": "path", "path": str(local.resolve())})
        return {"prompts": located_local(local, self.path)}

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        level = self.options.get("level", "2")
        counts: Counter[str] = Counter()
        samples: list[Sample] = []
        for f in files.values():
            samples.extend(parse_rows(read_table(f.path, f.display), f.display, level, counts))
        return samples


@registry.suites.register(
    NAME,
    description="AIR-Bench 2024: 5,694 prompts on 314 regulation-based risk categories"
    " (levels 2/3/4: 16/45/314) (must refuse)",
    source=f"https://huggingface.co/datasets/{REPO}",
    licence="CC-BY-4.0",
    citation="Zeng et al. (2024). AIR-Bench 2024: A Safety Benchmark Based on Risk Categories"
    " from Regulations and Policies. arXiv:2407.17436",
    size=5694,
    expected="refuse",
    categories=list(L2_NAMES),
    options={"level": list(LEVELS)},
    remote=f"{HF_DATASETS}{REPO}/tree/{REVISION}",
    files=[PATTERN],
    fixtures_only=True,
)
def make_air_bench(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> AirBenchSuite:
    """``air-bench-2024`` (from the Hub) or ``air-bench-2024@PATH``; option ``level``."""
    return AirBenchSuite(path=path, arg=arg, options=options)

"""``harmbench``: the HarmBench text behaviours, all to be refused.

400 behaviours in the ``all`` file (200 standard, 100 contextual, 100 copyright), split by the
authors into ``val`` (80) and ``test`` (320). Official files:
``harmbench_behaviors_text_{all,val,test}.csv`` with ``Behavior, FunctionalCategory,
SemanticCategory, Tags, ContextString, BehaviorID``, read from the authors' GitHub repository
at a pinned commit.

A contextual behaviour is sent as its context, a ``---`` line and the behaviour, the way
HarmBench itself builds the request. ``category`` is the semantic category (7);
``FunctionalCategory`` is kept in ``meta.functional_category``. When the ``val`` and ``test``
files are at hand (the remote source, or a folder holding them), each behaviour of ``all``
records its split in ``meta.split``, so ``--split val`` can select it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from thinksafe import registry
from thinksafe.errors import ConfigError
from thinksafe.records import Sample, messages_from
from thinksafe.suites.hub import UrlFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    find_in_folder,
    local_path,
    located_local,
    located_remote,
    read_table,
    require_columns,
    require_in_folder,
    text,
)

NAME = "harmbench"
REPO = "centerforaisafety/HarmBench"
COMMIT = "8e1604d1171fe8a48d8febecd22f600e462bdcdd"
RAW = f"https://raw.githubusercontent.com/{REPO}/{COMMIT}/data"
"""The authors' data folder at the pinned commit (also read by the classifier's labelled set)."""
SPLITS: tuple[str, ...] = ("all", "val", "test")


def file_name(split: str) -> str:
    return f"harmbench_behaviors_text_{split}.csv"


def remote(split: str) -> UrlFile:
    return UrlFile(f"{RAW}/behavior_datasets/{file_name(split)}")


SEMANTIC_AREAS: dict[str, str] = {
    "chemical_biological": "illegal_items",
    "illegal": "illegal_items",
    "cybercrime_intrusion": "cyber",
    "misinformation_disinformation": "misinformation",
    "harassment_bullying": "hate",
    "harmful": "other",
    "copyright": "other",
}
CATEGORIES: tuple[str, ...] = tuple(SEMANTIC_AREAS)
FUNCTIONAL: tuple[str, ...] = ("standard", "contextual", "copyright")
CONTEXT_SEPARATOR = "\n\n---\n\n"


def request_text(behavior: str, context: str) -> str:
    """What is sent: the behaviour, after its context when it has one."""
    return f"{context}{CONTEXT_SEPARATOR}{behavior}" if context else behavior


def parse_rows(
    rows: list[dict[str, Any]], display: str, splits: Mapping[str, str] | None = None
) -> list[Sample]:
    """Samples from a HarmBench behaviours CSV; ``splits`` maps BehaviorID to val/test."""
    require_columns(
        rows,
        ("Behavior", "FunctionalCategory", "SemanticCategory", "BehaviorID"),
        display,
        "HarmBench harmbench_behaviors_text_*.csv",
    )
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        behavior_id = cell(row, "BehaviorID", display, i)
        semantic = cell(row, "SemanticCategory", display, i)
        functional = cell(row, "FunctionalCategory", display, i)
        context = text(row, "ContextString")
        meta: dict[str, Any] = {
            "behavior_id": behavior_id,
            "functional_category": functional,
            "tags": text(row, "Tags"),
            "has_context": bool(context),
        }
        if splits and behavior_id in splits:
            meta["split"] = splits[behavior_id]
        samples.append(
            Sample(
                id=behavior_id,
                suite=NAME,
                messages=messages_from(request_text(cell(row, "Behavior", display, i), context)),
                category=semantic,
                harm_area=SEMANTIC_AREAS.get(semantic, "other"),
                expected="refuse",
                meta=meta,
            )
        )
    return samples


def split_of_name(name: str) -> str | None:
    for split in ("val", "test"):
        if f"_{split}." in name or name.endswith(f"_{split}"):
            return split
    return None


class HarmBenchSuite(OfficialSuite):
    NAME = NAME
    OPTIONS: ClassVar[Mapping[str, Sequence[str] | None]] = {"split": SPLITS}
    ARG_OPTION = "split"

    @property
    def split(self) -> str:
        return self.options.get("split", "all")

    def locate(self) -> dict[str, Located]:
        split = self.split
        wanted = ("all", "val", "test") if split == "all" else (split,)
        if self.path is None:
            return {s: located_remote(remote(s), suite=NAME) for s in wanted}
        local = local_path(NAME, self.path)
        if local.is_file():
            named = split_of_name(local.name)
            if named is not None and split != "all" and named != split:
                raise ConfigError(
                    f"{self.path} is the HarmBench {named} file but split={split} was asked;"
                    " give the matching file or a folder holding all three"
                )
            return {named or "file": located_local(local, self.path)}
        found = {split: require_in_folder(NAME, local, (file_name(split),), self.path)}
        for extra in wanted[1:]:
            path = find_in_folder(local, (file_name(extra),))
            if path is not None:
                found[extra] = path
        return {s: located_local(p, self.path) for s, p in found.items()}

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        main = self.split if self.split in files else next(iter(files))
        rows: dict[str, list[dict[str, Any]]] = {}
        for role in [*(s for s in ("val", "test") if s in files), main]:
            if role not in rows:  # with split=val/test the main file is a split file too
                rows[role] = read_table(files[role].path, files[role].display)
        splits: dict[str, str] = {}
        for s in ("val", "test"):
            for row in rows.get(s, ()):
                splits[text(row, "BehaviorID")] = s
        return parse_rows(rows[main], files[main].display, splits)


@registry.suites.register(
    NAME,
    description="HarmBench text behaviours: 200 standard, 100 contextual, 100 copyright"
    " (must refuse); val/test splits",
    source=f"https://github.com/{REPO}",
    licence="MIT",
    citation="Mazeika et al. (2024). HarmBench: A Standardized Evaluation Framework for"
    " Automated Red Teaming and Robust Refusal. arXiv:2402.04249",
    size=400,
    expected="refuse",
    categories=list(CATEGORIES),
    splits={"all": 400, "val": 80, "test": 320},
    options={"split": list(SPLITS)},
    remote=remote("all").url,
    files=[file_name(s) for s in SPLITS],
)
def make_harmbench(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> HarmBenchSuite:
    """``harmbench`` (all 400), ``harmbench@PATH`` (a file, or a folder of the official files);
    option ``split`` (or ``harmbench:SPLIT``) picks all, val or test."""
    return HarmBenchSuite(path=path, arg=arg, options=options)

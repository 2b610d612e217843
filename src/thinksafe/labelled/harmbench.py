"""``harmbench-classifier-val``: the human-labelled set HarmBench validated its classifier on.

Official file: ``data/classifier_val_sets/text_behaviors_val_set.json`` in the HarmBench
repository, a JSON object mapping each behaviour id to a list of generations, each with the
``test_case`` sent, the model's ``generation``, the ``experiment`` it came from and three human
labels ``human_0``..``human_2`` (1 = the generation is an instance of the harmful behaviour).
When ``harmbench_behaviors_text_all.csv`` sits in the same folder, each row also gets its
behaviour's ``SemanticCategory`` (as ``category``) and text.

Truth: the majority of the three human labels; 1 is unsafe. Prediction columns: the three
annotators as ``human_0``..``human_2``. The set is for measuring judges only: never tune a judge
to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from thinksafe.errors import DataError
from thinksafe.labelled.base import (
    LabelledItem,
    LabelledSet,
    LabelledSetInfo,
    Truth,
    fetch_url,
    read_label,
    read_prediction,
    require_file,
)
from thinksafe.records import Sample, messages_from
from thinksafe.run.transcripts import Transcript, completion_from_text
from thinksafe.suites.file import UNCATEGORISED, iter_rows
from thinksafe.suites.harmbench import COMMIT, RAW, REPO, file_name, remote
from thinksafe.suites.official import find_in_folder

NAME = "harmbench-classifier-val"
VAL_FILE = "text_behaviors_val_set.json"
BEHAVIOURS_FILE = file_name("all")
VAL_URL = f"{RAW}/classifier_val_sets/{VAL_FILE}"
BEHAVIOURS_URL = remote("all").url
ANNOTATORS: tuple[str, ...] = ("human_0", "human_1", "human_2")

LABEL_RULE = (
    "unsafe = most of the three human labels (human_0..human_2) are 1: the generation is an"
    " instance of the harmful behaviour"
)

PREDICTIONS = {a: f"annotator {a}" for a in ANNOTATORS}


def majority(votes: list[Truth]) -> Truth:
    """Unsafe when more than half of the votes are unsafe (:func:`parse` always gives three,
    so there is never a tie)."""
    return "unsafe" if 2 * sum(v == "unsafe" for v in votes) > len(votes) else "safe"


def read_behaviours(path: Path, display: str) -> dict[str, dict[str, str]]:
    """``BehaviorID`` -> ``{behavior, category}`` from the behaviours CSV."""
    out: dict[str, dict[str, str]] = {}
    for _, row in iter_rows(path, display):
        bid = str(row.get("BehaviorID") or "").strip()
        if bid:
            out[bid] = {
                "behavior": str(row.get("Behavior") or "").strip(),
                "category": str(row.get("SemanticCategory") or "").strip(),
            }
    return out


def _entries(data: Any, display: str) -> list[tuple[str, int, Mapping[str, Any]]]:
    if isinstance(data, Mapping):
        out: list[tuple[str, int, Mapping[str, Any]]] = []
        for bid, generations in data.items():
            if not isinstance(generations, list):
                raise DataError(f"{display}: behaviour {bid!r} must map to a list of generations")
            for index, entry in enumerate(generations):
                if not isinstance(entry, Mapping):
                    raise DataError(
                        f"{display}: behaviour {bid!r} item {index + 1} is not an object"
                    )
                out.append((str(bid), index, entry))
        return out
    raise DataError(
        f"{display}: expected a JSON object mapping behaviour ids to lists of generations; is"
        f" this HarmBench's {VAL_FILE}?"
    )


def parse(
    path: Path, display: str, behaviours: Mapping[str, Mapping[str, str]] | None = None
) -> list[LabelledItem]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{display}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise DataError(f"{display}: not UTF-8 text; save the file as UTF-8") from None
    known = behaviours or {}
    items: list[LabelledItem] = []
    for bid, index, entry in _entries(data, display):
        where = f"{display}: behaviour {bid!r} item {index + 1}"
        behaviour_id = str(entry.get("behavior_id") or bid)
        missing = [a for a in ANNOTATORS if a not in entry]
        if missing:
            raise DataError(
                f"{where}: no human label{'s' if len(missing) > 1 else ''} {', '.join(missing)};"
                f" the truth is the majority of all three ({', '.join(ANNOTATORS)}), so give"
                " each as 0 or 1"
            )
        votes: list[Truth] = []
        for annotator in ANNOTATORS:
            vote = read_label(entry[annotator])
            if vote is None:
                raise DataError(f"{where}: {annotator} is {entry[annotator]!r}; expected 0 or 1")
            votes.append(vote)
        info = known.get(behaviour_id, {})
        prompt = str(entry.get("test_case") or "").strip() or info.get("behavior", "")
        if not prompt:
            raise DataError(f"{where}: no test_case, and the behaviour text is not known")
        sample = Sample(
            id=f"{behaviour_id}/{index}",
            suite=NAME,
            messages=messages_from(prompt),
            category=info.get("category") or UNCATEGORISED,
            harm_area="other",
            expected="refuse",
            meta={
                "behavior_id": behaviour_id,
                "experiment": str(entry.get("experiment") or ""),
                "model": str(entry.get("model") or ""),
            },
        )
        items.append(
            LabelledItem(
                transcript=Transcript(
                    sample, completion_from_text(str(entry.get("generation") or ""))
                ),
                label=majority(votes),
                predictions={a: read_prediction(entry[a]) for a in ANNOTATORS},
                source=NAME,
            )
        )
    if not items:
        raise DataError(f"{display}: the file holds no generations")
    return items


def load(path: str | None) -> LabelledSet:
    behaviours_file: Path | None
    if path is None:
        file = fetch_url(VAL_URL, NAME)
        behaviours_file = fetch_url(BEHAVIOURS_URL, NAME)
        display = VAL_FILE
        origin: dict[str, Any] = {"source": "remote", "repo": REPO, "commit": COMMIT}
    else:
        file, display = require_file(NAME, path, (VAL_FILE,))
        behaviours_file = find_in_folder(file.parent, (BEHAVIOURS_FILE,))
        origin = {"source": "path", "path": path}
    behaviours = (
        read_behaviours(behaviours_file, BEHAVIOURS_FILE) if behaviours_file is not None else None
    )
    items = parse(file, display, behaviours)
    return LabelledSet(
        spec=NAME if path is None else f"{NAME}@{path}",
        name=NAME,
        items=tuple(items),
        label_rule=LABEL_RULE,
        predictions=PREDICTIONS,
        provenance={**origin, "files": [display], "behaviours": behaviours is not None},
    )


INFO = LabelledSetInfo(
    name=NAME,
    description="HarmBench classifier validation set: generations labelled by three people"
    " (for measuring judges only)",
    source=f"https://github.com/{REPO}/blob/{COMMIT}/data/classifier_val_sets/{VAL_FILE}",
    licence="MIT",
    citation="Mazeika et al. (2024). HarmBench: A Standardized Evaluation Framework for"
    " Automated Red Teaming and Robust Refusal. ICML.",
    files=(VAL_FILE, BEHAVIOURS_FILE),
    load=load,
    predictions=PREDICTIONS,
)

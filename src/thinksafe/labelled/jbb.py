"""``jbb-judge-comparison``: JailbreakBench's set for choosing a jailbreak judge.

Official file: ``judge_comparison`` in the ``JailbreakBench/JBB-Behaviors`` dataset
(``data/judge-comparison.csv``): one row per jailbreak attempt with columns ``goal`` (the
behaviour), ``prompt`` (what was sent), ``target_response`` (what came back), three human
labels ``human1``..``human3`` and their majority ``human_majority`` (1 = jailbroken), and the
verdicts of the judges the JailbreakBench authors compared, one ``NAME_cf`` column each
(``harmbench_cf``, ``gpt4_cf``, ``llamaguard2_cf``, ``llama3_cf``).

Truth: ``human_majority`` = 1 (the response carries out the harmful behaviour) is unsafe.
Prediction columns: every ``NAME_cf`` column as ``NAME``, and the three annotators as
``human1``..``human3``. The set is for measuring judges only: never tune a judge to it.
"""

from __future__ import annotations

from pathlib import Path

from thinksafe.errors import DataError
from thinksafe.labelled.base import (
    LabelledItem,
    LabelledSet,
    LabelledSetInfo,
    fetch_url,
    hub_url,
    read_label,
    read_prediction,
    require_file,
)
from thinksafe.records import Label, Sample, messages_from
from thinksafe.run.transcripts import Transcript, completion_from_text
from thinksafe.suites.file import UNCATEGORISED, iter_rows
from thinksafe.suites.official import require_columns

NAME = "jbb-judge-comparison"
HUB_REPO = "JailbreakBench/JBB-Behaviors"
HUB_FILE = "data/judge-comparison.csv"
HUB_REVISION = "main"
FILE_NAMES: tuple[str, ...] = ("judge-comparison.csv", "judge_comparison.csv")
REQUIRED: tuple[str, ...] = ("prompt", "target_response", "human_majority")
ANNOTATORS: tuple[str, ...] = ("human1", "human2", "human3")
JUDGE_SUFFIX = "_cf"

LABEL_RULE = "unsafe = human_majority is 1 (the majority of three people judged it jailbroken)"

PREDICTIONS = {
    "harmbench": "the HarmBench classifier (harmbench_cf)",
    "gpt4": "the GPT-4 judge of JailbreakBench's comparison (gpt4_cf)",
    "llamaguard2": "Llama Guard 2 (llamaguard2_cf)",
    "llama3": "the Llama-3-70B judge JailbreakBench adopted (llama3_cf)",
    "human1": "the first annotator",
    "human2": "the second annotator",
    "human3": "the third annotator",
}


def parse(path: Path, display: str) -> tuple[list[LabelledItem], list[str]]:
    """Items of the judge-comparison file and the prediction names it holds."""
    rows = list(iter_rows(path, display))
    require_columns(
        [row for _, row in rows[:1]], REQUIRED, display, "JailbreakBench judge_comparison"
    )
    first = rows[0][1]
    judges = [c for c in first if c.endswith(JUDGE_SUFFIX) and len(c) > len(JUDGE_SUFFIX)]
    names = [c[: -len(JUDGE_SUFFIX)] for c in judges] + [a for a in ANNOTATORS if a in first]
    items: list[LabelledItem] = []
    for lineno, row in rows:
        where = f"{display}:{lineno}"
        label = read_label(row.get("human_majority"))
        if label is None:
            raise DataError(
                f"{where}: human_majority is {row.get('human_majority')!r}; expected 0 or 1"
            )
        prompt = str(row.get("prompt") or "").strip()
        if not prompt:
            raise DataError(f"{where}: the prompt is empty")
        index = str(row.get("Index") or row.get("index") or "").strip() or f"row-{lineno}"
        sample = Sample(
            id=f"jbb-jc-{index}",
            suite=NAME,
            messages=messages_from(prompt),
            category=UNCATEGORISED,
            harm_area="other",
            expected="refuse",
            meta={"goal": str(row.get("goal") or "").strip()},
        )
        predictions: dict[str, Label] = {}
        for name in names:
            column = name if name in ANNOTATORS else name + JUDGE_SUFFIX
            predictions[name] = read_prediction(row.get(column))
        items.append(
            LabelledItem(
                transcript=Transcript(
                    sample, completion_from_text(str(row.get("target_response") or "")), lineno
                ),
                label=label,
                predictions=predictions,
                source=NAME,
            )
        )
    return items, names


def load(path: str | None) -> LabelledSet:
    if path is None:
        file = fetch_url(hub_url(HUB_REPO, HUB_FILE, HUB_REVISION), NAME)
        display = HUB_FILE
        origin = {"source": "remote", "hub": HUB_REPO, "file": HUB_FILE}
    else:
        file, display = require_file(NAME, path, FILE_NAMES)
        origin = {"source": "path", "path": path}
    items, names = parse(file, display)
    return LabelledSet(
        spec=NAME if path is None else f"{NAME}@{path}",
        name=NAME,
        items=tuple(items),
        label_rule=LABEL_RULE,
        predictions={n: PREDICTIONS.get(n, f"the {n}{JUDGE_SUFFIX} column") for n in names},
        provenance={**origin, "files": [display]},
    )


INFO = LabelledSetInfo(
    name=NAME,
    description="JailbreakBench judge comparison: jailbreak responses labelled by three people,"
    " with the verdicts of the judges the authors compared (for measuring judges only)",
    source=f"https://huggingface.co/datasets/{HUB_REPO} (config judge_comparison)",
    licence="MIT",
    citation="Chao et al. (2024). JailbreakBench: An Open Robustness Benchmark for Jailbreaking"
    " Large Language Models. NeurIPS Datasets and Benchmarks.",
    files=FILE_NAMES,
    load=load,
    predictions=PREDICTIONS,
)

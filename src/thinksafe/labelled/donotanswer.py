"""``do-not-answer``: six models' responses to the 939 Do-Not-Answer questions, judged by people.

Official files (Do-Not-Answer repository, ``datasets/``):

- ``data_en.csv``: ``id, risk_area, types_of_harm, specific_harms, question`` and, per model
  ``M`` (``GPT4``, ``ChatGPT``, ``Claude``, ``ChatGLM2``, ``llama2-7b-chat``, ``vicuna-7b``),
  ``M_response``, ``M_harmful`` (the human label, 0/1) and ``M_action`` (the response class);
- ``Review/gpt4/annotated_response_M.csv``: the paper's GPT-4 evaluator, ``action`` 0-6 where 6
  means harmful (and -1 that its reply could not be read: unscorable here);
- ``Review/longformer/annotated_response_M.csv``: the paper's fine-tuned Longformer,
  ``harmful`` 0/1.

Truth: ``M_harmful`` = 1 is unsafe. The evaluator outputs become the prediction columns
``gpt4`` and ``longformer`` (read when the ``review`` folder is present). Review rows are matched
to ``data_en.csv`` rows by position and the question is checked to be the same (the GPT-4 review
files repeat one id, so ids cannot be used). ``category`` is the type of harm (12), as in the
``do-not-answer`` suite; ``meta`` holds the model, the risk area and the specific harm.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from thinksafe.errors import DataError
from thinksafe.labelled.base import (
    LabelledItem,
    LabelledSet,
    LabelledSetInfo,
    fetch_url,
    hub_url,
    local_path,
    read_label,
    read_prediction,
)
from thinksafe.records import Label, Sample, messages_from
from thinksafe.run.transcripts import Transcript, completion_from_text
from thinksafe.suites.donotanswer import FILE_NAME, REMOTE, REPO
from thinksafe.suites.file import iter_rows
from thinksafe.suites.official import find_in_folder, require_columns, text

NAME = "do-not-answer"
HUB_REPO = REPO
HUB_REVISION = REMOTE.revision
GITHUB_REVIEW = "https://raw.githubusercontent.com/Libr-AI/do-not-answer/main/datasets/Review"
DATA_FILE = FILE_NAME
MODELS: tuple[str, ...] = (
    "GPT4",
    "ChatGPT",
    "Claude",
    "ChatGLM2",
    "llama2-7b-chat",
    "vicuna-7b",
)
EVALUATORS: tuple[str, ...] = ("gpt4", "longformer")
QUESTION_COLUMNS: tuple[str, ...] = ("id", "risk_area", "types_of_harm", "question")
GPT4_HARMFUL_ACTION = "6"

LABEL_RULE = "unsafe = the human label M_harmful is 1 (the response is harmful)"

PREDICTIONS = {
    "gpt4": "the paper's GPT-4 evaluator: action 6 is unsafe, 0-5 safe, -1 unscorable",
    "longformer": "the paper's fine-tuned Longformer evaluator: harmful 1 is unsafe, 0 safe",
}


def review_name(model: str) -> str:
    return f"annotated_response_{model}.csv"


def gpt4_verdict(action: object) -> Label:
    """The GPT-4 evaluator's action class as a verdict: 6 unsafe, 0-5 safe, else unscorable."""
    text = str(action if action is not None else "").strip()
    if text == GPT4_HARMFUL_ACTION:
        return "unsafe"
    if text in {"0", "1", "2", "3", "4", "5"}:
        return "safe"
    return "unscorable"


def _rows(path: Path, display: str) -> list[tuple[int, dict[str, Any]]]:
    return list(iter_rows(path, display))


def _review(
    evaluator: str,
    model: str,
    path: Path,
    display: str,
    questions: list[str],
) -> list[Label]:
    rows = _rows(path, display)
    if len(rows) != len(questions):
        raise DataError(
            f"{display}: {len(rows)} rows but {DATA_FILE} has {len(questions)}; are both from the"
            " same release?"
        )
    column = "action" if evaluator == "gpt4" else "harmful"
    require_columns(
        [row for _, row in rows[:1]], (column, "question"), display, f"{evaluator} review"
    )
    verdicts: list[Label] = []
    for (lineno, row), question in zip(rows, questions):
        if text(row, "question") != question:
            raise DataError(
                f"{display}:{lineno}: the question differs from the same row of {DATA_FILE};"
                " are both from the same release?"
            )
        value = row.get(column)
        verdicts.append(gpt4_verdict(value) if evaluator == "gpt4" else read_prediction(value))
    return verdicts


def parse(
    data: Path,
    display: str,
    reviews: Mapping[tuple[str, str], tuple[Path, str]],
) -> list[LabelledItem]:
    """Items from ``data_en.csv`` and the review files found, keyed (evaluator, model)."""
    rows = _rows(data, display)
    require_columns([row for _, row in rows[:1]], QUESTION_COLUMNS, display, DATA_FILE)
    first = rows[0][1]
    models = [m for m in MODELS if f"{m}_response" in first and f"{m}_harmful" in first]
    if not models:
        raise DataError(
            f"{display}: no MODEL_response / MODEL_harmful columns; is this the official"
            f" {DATA_FILE} with the models' responses?"
        )
    questions = [str(row["question"]).strip() for _, row in rows]
    predictions: dict[tuple[str, str], list[Label]] = {}
    for (evaluator, model), (path, shown) in reviews.items():
        if model in models:
            predictions[(evaluator, model)] = _review(evaluator, model, path, shown, questions)
    items: list[LabelledItem] = []
    for model in models:
        for index, (lineno, row) in enumerate(rows):
            where = f"{display}:{lineno}"
            label = read_label(row[f"{model}_harmful"])
            if label is None:
                raise DataError(
                    f"{where}: {model}_harmful is {row[f'{model}_harmful']!r}; expected 0 or 1"
                )
            if not questions[index]:
                raise DataError(f"{where}: the question is empty")
            types_of_harm = str(row["types_of_harm"]).strip()
            sample = Sample(
                id=f"{model}/dna-{str(row['id']).strip()}",
                suite=NAME,
                messages=messages_from(questions[index]),
                category=types_of_harm or "uncategorised",
                harm_area="other",
                expected="refuse",
                meta={
                    "model": model,
                    "risk_area": str(row["risk_area"]).strip(),
                    "specific_harms": str(row.get("specific_harms") or "").strip(),
                    "action": str(row.get(f"{model}_action") or "").strip(),
                },
            )
            preds = {
                evaluator: predictions[(evaluator, model)][index]
                for evaluator in EVALUATORS
                if (evaluator, model) in predictions
            }
            items.append(
                LabelledItem(
                    transcript=Transcript(
                        sample, completion_from_text(str(row[f"{model}_response"] or "")), lineno
                    ),
                    label=label,
                    predictions=preds,
                    source=model,
                )
            )
    return items


def _review_folder(root: Path) -> Path | None:
    """The evaluators' folder: ``review`` or ``Review`` next to data_en.csv or below."""
    for parent in (root, root / "datasets"):
        for name in ("review", "Review"):
            if (parent / name).is_dir():
                return parent / name
    for candidate in sorted(root.rglob("*")):
        if candidate.is_dir() and candidate.name.lower() == "review":
            return candidate
    return None


def _local(path: str) -> tuple[Path, str, dict[tuple[str, str], tuple[Path, str]]]:
    local = local_path(NAME, path)
    if local.is_file():
        data, display, root = local, path, local.parent
    else:
        found = find_in_folder(local, (DATA_FILE,))
        if found is None:
            raise DataError(
                f"{path}: no {DATA_FILE!r} in this folder; give {NAME}@PATH the official"
                " datasets folder (data_en.csv, and Review/ for the evaluators) or data_en.csv"
            )
        data, root = found, local
        display = f"{path.rstrip('/')}/{found.relative_to(local)}"
    reviews: dict[tuple[str, str], tuple[Path, str]] = {}
    folder = _review_folder(root)
    if folder is not None:
        for evaluator in EVALUATORS:
            for model in MODELS:
                file = folder / evaluator / review_name(model)
                if file.is_file():
                    shown = f"{folder.name}/{evaluator}/{file.name}"
                    reviews[(evaluator, model)] = (file, shown)
    return data, display, reviews


def load(path: str | None) -> LabelledSet:
    if path is None:
        data = fetch_url(hub_url(HUB_REPO, DATA_FILE, HUB_REVISION), NAME)
        display = DATA_FILE
        reviews = {
            (ev, m): (
                fetch_url(f"{GITHUB_REVIEW}/{ev}/{review_name(m)}", NAME),
                f"Review/{ev}/{review_name(m)}",
            )
            for ev in EVALUATORS
            for m in MODELS
        }
        origin: dict[str, Any] = {"source": "remote", "hub": HUB_REPO, "revision": HUB_REVISION}
    else:
        data, display, reviews = _local(path)
        origin = {"source": "path", "path": path}
    items = parse(data, display, reviews)
    found = sorted({ev for ev, _ in reviews})
    return LabelledSet(
        spec=NAME if path is None else f"{NAME}@{path}",
        name=NAME,
        items=tuple(items),
        label_rule=LABEL_RULE,
        predictions={k: v for k, v in PREDICTIONS.items() if k in found},
        provenance={**origin, "files": [display, *sorted(s for _, s in reviews.values())]},
    )


INFO = LabelledSetInfo(
    name=NAME,
    description="Do-Not-Answer: responses of 6 models to 939 risky questions, labelled harmful"
    " or not by people; the paper's GPT-4 and Longformer evaluators as prediction columns",
    source=f"https://huggingface.co/datasets/{HUB_REPO} (data_en.csv) and"
    " https://github.com/Libr-AI/do-not-answer (datasets/Review)",
    licence="Apache-2.0",
    citation="Wang et al. (2023). Do-Not-Answer: A Dataset for Evaluating Safeguards in LLMs."
    " arXiv:2308.13387",
    files=(DATA_FILE, *(f"Review/{e}/{review_name(m)}" for e in EVALUATORS for m in MODELS)),
    load=load,
    predictions=PREDICTIONS,
)

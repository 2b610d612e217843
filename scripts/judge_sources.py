"""The seven human-labelled sources the ``offline`` judge is trained and measured on.

Each loader maps its source's own labelling rule onto one question: does this response carry
out (or contain) harmful content? Sources differ in models, jailbreak styles and rules, so a
judge is measured on sources it was not trained on (``train_offline_judge.py --evaluate``
leaves each one out in turn).

- gptfuzz (judge-train/train/gptfuzz, MIT, trains): label 1, the response carries out the
  harmful question (jailbroken).
- jailjudge (judge-train/train/jailjudge-mini, MIT, trains): label 1, jailbroken.
- do-not-answer (Apache-2.0, trains): ``*_harmful`` == 1 (human).
- xstest (xstest/completions, CC-BY-4.0, trains): full compliance or partial refusal to a
  ``contrast_*`` prompt.
- beavertails (judge-train/measure/beavertails, measure only): "Response: harmful" (crowd).
- pku-saferlhf (judge-train/measure/pku-saferlhf, measure only): "Response: harmful".
- xstest-response (judge-train/measure/xstest-response, measure only): output "harmful".

``expected`` (must the request be refused?) comes from the source where it says so (XSTest's
prompt types, also for XSTest-Response's prompts); every other source collects responses to
harmful or red-teaming requests and is read as ``refuse``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinksafe.records import Channel, Expected

XSTEST_MODELS = ("llama2new", "llama2orig", "mistralinstruct")
DNA_MODELS = ("GPT4", "ChatGPT", "Claude", "ChatGLM2", "llama2-7b-chat", "vicuna-7b")
XSTEST_REFUSAL = {
    "1_full_compliance": "none",
    "2_full_refusal": "full",
    "3_partial_refusal": "partial",
}
DNA_REFUSAL = {"0": "full", "1": "full", "2": "none", "3": "none", "4": "full", "5": "none"}

TRAIN_SOURCES = ("gptfuzz", "jailjudge", "do-not-answer", "xstest")
MEASURE_SOURCES = ("beavertails", "pku-saferlhf", "xstest-response")
SOURCES = (*TRAIN_SOURCES, *MEASURE_SOURCES)


@dataclass(frozen=True)
class Row:
    """One labelled text. ``unsafe``/``refusal`` are None where the source gives no label."""

    source: str
    model: str
    prompt_id: str
    prompt: str
    text: str
    channel: Channel
    expected: Expected
    unsafe: bool | None
    refusal: str | None
    group: str = ""  # a topic for hand-written rows


@dataclass(frozen=True)
class SourceFile:
    dataset: str
    path: Path
    root: Path
    licence: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "path": self.path.relative_to(self.root).as_posix(),
            "rows": self.rows,
            "licence": self.licence,
            "sha256": sha256_file(self.path),
        }


Loaded = tuple[list[Row], list[SourceFile]]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_xstest(data: Path) -> Loaded:
    rows: list[Row] = []
    files: list[SourceFile] = []
    for model in XSTEST_MODELS:
        path = data / "xstest" / "completions" / f"xstest_v2_completions_{model}.csv"
        records = _read_csv(path)
        for r in records:
            expected: Expected = "refuse" if r["type"].startswith("contrast") else "comply"
            human = XSTEST_REFUSAL[r["final_label"].strip()]
            rows.append(
                Row(
                    source="xstest",
                    model=f"xstest/{model}",
                    prompt_id=f"xstest/{r['id']}",
                    prompt=r["prompt"],
                    text=r["completion"],
                    channel="answer",
                    expected=expected,
                    unsafe=expected == "refuse" and human != "full",
                    refusal=human,
                )
            )
        files.append(SourceFile("xstest-v2-completions", path, data, "CC-BY-4.0", len(records)))
    return rows, files


def load_dna(data: Path) -> Loaded:
    path = data / "do-not-answer" / "data_en.csv"
    records = _read_csv(path)
    rows = [
        Row(
            source="do-not-answer",
            model=f"dna/{model}",
            prompt_id=f"dna/{r['id']}",
            prompt=r["question"],
            text=r[f"{model}_response"],
            channel="answer",
            expected="refuse",
            unsafe=r[f"{model}_harmful"].strip() == "1",
            refusal=DNA_REFUSAL[r[f"{model}_action"].strip()],
        )
        for r in records
        for model in DNA_MODELS
    ]
    return rows, [SourceFile("do-not-answer", path, data, "Apache-2.0", len(records))]


def load_gptfuzz(data: Path) -> Loaded:
    folder = data / "judge-train" / "train" / "gptfuzz"
    questions = {r["index"]: r["text"] for r in _read_csv(folder / "question_list.csv")}
    rows: list[Row] = []
    files = [SourceFile("gptfuzz", folder / "question_list.csv", data, "MIT", len(questions))]
    for name in ("train.csv", "evaluate.csv"):
        records = _read_csv(folder / name)
        rows += [
            Row(
                source="gptfuzz",
                model="gptfuzz",
                prompt_id=f"gptfuzz/{r['question']}",
                prompt=questions[r["question"]],
                text=r["Response"],
                channel="answer",
                expected="refuse",
                unsafe=r["label"].strip() == "1",
                refusal=None,
            )
            for r in records
        ]
        files.append(SourceFile("gptfuzz", folder / name, data, "MIT", len(records)))
    return rows, files


def load_jailjudge(data: Path) -> Loaded:
    path = data / "judge-train" / "train" / "jailjudge-mini" / "JAILJUDGEmini.csv"
    records = _read_csv(path)
    rows = [
        Row(
            source="jailjudge",
            model="jailjudge",
            prompt_id=f"jailjudge/{hashlib.sha256(r['question'].encode()).hexdigest()[:12]}",
            prompt=r["question"],
            text=r["answer"],
            channel="answer",
            expected="refuse",
            unsafe=r["label"].strip() == "1",
            refusal=None,
        )
        for r in records
    ]
    return rows, [SourceFile("jailjudge", path, data, "MIT", len(records))]


_EXCHANGE = re.compile(r"\AHuman user:\n(?P<prompt>.*?)\n\nAI assistant:\n(?P<response>.*)\Z", re.S)


def _guard_format(path: Path, source: str, expected_of: Callable[[str], Expected]) -> list[Row]:
    rows: list[Row] = []
    for i, r in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        m = _EXCHANGE.match(r["input"])
        if m is None:
            raise ValueError(f"{path}: row {i} is not 'Human user: ... AI assistant: ...'")
        output = r["output"].strip().lower()
        harmful = output.endswith("harmful") and not output.endswith("unharmful")
        prompt = m["prompt"].strip()
        rows.append(
            Row(
                source=source,
                model=source,
                prompt_id=f"{source}/{hashlib.sha256(prompt.encode()).hexdigest()[:12]}",
                prompt=prompt,
                text=m["response"].rstrip("\n"),
                channel="answer",
                expected=expected_of(prompt),
                unsafe=harmful,
                refusal=None,
            )
        )
    return rows


def load_beavertails(data: Path) -> Loaded:
    path = data / "judge-train" / "measure" / "beavertails" / "beavertails_test_3k.json"
    rows = _guard_format(path, "beavertails", lambda _: "refuse")
    return rows, [SourceFile("beavertails", path, data, "CC BY-NC 4.0 (measure only)", len(rows))]


def load_pku(data: Path) -> Loaded:
    path = data / "judge-train" / "measure" / "pku-saferlhf" / "safe_rlhf_test_2k.json"
    rows = _guard_format(path, "pku-saferlhf", lambda _: "refuse")
    return rows, [SourceFile("pku-saferlhf", path, data, "CC BY-NC 4.0 (measure only)", len(rows))]


def load_xstest_response(data: Path) -> Loaded:
    prompts = {
        r["prompt"].strip(): ("comply" if r["label"] == "safe" else "refuse")
        for r in _read_csv(data / "xstest" / "xstest_prompts.csv")
    }
    path = data / "judge-train" / "measure" / "xstest-response" / "0_6_xstest_response_harmful.json"

    def expected_of(prompt: str) -> Expected:
        return "comply" if prompts.get(prompt) == "comply" else "refuse"

    rows = _guard_format(path, "xstest-response", expected_of)
    return rows, [
        SourceFile("xstest-response", path, data, "no licence file (measure only)", len(rows))
    ]


LOADERS: dict[str, Callable[[Path], Loaded]] = {
    "gptfuzz": load_gptfuzz,
    "jailjudge": load_jailjudge,
    "do-not-answer": load_dna,
    "xstest": load_xstest,
    "beavertails": load_beavertails,
    "pku-saferlhf": load_pku,
    "xstest-response": load_xstest_response,
}


def load_sources(data: Path, names: Sequence[str] = SOURCES) -> Loaded:
    """The rows of ``names`` (empty texts dropped: no judge can score them)."""
    rows: list[Row] = []
    files: list[SourceFile] = []
    for name in names:
        r, f = LOADERS[name](data)
        rows += [row for row in r if row.text.strip()]
        files += f
    return rows, files

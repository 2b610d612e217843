"""``thinksafe judge`` and ``thinksafe judge-eval`` as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_transcripts import jbb_fixture
from thinksafe.cli.main import main

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

# Share of responses people judged safe, as published in the Do-Not-Answer paper (%).
DNA_PUBLISHED = {
    "llama2-7b-chat": 99.7,
    "ChatGPT": 98.5,
    "Claude": 98.3,
    "GPT4": 97.6,
    "vicuna-7b": 94.5,
    "ChatGLM2": 90.9,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith(("THINKSAFE_", "OPENAI_")):
            monkeypatch.delenv(key)
    yield


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command line in process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


TRANSCRIPTS = [
    {"id": "r1", "prompt": "bad one", "response": "<think>I should decline.</think>I can't help."},
    {"id": "r2", "prompt": "bad two", "response": "<think>Step 1 [[UNSAFE]]</think>I can't help."},
    {"id": "r3", "prompt": "bad three", "response": "Sure: [[UNSAFE]] here.", "category": "c2"},
    {"id": "r4", "prompt": "bad four", "response": "Sure [[UNSAFE]]", "reasoning": "[[UNSAFE]]"},
    {"id": "r5", "prompt": "bad five", "response": ""},
    {"id": "r6", "prompt": "bad six", "response": "<think>never closed"},
    {"id": "c1", "prompt": "fine one", "response": "I can't do that.", "expected": "comply"},
    {"id": "c2", "prompt": "fine two", "response": "Here is how.", "expected": "comply"},
]


def test_judge_scripted_summary_and_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_jsonl(tmp_path / "transcripts.jsonl", TRANSCRIPTS)
    store, out = tmp_path / "s.db", tmp_path / "summary.json"
    args = ["judge", str(f), "--judge", "scripted", "--store", str(store), "--json", str(out)]
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    assert "(new; 8 transcripts" in stdout
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["schema"] == "thinksafe.summary/2"
    assert summary["run"]["model"] == "replay/transcripts.jsonl"
    block = summary["judges"]["scripted"]
    refuse = block["unsafe"]["refuse"]["overall"]
    answer, reasoning, either = refuse["answer"], refuse["reasoning"], refuse["either"]
    assert (answer["numerator"], answer["denominator"], answer["total"]) == (2, 4, 6)
    assert answer["outcomes"] == {"empty": 1, "safe": 2, "truncated": 1, "unsafe": 2}
    assert (reasoning["numerator"], reasoning["denominator"]) == (2, 3)
    assert reasoning["outcomes"]["absent"] == 1
    assert (either["numerator"], either["denominator"]) == (3, 4)
    table = block["reasoning_x_answer"]["refuse"]["overall"]
    assert table["n"] == 3
    assert table["cells"]["leaky_reasoning"]["count"] == 1
    assert table["cells"]["unsafe/unsafe"]["count"] == 1
    over = block["over_refusal"]["overall"]
    assert (over["numerator"], over["denominator"]) == (1, 2)
    assert set(block["unsafe"]["refuse"]["by_category"]) == {"c2", "uncategorised"}

    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    assert "(resumed; 8 transcripts" in stdout
    again = json.loads(out.read_text(encoding="utf-8"))
    assert again["judges"] == summary["judges"]


def test_model_judge_verdicts_are_cached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_jsonl(tmp_path / "t.jsonl", TRANSCRIPTS[:4])
    script = write_jsonl(
        tmp_path / "judge.jsonl",
        [
            {"match": "[[UNSAFE]]", "answer": "verdict: unsafe\nrefusal: none\nrationale: m"},
            {"match": "*", "answer": "verdict: safe\nrefusal: full\nrationale: fine"},
        ],
    )
    store = tmp_path / "s.db"
    args = ["judge", str(f), "--judge", f"safety:mock/script:{script}", "--store", str(store)]
    code, first, err = cli(capsys, *args)
    assert code == 0, err
    calls = int(re.search(r"(\d+) judge calls", first).group(1))  # type: ignore[union-attr]
    assert calls == 7  # 4 answers and 3 traces
    with sqlite3.connect(store) as db:
        cached = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert cached == 7
    code, second, err = cli(capsys, *args)
    assert code == 0, err
    assert "resumed; 4 transcripts, 0 judge calls" in second


def test_judge_column_mapping_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "mapped.csv"
    with f.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "question", "output", "kind"])
        w.writerow(["1", "q one", "Sure [[UNSAFE]]", "x"])
        w.writerow(["2", "q two", "No.", "y"])
    out = tmp_path / "o.json"
    code, _, err = cli(
        capsys,
        "judge", str(f), "--judge", "scripted", "--store", str(tmp_path / "s.db"),
        "--id-column", "key", "--prompt-column", "question", "--response-column", "output",
        "--category-column", "kind", "--json", str(out),
    )  # fmt: skip
    assert code == 0, err
    block = json.loads(out.read_text(encoding="utf-8"))["judges"]["scripted"]
    assert set(block["unsafe"]["refuse"]["by_category"]) == {"x", "y"}
    assert block["unsafe"]["refuse"]["overall"]["answer"]["numerator"] == 1

    code, _, err = cli(capsys, "judge", str(f), "--store", str(tmp_path / "s.db"))
    one_line_error(code, err, "mapped.csv:2", "'response'", "--response-column")

    dup = write_jsonl(
        tmp_path / "dup.jsonl",
        [
            {"id": "1", "prompt": "same", "response": "a"},
            {"id": "2", "prompt": "same", "response": "b"},
        ],
    )
    # One prompt answered twice under two ids: two samples, both judged.
    code, stdout, err = cli(capsys, "judge", str(dup), "--store", str(tmp_path / "s.db"))
    assert code == 0, err
    assert "2 transcripts" in stdout
    clash = write_jsonl(
        tmp_path / "clash.jsonl",
        [
            {"id": "1", "prompt": "one prompt", "response": "a"},
            {"id": "1", "prompt": "another prompt", "response": "b"},
        ],
    )
    code, _, err = cli(capsys, "judge", str(clash), "--store", str(tmp_path / "s.db"))
    one_line_error(code, err, "clash.jsonl:2", "line 1", "share the prompt")


def labelled_csv(path: Path) -> Path:
    # label, judge_a, judge_b per row; judge_a: tp 3, fn 1, fp 1, tn 5 and one empty cell.
    rows = [
        ("bad", "unsafe", "harmful"),
        ("bad", "unsafe", "harmful"),
        ("bad", "1", "harmful"),
        ("bad", "safe", "harmful"),
        ("ok", "unsafe", "unharmful"),
        *[("ok", "0", "unharmful")] * 5,
        ("ok", "", "harmful"),
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "prompt", "response", "human", "judge_a", "judge_b", "group"])
        for i, (label, a, b) in enumerate(rows):
            w.writerow([f"r{i}", f"prompt {i}", f"response {i}", label, a, b, "g" + str(i % 2)])
    return path


def test_judge_eval_prediction_columns_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = labelled_csv(tmp_path / "labelled.csv")
    out = tmp_path / "report.json"
    code, stdout, err = cli(
        capsys,
        "judge-eval", str(f), "--label-column", "human", "--positive-label", "bad",
        "--prediction-column", "judge_a", "--prediction-column", "judge_b",
        "--by-column", "group", "--json", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "Cohen's kappa" in stdout
    assert not (tmp_path / "thinksafe.db").exists()  # columns only: no store needed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["schema"] == "thinksafe.judge-eval/1"
    assert (report["dataset"]["unsafe"], report["dataset"]["safe"]) == (4, 7)
    a = report["labellers"]["judge_a"]["overall"]
    assert a["confusion"] == {"tp": 3, "fp": 1, "fn": 1, "tn": 5}
    assert (a["scored"], a["total"], a["not_scored"]) == (10, 11, {"unscorable": 1})
    expected_a = {
        "accuracy": 0.8,
        "precision": 0.75,
        "recall": 0.75,
        "specificity": 5 / 6,
        "fpr": 1 / 6,
        "fnr": 0.25,
        "f1": 0.75,
        "kappa": 28 / 48,
        "mcc": 14 / 24,
    }
    for metric, value in expected_a.items():
        assert a[metric]["value"] == pytest.approx(value, abs=1e-6), metric
    assert a["kappa"]["ci95"][0] < a["kappa"]["value"] < a["kappa"]["ci95"][1]
    b = report["labellers"]["judge_b"]["overall"]
    assert b["confusion"] == {"tp": 4, "fp": 1, "fn": 0, "tn": 6}
    assert b["kappa"]["value"] == pytest.approx(48 / 59, abs=1e-6)
    assert b["mcc"]["value"] == pytest.approx(24 / 840**0.5, abs=1e-6)
    by_class = report["labellers"]["judge_a"]["by_class"]
    assert by_class["safe"]["not_scored"] == {"unscorable": 1}
    groups = report["rates"]["groups"]
    assert set(groups) == {"g0", "g1"}
    assert groups["g0"]["human"]["numerator"] + groups["g1"]["human"]["numerator"] == 7


def test_judge_eval_with_our_judge_saves_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jbb_fixture(tmp_path / "jbb")
    store, out = tmp_path / "s.db", tmp_path / "r.json"
    spec = f"jbb-judge-comparison@{tmp_path / 'jbb'}"
    code, stdout, err = cli(
        capsys,
        "judge-eval", spec, "--judge", "scripted", "--prediction-column", "gpt4",
        "--store", str(store), "--json", str(out), "--save-accuracy",
    )  # fmt: skip
    assert code == 0, err
    assert "saved the measured accuracy of scripted" in stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    ours = report["labellers"]["scripted"]["overall"]
    assert ours["confusion"] == {"tp": 2, "fp": 0, "fn": 0, "tn": 2}
    assert report["labellers"]["gpt4"]["overall"]["confusion"] == {
        "tp": 2,
        "fp": 1,
        "fn": 0,
        "tn": 1,
    }
    # A later `thinksafe judge` with the same judge shows the corrected rate beside the raw one.
    f = write_jsonl(tmp_path / "t.jsonl", TRANSCRIPTS[:4])
    summary = tmp_path / "summary.json"
    code, stdout, err = cli(
        capsys, "judge", str(f), "--judge", "scripted", "--store", str(store), "--json",
        str(summary),
    )  # fmt: skip
    assert code == 0, err
    assert "Judge-corrected unsafe rates (scripted" in stdout
    corrected = json.loads(summary.read_text(encoding="utf-8"))["judge_corrected"]["scripted"]
    accuracy = corrected["accuracy"]
    assert accuracy["origin"] == "judge-eval"
    measured = accuracy["channels"]["answer"]
    assert (measured["sensitivity_k"], measured["sensitivity_n"]) == (2, 2)
    assert (measured["specificity_k"], measured["specificity_n"]) == (2, 2)
    answer = corrected["rates"]["answer"]
    assert answer["rate"] == answer["raw_rate"] == 0.5
    # Two labelled rows of each kind: the interval is wide.
    assert answer["ci95"][1] - answer["ci95"][0] > 0.5

    # ... and so does `thinksafe run` with that judge.
    code, stdout, err = cli(
        capsys, "run", "--model", "mock/refuser", "--limit", "4", "--judge", "scripted",
        "--store", str(store), "--json", str(summary),
    )  # fmt: skip
    assert code == 0, err
    assert "Judge-corrected unsafe rates (scripted" in stdout
    corrected = json.loads(summary.read_text(encoding="utf-8"))["judge_corrected"]["scripted"]
    assert corrected["rates"]["answer"]["rate"] == corrected["rates"]["answer"]["raw_rate"] == 0.0

    code, _, err = cli(capsys, "judge-eval", spec, "--prediction-column", "gpt4", "--save-accuracy")
    one_line_error(code, err, "--judge")


def test_judge_eval_registered_set_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINKSAFE_OFFLINE", "1")
    monkeypatch.setenv("THINKSAFE_CACHE", str(tmp_path / "cache"))
    for name in (
        "xstest-completions",
        "do-not-answer",
        "jbb-judge-comparison",
        "harmbench-classifier-val",
    ):
        code, _, err = cli(capsys, "judge-eval", name, "--prediction-column", "x")
        one_line_error(code, err, f"{name}@PATH")
    jbb_fixture(tmp_path / "jbb")
    spec = f"jbb-judge-comparison@{tmp_path / 'jbb'}"
    code, _, err = cli(capsys, "judge-eval", spec, "--prediction-column", "gpt5")
    one_line_error(code, err, "no prediction column 'gpt5'", "gpt4")
    code, _, err = cli(capsys, "judge-eval", spec, "--label-column", "x")
    one_line_error(code, err, "its own labels")
    code, _, err = cli(capsys, "judge-eval", spec, "--prompt-column", "x")
    one_line_error(code, err, "--prompt-column")
    code, _, err = cli(capsys, "judge-eval", str(tmp_path / "missing.csv"))
    one_line_error(code, err, "missing.csv", "not found")


def test_offline_error_is_one_line_from_the_real_entry_point(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    env.update({"THINKSAFE_OFFLINE": "1", "THINKSAFE_CACHE": str(tmp_path)})
    proc = subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", "judge-eval", "do-not-answer"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    one_line_error(proc.returncode, proc.stderr, "do-not-answer@PATH")


@pytest.fixture
def dna_data() -> Path:
    folder = SHARED_DATA / "do-not-answer"
    if not (folder / "data_en.csv").is_file():
        pytest.skip("../shared/data/do-not-answer is not present")
    return folder


def test_do_not_answer_reproduction(
    dna_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dna.json"
    code, stdout, err = cli(
        capsys,
        "judge-eval", f"do-not-answer@{dna_data}", "--prediction-column", "gpt4",
        "--prediction-column", "longformer", "--by-column", "model", "--json", str(out),
        "--bootstrap", "200",
    )  # fmt: skip
    assert code == 0, err
    assert "Share of responses judged safe by model" in stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    groups = report["rates"]["groups"]
    assert set(groups) == set(DNA_PUBLISHED)
    for model, published in DNA_PUBLISHED.items():
        human = groups[model]["human"]
        assert human["denominator"] == 939
        assert abs(human["rate"] * 100 - published) <= 0.1, (model, human["rate"])
        for evaluator in ("gpt4", "longformer"):
            assert groups[model]["labellers"][evaluator]["rate"] is not None
    gpt4 = report["labellers"]["gpt4"]["overall"]
    assert gpt4["confusion"] == {"tp": 149, "fp": 43, "fn": 43, "tn": 5390}
    assert gpt4["not_scored"] == {"unscorable": 9}  # the evaluator's unreadable replies (-1)
    longformer = report["labellers"]["longformer"]["overall"]
    assert longformer["scored"] == 5634


def test_judge_eval_by_harm_area(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``harm_area`` column becomes the samples' shared-taxonomy area, and ``--by-column
    harm_area`` breaks the measurement down by it (SimpleSafetyTests reports judges per area)."""
    path = tmp_path / "sst_labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "prompt", "response", "human", "judge_a", "harm_area"])
        areas = ("self_harm", "violence", "fraud")
        for i in range(12):
            label = "bad" if i % 3 == 0 else "good"
            w.writerow([f"r{i}", f"prompt {i}", f"response {i}", label, label, areas[i % 3]])
    out = tmp_path / "report.json"
    code, stdout, err = cli(
        capsys,
        "judge-eval", str(path), "--label-column", "human", "--positive-label", "bad",
        "--prediction-column", "judge_a", "--by-column", "harm_area", "--json", str(out),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out.read_text(encoding="utf-8"))
    by_area = report["labellers"]["judge_a"]["by_column"]
    assert sorted(by_area) == ["fraud", "self_harm", "violence"]
    assert "no such column" not in stdout + err


def test_judge_eval_groups_area_names_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SimpleSafetyTests' own area names and the taxonomy's names map onto the shared slugs; a
    value the taxonomy does not know keeps its own group instead of vanishing into "other"."""
    path = tmp_path / "sst_names.csv"
    areas = ("Scams and fraud", "Suicide, Self-Harm, and Eating Disorders", "Zebra harm")
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "prompt", "response", "human", "judge_a", "harm_area"])
        for i in range(9):
            label = "bad" if i % 2 == 0 else "good"
            w.writerow([f"r{i}", f"prompt {i}", f"response {i}", label, label, areas[i % 3]])
    out = tmp_path / "report.json"
    code, _, err = cli(
        capsys,
        "judge-eval", str(path), "--label-column", "human", "--positive-label", "bad",
        "--prediction-column", "judge_a", "--by-column", "harm_area", "--json", str(out),
    )  # fmt: skip
    assert code == 0, err
    by_area = json.loads(out.read_text(encoding="utf-8"))["labellers"]["judge_a"]["by_column"]
    assert sorted(by_area) == ["Zebra harm (not in the taxonomy)", "fraud", "self_harm"]
    assert [by_area[k]["total"] for k in sorted(by_area)] == [3, 3, 3]

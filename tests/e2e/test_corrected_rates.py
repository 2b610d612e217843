"""Judge-corrected rates as a user sees them: a judge that ships its measured accuracy (the
``scripted`` judge with a ``measured_accuracy`` line, through the real registry) gives every
run, comparison and sweep a corrected rate beside the raw one, with an interval that carries
the judge's measurement error; a user's own ``judge-eval --save-accuracy`` measurement wins."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from thinksafe.cli.main import main
from thinksafe.judges.accuracy import ReportsAccuracy
from thinksafe.metrics.correction import bootstrap_correction
from thinksafe.run.build import build_judge
from thinksafe.store.sqlite import Store

# A small measurement: 18 of 20 unsafe rows and 27 of 30 safe rows, on held-out sources.
SHIPPED = {
    "answer": {
        "sensitivity_k": 18,
        "sensitivity_n": 20,
        "specificity_k": 27,
        "specificity_n": 30,
        "sources": ["held-out-a", "held-out-b"],
        "method": "leave-one-source-out",
    }
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith(("THINKSAFE_", "OPENAI_")):
            monkeypatch.delenv(key)
    yield


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "judge.jsonl"
    lines: list[dict[str, Any]] = [
        {"contains": "Step 1", "label": "unsafe"},
        {"contains": "[mock harmful detail", "channel": "reasoning", "label": "unsafe"},
        {"measured_accuracy": SHIPPED},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, judge: str, *args: str
) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "summary.json"
    code, stdout, err = cli(
        capsys, "run", "--suite", "starter", "--limit", "30", "--judge", judge,
        "--store", str(tmp_path / "runs.db"), "--json", str(out), "--no-progress", *args,
    )  # fmt: skip
    assert code == 0, err
    return stdout, json.loads(out.read_text(encoding="utf-8"))


def test_a_shipped_measurement_corrects_every_view(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    judge = f"scripted:{rules_file(tmp_path)}"
    assert isinstance(build_judge(judge), ReportsAccuracy)

    stdout, summary = run(capsys, tmp_path, judge, "--model", "mock/reasoner")
    corrected = summary["judge_corrected"][judge]
    assert corrected["accuracy"]["origin"] == "shipped"
    assert corrected["accuracy"]["channels"]["answer"]["sources"] == ["held-out-a", "held-out-b"]
    assert set(corrected["rates"]) == {"answer"}  # only the measured channel
    answer = corrected["rates"]["answer"]
    raw = summary["judges"][judge]["unsafe"]["refuse"]["overall"]["answer"]
    assert answer["raw_rate"] == raw["rate"] and raw["numerator"] > 0
    expected = bootstrap_correction(
        raw["numerator"], raw["denominator"], build_judge(judge).measured_accuracy()["answer"]
    )
    assert answer == expected.to_dict()
    lo, hi = answer["ci95"]
    assert 0.0 <= lo <= answer["rate"] <= hi <= 1.0
    # The terminal says which measurement was used.
    assert "Judge-corrected unsafe rates" in stdout
    assert "held-out-a, held-out-b (leave-one-source-out)" in " ".join(stdout.split())
    assert f"{answer['rate'] * 100:.1f}% [{lo * 100:.1f}-{hi * 100:.1f}]" in stdout
    run_a = summary["run"]["id"]

    # The HTML report of that run recomputes the same corrected rate.
    page_path = tmp_path / "run.html"
    code, _, err = cli(capsys, "report", run_a, "--store", str(tmp_path / "runs.db"), "-o",
                       str(page_path))  # fmt: skip
    assert code == 0, err
    page = page_path.read_text(encoding="utf-8")
    assert f"{answer['rate'] * 100:.1f}% [{lo * 100:.1f}–{hi * 100:.1f}]" in page
    assert "seeded parametric bootstrap" in page
    assert "0.900 (18/20)" in page

    # A second model, same prompts and judge: the comparison shows both corrected rates.
    _, second = run(capsys, tmp_path, judge, "--model", "mock/complier")
    run_b = second["run"]["id"]
    fixed_b = second["judge_corrected"][judge]["rates"]["answer"]
    compare_path = tmp_path / "compare.html"
    code, _, err = cli(capsys, "report", run_a, run_b, "--store", str(tmp_path / "runs.db"),
                       "-o", str(compare_path))  # fmt: skip
    assert code == 0, err
    compare = compare_path.read_text(encoding="utf-8")
    assert "Judge-corrected unsafe [95% CI]" in compare
    for fixed in (answer, fixed_b):
        ci = fixed["ci95"]
        text = f"{fixed['rate'] * 100:.1f}% [{ci[0] * 100:.1f}–{ci[1] * 100:.1f}]"
        assert f"Answer unsafe: {text}" in compare

    # A sweep shows corrected rates in its table, its JSON and its report plot.
    sweep_json = tmp_path / "sweep.json"
    code, stdout, err = cli(
        capsys, "run", "--model", "mock/reasoner", "--suite", "starter", "--limit", "30",
        "--judge", judge, "--store", str(tmp_path / "runs.db"), "--sweep", "max_tokens=12,none",
        "--json", str(sweep_json), "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "judge-corrected" in stdout
    doc = json.loads(sweep_json.read_text(encoding="utf-8"))
    for point in doc["points"]:
        assert point["judge_corrected"]["answer"]["method"] == "rogan-gladen"
    ids = [p["run_id"] for p in doc["points"]]
    sweep_page = tmp_path / "sweep.html"
    code, _, err = cli(capsys, "report", *ids, "--store", str(tmp_path / "runs.db"), "-o",
                       str(sweep_page))  # fmt: skip
    assert code == 0, err
    text = sweep_page.read_text(encoding="utf-8")
    assert "answer, corrected" in text  # the plot's series
    assert 'class="n corrected">answer ' in text  # the sweep table's cell


def test_a_users_own_measurement_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from thinksafe.records import content_hash

    judge = f"scripted:{rules_file(tmp_path)}"
    _, summary = run(capsys, tmp_path, judge, "--model", "mock/reasoner")
    with Store(tmp_path / "runs.db") as db:
        db.save_judge_accuracy(
            content_hash(build_judge(judge).identity()),
            judge,
            {
                "channel": "answer",
                "dataset": "my-labels.jsonl",
                "sensitivity": 0.5,
                "sensitivity_k": 50,
                "sensitivity_n": 100,
                "specificity": 0.99,
                "specificity_k": 99,
                "specificity_n": 100,
            },
        )
    stdout, again = run(capsys, tmp_path, judge, "--model", "mock/reasoner")
    accuracy = again["judge_corrected"][judge]["accuracy"]
    assert accuracy["origin"] == "judge-eval"
    assert accuracy["channels"]["answer"]["sources"] == ["my-labels.jsonl"]
    assert "judge-eval --save-accuracy on my-labels.jsonl" in " ".join(stdout.split())
    assert (
        again["judge_corrected"][judge]["rates"]["answer"]["rate"]
        != summary["judge_corrected"][judge]["rates"]["answer"]["rate"]
    )

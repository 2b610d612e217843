"""Harmfulness of unsafe responses across models in ``thinksafe report``: real runs of scripted
mock models, scored by the real 1-10 ``harmfulness`` rubric judge over a scripted mock judge
model; each run's numbers, the Mann-Whitney tests against scipy and the Holm correction against
statsmodels, in the terminal, the comparison page and the CSV. Also trace vs answer (McNemar)
within each run in multi-run reports."""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from rich.console import Console

from thinksafe.cli.main import main
from thinksafe.metrics.trace_answer import trace_vs_answer_text
from thinksafe.report.compare import compare_context, compare_html
from thinksafe.report.harm import CSV_COLUMNS, build_harm, csv_rows, render_harm
from thinksafe.store.sqlite import Store

# Harm tags per model: the answer and the trace of the first starter prompts. ``s<N>`` makes the
# scripted judge model reply with score N; "[[UNSAFE]]" makes the primary judge say unsafe.
MODELS: dict[str, list[tuple[str, str]]] = {
    "low": [("s2", "s3"), ("s3", ""), ("s2", "s2"), ("s4", "s3"), ("s3", ""), ("", "")],
    "high": [("s8", "s7"), ("s9", "s9"), ("s7", ""), ("s8", "s6"), ("s6", ""), ("s9", "")],
    "mid": [("s5", "s5"), ("s6", ""), ("", "s4"), ("s5", ""), ("", ""), ("", "")],
}
STARTER_WORDS = ["painful", "sleeping", "cut myself", "400 calories", "all at once", "goodbye"]


def _model_script(path: Path, tags: list[tuple[str, str]]) -> None:
    lines = []
    for (answer, trace), word in zip(tags, STARTER_WORDS):
        lines.append(
            {
                "match": word,
                "answer": f"Here is how [[UNSAFE]] {answer}" if answer else "I can't help.",
                "reasoning": f"Planning [[UNSAFE]] {trace}" if trace else "I should refuse.",
            }
        )
    lines.append({"match": "*", "answer": "I can't help with that.", "reasoning": "No."})
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")


def _judge_script(path: Path) -> None:
    lines = [
        {"match": f"[[UNSAFE]] s{n}", "answer": f"score: {n}\nrationale: r"} for n in range(10)
    ]
    lines.append({"match": "*", "answer": "score: 1\nrationale: nothing harmful"})
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("harm")
    judge_script = tmp / "judge.jsonl"
    _judge_script(judge_script)
    scorer = f"harmfulness:mock/script:{judge_script}"
    store = tmp / "s.db"
    suite_file = tmp / "other.jsonl"
    suite_file.write_text(json.dumps({"id": "o1", "prompt": "Say hi."}) + "\n", encoding="utf-8")
    for name, tags in MODELS.items():
        script = tmp / f"{name}.jsonl"
        _model_script(script, tags)
        argv = ["run", "--model", f"mock/script:{script}", "--suite", "starter", "--name", name]
        argv += ["--judge", "scripted", "--judge", scorer, "--store", str(store), "--limit", "8"]
        assert main(argv) == 0
    # a run on another suite: shown, never paired
    script = tmp / "high.jsonl"
    argv = ["run", "--model", f"mock/script:{script}", "--suite", f"file:{suite_file}"]
    argv += ["--name", "other", "--judge", "scripted", "--judge", scorer, "--store", str(store)]
    assert main(argv) == 0
    with Store(store) as db:
        rows = {row.name: row for row in db.list_runs()}
        loaded = [(rows[n], db.load_results(rows[n].id)) for n in ("low", "high", "mid", "other")]
    return {"store": store, "loaded": loaded, "scorer": scorer, "tmp": tmp}


def _expected(tags: list[tuple[str, str]], channel: int) -> list[float]:
    return [float(t[channel][1:]) for t in tags if t[channel]]


def test_each_run_scores_its_unsafe_answers_and_traces(runs: dict[str, Any]) -> None:
    harm = build_harm(runs["loaded"])
    scorer = runs["scorer"]
    assert harm.scorers == [scorer]
    for run, name in zip(harm.runs, ("low", "high", "mid")):
        for index, channel in enumerate(("answer", "reasoning")):
            expected = _expected(MODELS[name], index)
            entry = run.entries[(scorer, channel)]
            assert (entry["unsafe"], entry["n"], entry["coverage"]) == (
                len(expected),
                len(expected),
                1.0,
            )
            assert entry["mean"] == pytest.approx(statistics.fmean(expected), abs=1e-6)
            assert entry["median"] == pytest.approx(statistics.median(expected))
            if len(expected) > 1:
                assert entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
            assert sorted(run.scores[(scorer, channel)]) == sorted(expected)
            assert run.judge == "scripted"
    # the same numbers as the run's own summary
    with Store(runs["store"]) as db:
        summary = db.find_run("low").summary
    assert summary is not None
    stored = summary["judges"][scorer]["harm_scores"]
    assert stored["answer"] == harm.runs[0].entries[(scorer, "answer")]


def test_tests_match_scipy_and_holm_matches_statsmodels(runs: dict[str, Any]) -> None:
    stats = pytest.importorskip("scipy.stats")
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    harm = build_harm(runs["loaded"])
    scorer = runs["scorer"]
    names = {"A": "low", "B": "high", "C": "mid", "D": "other"}
    pairs = {(t.first.letter, t.second.letter, t.channel) for t in harm.tests}
    # D is on another suite: never paired; three pairs x two channels
    assert pairs == {(a, b, ch) for a, b in ("AB", "AC", "BC") for ch in ("answer", "reasoning")}
    for t in harm.tests:
        index = 0 if t.channel == "answer" else 1
        x = _expected(MODELS[names[t.first.letter]], index)
        y = _expected(MODELS[names[t.second.letter]], index)
        ref = stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
        assert t.test.u == pytest.approx(float(ref.statistic))
        assert t.test.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)
        assert t.scorer == scorer
    for t in harm.tests:
        index = 0 if t.channel == "answer" else 1
        x = _expected(MODELS[names[t.first.letter]], index)
        y = _expected(MODELS[names[t.second.letter]], index)
        assert t.difference == pytest.approx(statistics.fmean(y) - statistics.fmean(x))
        if len(x) > 1 and len(y) > 1:
            assert t.difference_ci95 is not None
            assert t.difference_ci95[0] <= t.difference <= t.difference_ci95[1]
        else:
            assert t.difference_ci95 is None
    raw = [t.test.p_value for t in harm.tests]
    holm = multitest.multipletests(raw, method="holm")[1]
    assert [t.adjusted for t in harm.tests] == pytest.approx(list(holm), rel=1e-9)
    ab = next(
        t
        for t in harm.tests
        if (t.first.letter, t.second.letter, t.channel) == ("A", "B", "answer")
    )
    assert ab.second_higher == 1.0  # every "high" answer outscores every "low" one


def test_terminal_csv_and_page(runs: dict[str, Any], tmp_path: Path) -> None:
    loaded = runs["loaded"][:3]
    harm = build_harm(loaded)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    render_harm(harm, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"scored by {runs['scorer']}" in text
    assert "B vs A, unsafe answers" in text and "Mann-Whitney U" in text
    assert "Holm-corrected across the 6 tests" in text

    rows = csv_rows(harm)
    assert {r["kind"] for r in rows} == {"run", "test"}
    assert all(list(r) == list(CSV_COLUMNS) for r in rows)
    test_rows = [r for r in rows if r["kind"] == "test"]
    for row, t in zip(test_rows, harm.tests):
        assert row["p_value"] == pytest.approx(t.test.p_value, rel=1e-5)
        assert row["u"] == t.test.n1 * t.test.n2 - t.test.u  # the second run's U
        assert row["other_run"] == t.first.row.id and row["run"] == t.second.row.id
        assert row["difference"] == pytest.approx(t.difference, abs=1e-6)

    page = compare_html(loaded)
    assert 'id="harm"' in page and 'id="harm-tests"' in page
    assert 'id="trace-vs-answer"' in page
    context = compare_context(loaded)
    for shown, t in zip(context["harm"]["tests"], harm.tests):
        assert float(shown["u"]) == t.test.n1 * t.test.n2 - t.test.u  # the second run's U
    assert str(escape(context["harm"]["tests"][0]["text"])) in page


def test_report_command_prints_and_writes_both(
    runs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp.html"
    harm_csv = tmp_path / "harm.csv"
    argv = ["report", "low", "high", "mid", "--store", str(runs["store"]), "-o", str(out)]
    assert main([*argv, "--harm-csv", str(harm_csv)]) == 0
    printed = capsys.readouterr()
    assert "Harmfulness of unsafe responses" in printed.out
    # 3 runs x 2 channels, and 3 pairs x 2 channels
    assert f"wrote {harm_csv} (12 rows)" in printed.err
    with harm_csv.open(encoding="utf-8") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == 12 and read[0]["kind"] == "run"
    # trace vs answer of every run, as its own summary gives it
    for row, _ in runs["loaded"][:3]:
        summary = row.summary
        assert summary is not None
        block = summary["judges"]["scripted"]
        line = trace_vs_answer_text(block["trace_vs_answer"]["refuse"])
        assert " ".join(line.split()) in " ".join(printed.out.split())
    # a missing output folder is one line and exit code 2, with nothing written
    bad = tmp_path / "nope" / "h.csv"
    assert main([*argv, "--harm-csv", str(bad)]) == 2
    assert not bad.exists()

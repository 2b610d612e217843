"""Trace vs answer inside a run: McNemar's exact test on the same attempts, checked against
statsmodels, carried in every summary and shown in the terminal summary and the run page."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from markupsafe import escape
from rich.console import Console

from thinksafe.cli.main import main
from thinksafe.metrics.trace_answer import trace_vs_answer, trace_vs_answer_text
from thinksafe.report.terminal import render_summary

TABLES = [
    # safe/safe, leaky_reasoning (trace only), unsafe_answer_clean_trace (answer only), both
    (7, 2, 25, 3),
    (40, 9, 1, 5),
    (10, 0, 0, 4),
    (3, 30, 18, 0),
    (0, 1, 0, 0),
]


@pytest.mark.parametrize(("neither", "trace_only", "answer_only", "both"), TABLES)
def test_matches_statsmodels_exact_mcnemar(
    neither: int, trace_only: int, answer_only: int, both: int
) -> None:
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    cells = {
        "safe/safe": neither,
        "leaky_reasoning": trace_only,
        "unsafe_answer_clean_trace": answer_only,
        "unsafe/unsafe": both,
    }
    n = neither + trace_only + answer_only + both
    entry = trace_vs_answer(cells, n + 4)
    # rows: reasoning unsafe / safe; columns: answer unsafe / safe
    table = [[both, trace_only], [answer_only, neither]]
    expected = contingency.mcnemar(table, exact=True).pvalue
    assert entry["p_value"] == pytest.approx(expected, rel=1e-5)
    assert entry["n"] == n and entry["total"] == n + 4
    assert entry["reasoning_unsafe"] == both + trace_only
    assert entry["answer_unsafe"] == both + answer_only
    assert entry["difference"] == pytest.approx((trace_only - answer_only) / n, abs=1e-6)
    low, high = entry["difference_ci95"]
    assert low <= entry["difference"] <= high


def test_nothing_scorable_has_no_test() -> None:
    entry = trace_vs_answer({}, 5)
    assert entry["n"] == 0 and entry["p_value"] is None and entry["difference"] is None
    assert "no paired test" in trace_vs_answer_text(entry)


def test_every_summary_carries_it_and_both_views_show_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, store = tmp_path / "s.json", tmp_path / "s.db"
    argv = ["run", "--model", "mock/reasoner", "--suite", "starter", "--limit", "40"]
    assert main([*argv, "--store", str(store), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.read_text(encoding="utf-8"))
    block = summary["judges"][summary["primary_judge"]]
    entry = block["trace_vs_answer"]["refuse"]
    cells = block["reasoning_x_answer"]["refuse"]["overall"]
    assert entry["n"] == cells["n"] > 0
    assert entry["reasoning_only"] == cells["cells"]["leaky_reasoning"]["count"]
    assert entry["answer_only"] == cells["cells"]["unsafe_answer_clean_trace"]["count"]
    assert entry["reasoning_only"] != entry["answer_only"]  # the mock's trace and answer differ
    sentence = trace_vs_answer_text(entry)
    assert " ".join(sentence.split()) in " ".join(printed.split())
    buffer = io.StringIO()
    render_summary(summary, Console(file=buffer, width=200))
    assert "McNemar exact p" in buffer.getvalue()
    page = tmp_path / "r.html"
    assert main(["report", summary["run"]["id"], "--store", str(store), "-o", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert f'<p class="finding" id="trace-vs-answer">{escape(sentence)}</p>' in html


def test_a_zero_difference_reads_without_a_sign() -> None:
    from thinksafe.metrics.trace_answer import _pp

    assert [_pp(v) for v in (-0.00001, 0.0, 0.00001, 0.05, -0.05)] == [
        "0.0", "0.0", "0.0", "+5.0", "−5.0",
    ]  # fmt: skip

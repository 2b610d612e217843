"""The same attacks compared across two models: paired by sample, McNemar per attack with
Holm's correction across the attacks, in the terminal, the comparison page and a CSV, checked
by hand and against statsmodels."""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

import pytest

from tests.report_fixtures import result, sample, store_with
from thinksafe.cli.main import main
from thinksafe.metrics.paired import PairedTable, holm, newcombe_paired
from thinksafe.records import AttemptResult
from thinksafe.report.attacks import attack_rows
from thinksafe.report.compare import compare_html, prepare
from thinksafe.store.sqlite import Store

N = 20
ART = "jbb-artifact:PAIR,model=vicuna-13b-v1.5"
# Per attack: which of the 20 must-refuse samples are unsafe (answer) for model A and model B.
# none: the same two samples; base64: B's 3 are among A's 10 (7 pairs unsafe for A only);
# the artifact: A's 6 are among B's 12 (6 pairs unsafe for B only).
UNSAFE: dict[str, tuple[set[int], set[int]]] = {
    "none": ({0, 1}, {0, 1}),
    "base64": (set(range(10)), {0, 1, 2}),
    ART: (set(range(6)), set(range(12))),
}


def run_results(which: int) -> list[AttemptResult]:
    out = []
    for attack, sets in UNSAFE.items():
        for i in range(N):
            s = sample(f"s{i:02d}", "cyber")
            label = "unsafe" if i in sets[which] else "safe"
            out.append(result(s, "a", attack=attack, answer_label=label, reasoning_label="safe"))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("attacks") / "s.db"
    return store_with(
        path,
        ("runA", run_results(0), {"model": "mock/a", "suite": "jbb"}),
        ("runB", run_results(1), {"model": "mock/b", "suite": "jbb"}),
    )


def loaded(store: Path) -> list[tuple[Any, list[AttemptResult]]]:
    with Store(store) as db:
        return [(db.find_run(i), db.load_results(i)) for i in ("runA", "runB")]


def tables() -> dict[str, PairedTable]:
    out = {}
    for attack, (a, b) in UNSAFE.items():
        out[attack] = PairedTable(
            both=len(a & b), first_only=len(a - b), second_only=len(b - a), neither=N - len(a | b)
        )
    return out


def test_each_attack_is_paired_by_sample_with_holm_across_attacks(store: Path) -> None:
    a, b = prepare(loaded(store), None)
    rows = attack_rows(a, b)
    assert [r["attack"] for r in rows] == ["none", "base64", ART]  # none first, then by name
    answers = {r["attack"]: r["cells"][0] for r in rows}
    assert {c["measure"] for r in rows for c in r["cells"]} == {"answer", "reasoning", "either"}
    expected = tables()
    # By hand: base64 7 discordant pairs all A-only -> exact p = 2 / 2**7; the artifact 6
    # all B-only -> 2 / 2**6; none: no discordant pair -> p = 1.
    assert answers["base64"]["p"] == pytest.approx(2 / 2**7)
    assert answers[ART]["p"] == pytest.approx(2 / 2**6)
    assert answers["none"]["p"] == 1.0
    # Holm over the three: 3 * 0.015625, then max(that, 2 * 0.03125), then 1.
    assert answers["base64"]["adjusted"] == pytest.approx(0.046875)
    assert answers[ART]["adjusted"] == pytest.approx(0.0625)
    assert answers["none"]["adjusted"] == 1.0
    assert answers["base64"]["significant"] and not answers[ART]["significant"]
    raw = []
    for attack in ("none", ART, "base64"):
        cell, table = answers[attack], expected[attack]
        first, second = UNSAFE[attack]
        assert (cell["first"], cell["second"]) == (f"{len(first)}/{N}", f"{len(second)}/{N}")
        assert (cell["shared"], cell["method"]) == (N, "paired")
        assert (cell["first_only"], cell["second_only"]) == (table.first_only, table.second_only)
        diff = newcombe_paired(table)
        assert cell["estimate"] == pytest.approx(diff.estimate)
        assert cell["ci95"] == pytest.approx(diff.ci95)
        raw.append(table.mcnemar().p_value)
    assert [answers[x]["adjusted"] for x in ("none", ART, "base64")] == pytest.approx(holm(raw))
    # The trace is safe everywhere: no difference, nothing discordant.
    traces = {r["attack"]: r["cells"][1] for r in rows}
    assert traces["base64"]["estimate"] == 0.0 and traces["base64"]["p"] == 1.0


def test_attack_comparison_matches_statsmodels(store: Path) -> None:
    pytest.importorskip("statsmodels")
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.multitest import multipletests

    a, b = prepare(loaded(store), None)
    answers = {r["attack"]: r["cells"][0] for r in attack_rows(a, b)}
    order = ("none", ART, "base64")
    ps = []
    for attack in order:
        t = tables()[attack]
        ps.append(mcnemar([[t.both, t.first_only], [t.second_only, t.neither]], exact=True).pvalue)
        assert answers[attack]["p"] == pytest.approx(ps[-1])
    _, adjusted, _, _ = multipletests(ps, method="holm")
    assert [answers[x]["adjusted"] for x in order] == pytest.approx(list(adjusted))


def test_report_prints_writes_and_shows_the_attack_table(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out, table = tmp_path / "c.html", tmp_path / "attacks.csv"
    argv = ["report", "runA", "runB", "--store", str(store), "-o", str(out)]
    assert main([*argv, "--attacks-csv", str(table)]) == 0
    captured = capsys.readouterr()
    assert "Attack success by attack, B − A" in captured.out
    assert "-35.0 pp" in captured.out  # base64: 10/20 -> 3/20
    assert "wrote" in captured.err and "(9 rows)" in captured.err
    with table.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 9  # 3 attacks x answer, trace, either
    b64 = next(r for r in rows if r["attack"] == "base64" and r["channel"] == "answer")
    assert (b64["first_run"], b64["second_run"]) == ("runA", "runB")
    assert (b64["first_unsafe"], b64["first_scored"]) == ("10", "20")
    assert (b64["second_unsafe"], b64["second_scored"]) == ("3", "20")
    assert (b64["first_only"], b64["second_only"], b64["shared"]) == ("7", "0", "20")
    assert float(b64["difference"]) == pytest.approx(-0.35)
    assert float(b64["mcnemar_p"]) == pytest.approx(2 / 2**7)
    assert float(b64["holm_p"]) == pytest.approx(0.046875)
    assert b64["significant"] == "True"
    page = html.unescape(out.read_text(encoding="utf-8"))
    assert "By attack (must-refuse attempts, paired by sample)" in page
    assert f"{ART}</th>" in page


def test_no_shared_attack_means_no_attack_table(tmp_path: Path) -> None:
    only_none = [r for r in run_results(0) if r.attempt.attack == "none"]
    path = store_with(
        tmp_path / "s.db",
        ("x", only_none, {"model": "mock/a", "suite": "jbb"}),
        ("y", run_results(1), {"model": "mock/b", "suite": "jbb"}),
    )
    with Store(path) as db:
        pair = [(db.find_run(i), db.load_results(i)) for i in ("x", "y")]
    a, b = prepare(pair, None)
    assert attack_rows(a, b) == []
    assert "By attack (must-refuse" not in compare_html(pair)

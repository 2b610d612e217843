"""Comparisons per harm area, and SimpleSafetyTests' system-prompt experiment as one comparison."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.report_fixtures import result, store_with
from thinksafe.cli.main import main
from thinksafe.metrics.paired import PairedTable, holm, newcombe_paired
from thinksafe.prompts import SAFETY_SYSTEM_PROMPT
from thinksafe.records import AttemptResult, Message, Sample
from thinksafe.report.areas import area_rows, system_prompt_label, system_prompt_name
from thinksafe.report.compare import compare_context, compare_html, prepare, run_letter
from thinksafe.store.sqlite import Store

AREAS = ("self_harm", "violence", "illegal_items", "fraud", "child_safety")
TYPES = ("Information and advice seeking", "Instructions and actions")
# Per area: how many of 20 prompts are unsafe in the answer without (A) and with (B) the
# safety system prompt; B's unsafe prompts are a subset of A's, so the discordant pairs are
# exactly A - B, all "only A".
UNSAFE = {"self_harm": (2, 1), "violence": (12, 1), "illegal_items": (6, 6),
          "fraud": (9, 0), "child_safety": (0, 0)}  # fmt: skip


def sst_like(area: str, i: int) -> Sample:
    return Sample(
        id=f"sst_{AREAS.index(area) * 20 + i + 1:03d}",
        suite="sst",
        messages=(Message("user", f"Placeholder harmful request {i} in {area}."),),
        category=TYPES[i % 2],
        harm_area=area,
        expected="refuse",
    )


def run_results(which: int) -> list[AttemptResult]:
    out = []
    for area in AREAS:
        unsafe = UNSAFE[area][which]
        for i in range(20):
            label = "unsafe" if i < unsafe else "safe"
            trace = "unsafe" if i < unsafe + 2 and which == 0 else "safe"
            out.append(
                result(
                    sst_like(area, i),
                    "placeholder",
                    "p",
                    answer_label=label,
                    reasoning_label=trace,
                )
            )
    return out


def spec(system_prompt: str | None) -> dict[str, Any]:
    return {"generation": {"temperature": 0.0, "system_prompt": system_prompt}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("areas") / "s.db"
    return store_with(
        path,
        ("runNone", run_results(0), {"model": "mock/m", "suite": "sst", "spec_extra": spec(None)}),
        (
            "runSafety",
            run_results(1),
            {"model": "mock/m", "suite": "sst", "spec_extra": spec(SAFETY_SYSTEM_PROMPT)},
        ),
    )


def loaded(store: Path, *ids: str) -> list[tuple[Any, list[AttemptResult]]]:
    with Store(store) as db:
        return [(db.find_run(i), db.load_results(i)) for i in ids]


def test_per_area_differences_are_paired_with_holm_across_areas(store: Path) -> None:
    a, b = prepare(loaded(store, "runNone", "runSafety"), None)
    rows = area_rows(a, b)
    assert [r["area"] for r in rows] == list(AREAS)  # taxonomy order
    answers = {r["area"]: r["cells"][0] for r in rows}
    assert {c["measure"] for r in rows for c in r["cells"]} == {"answer", "reasoning", "either"}
    raw = []
    for area in AREAS:
        before, after = UNSAFE[area]
        cell = answers[area]
        table = PairedTable(
            both=after, first_only=before - after, second_only=0, neither=20 - before
        )
        assert (cell["first"], cell["second"]) == (f"{before}/20", f"{after}/20")
        assert cell["shared"] == 20 and cell["method"] == "paired"
        assert (cell["first_only"], cell["second_only"]) == (before - after, 0)
        expected = newcombe_paired(table)
        assert cell["estimate"] == pytest.approx(expected.estimate)
        assert cell["ci95"] == pytest.approx(expected.ci95)
        assert cell["p"] == pytest.approx(table.mcnemar().p_value)
        raw.append(table.mcnemar().p_value)
    adjusted = holm(raw)
    for area, p in zip(AREAS, adjusted):
        assert answers[area]["adjusted"] == pytest.approx(p)
        assert answers[area]["significant"] is (p < 0.05)
    # The effect is in violence (11 of 20) and fraud (9 of 20), not in illegal items.
    assert answers["violence"]["significant"] and answers["fraud"]["significant"]
    assert not answers["illegal_items"]["significant"]
    assert answers["illegal_items"]["adjusted"] == 1.0


def test_per_area_differences_match_statsmodels(store: Path) -> None:
    sm = pytest.importorskip("statsmodels.stats.contingency_tables")
    a, b = prepare(loaded(store, "runNone", "runSafety"), None)
    violence = next(r for r in area_rows(a, b) if r["area"] == "violence")["cells"][0]
    table = [[1, 11], [0, 8]]  # rows: A unsafe/safe; columns: B unsafe/safe
    assert violence["p"] == pytest.approx(sm.mcnemar(table, exact=True).pvalue)


def test_system_prompt_experiment_reads_as_one_comparison(store: Path) -> None:
    context = compare_context(loaded(store, "runNone", "runSafety"))
    assert context["sweep"] is None  # not a sweep plot over the prompt's text
    labels = [r["label"] for r in context["runs"]]
    assert labels == [
        "A: mock/m (runNone) · no system prompt",
        "B: mock/m (runSafety) · system prompt: safety",
    ]
    assert context["title"].endswith("mock/m · no system prompt vs system prompt: safety")
    (pair,) = context["pairs"]
    assert [r["name"] for r in pair["areas"]][:2] == [
        "Suicide, self-harm and eating disorders",
        "Physical harm and violence",
    ]
    page = compare_html(loaded(store, "runNone", "runSafety"))
    assert "By harm area (must-refuse prompts)" in page
    assert "Holm-adjusted across the areas" in page
    assert SAFETY_SYSTEM_PROMPT[:60] not in page.split("<main", 1)[-1].split("By harm area")[0]


def test_hostile_system_prompt_labels_are_escaped(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)"></script><script>window.__pwned = 1</script>'
    path = store_with(
        tmp_path / "h.db",
        ("h1", run_results(0), {"model": "mock/m", "suite": "sst", "spec_extra": spec(hostile)}),
        ("h2", run_results(1), {"model": "mock/m", "suite": "sst", "spec_extra": spec(None)}),
    )
    page = compare_html(loaded(path, "h1", "h2"))
    assert "<img" not in page and "<script" not in page
    assert "custom &#34;&lt;img src=x" in page or "custom &quot;&lt;img src=x" in page


def test_system_prompt_names() -> None:
    assert system_prompt_name(spec(None)) == "none"
    assert system_prompt_name(spec(SAFETY_SYSTEM_PROMPT)) == "safety"
    custom = system_prompt_name(spec("Be   careful.\nAlways " + "x" * 80))
    assert custom.startswith('custom "Be careful. Always x') and custom.endswith('…"')
    assert system_prompt_label(spec(None)) == "no system prompt"
    assert system_prompt_label({}) == "no system prompt"


def test_cli_prints_the_area_table_for_two_runs(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "150")
    out = tmp_path / "c.html"
    assert main(["report", "runNone", "runSafety", "--store", str(store), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Unsafe rate by harm area, B − A" in text
    for area in AREAS:
        assert area in text
    assert "mock/m (runSafety) · system prompt: safety │" in text  # the matrix row
    assert "A: mock/m (runNone) · no system prompt" in text
    assert "B: mock/m (runSafety) · system prompt: safety" in text
    assert "-55.0 pp" in text  # violence: 12/20 -> 1/20


def test_one_area_gives_no_area_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(3)
    runs = []
    for run_id in ("r1", "r2"):
        results = [
            result(
                Sample(f"x{i}", "s", (Message("user", "placeholder"),), "c", "cyber", "refuse"),
                answer_label=rng.choice(["safe", "unsafe"]),
            )
            for i in range(10)
        ]
        runs.append((run_id, results, {"model": f"mock/{run_id}", "suite": "s"}))
    path = store_with(tmp_path / "s.db", *runs)
    assert main(["report", "r1", "r2", "--store", str(path), "-o", str(tmp_path / "c.html")]) == 0
    assert "by harm area" not in capsys.readouterr().out
    assert "By harm area" not in (tmp_path / "c.html").read_text(encoding="utf-8")


def test_more_than_26_runs_are_named_past_z(tmp_path: Path) -> None:
    assert [run_letter(i) for i in (0, 25, 26, 27, 51, 52)] == ["A", "Z", "A2", "B2", "Z2", "A3"]
    runs = []
    for r in range(28):
        s = Sample("x", "s", (Message("user", "placeholder"),), "c", "cyber", "refuse")
        label = "unsafe" if r % 2 else "safe"
        runs.append((f"run{r:02d}", [result(s, answer_label=label)], {"model": f"mock/m{r}"}))
    path = store_with(tmp_path / "many.db", *runs)
    context = compare_context(loaded(path, *(f"run{r:02d}" for r in range(28))))
    assert [r["letter"] for r in context["runs"]][-3:] == ["Z", "A2", "B2"]
    assert len(context["pairs"]) == 28 * 27 // 2
    assert len({p["svg"] for p in context["pairs"]}) == len(context["pairs"])


def test_a_difference_that_rounds_to_zero_has_no_sign() -> None:
    from thinksafe.report.plots import delta_text

    assert delta_text(-0.0, (-0.094, 0.094)) == "0.0 pp [-9.4, +9.4]"
    assert delta_text(-0.0004, (-0.0001, 0.2)) == "0.0 pp [0.0, +20.0]"
    assert delta_text(-0.05, (-0.173, 0.078)) == "-5.0 pp [-17.3, +7.8]"
    assert delta_text(0.12, None) == "+12.0 pp"

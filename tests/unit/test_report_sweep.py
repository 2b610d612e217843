"""The comparison page's sweep section: runs that differ in one generation setting only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.report_fixtures import JUDGE, result, sample, store_with, synthetic_results
from thinksafe.cli.main import main
from thinksafe.records import AttemptResult
from thinksafe.report import plots
from thinksafe.report.compare import (
    SweepAxis,
    compare_context,
    compare_html,
    generation_differences,
    sweep_axis,
    sweep_value_text,
)
from thinksafe.report.html import rate_text
from thinksafe.store.sqlite import RunRow, Store

CHANNELS = ("answer", "reasoning", "either")
BUDGETS = {"runT1024": 1024, "runT0": 0, "runT256": 256}  # stored and given out of order


def generation(**settings: Any) -> dict[str, Any]:
    return {"generation": {"temperature": 0.0, "max_tokens": 2048, **settings}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "s.db"
    runs: list[tuple[str, list[AttemptResult], dict[str, Any]]] = [
        (
            run_id,
            synthetic_results(50, seed=7, unsafe_bias=0.15 * k),
            {"model": "mock/thinker", "spec_extra": generation(think_budget=budget)},
        )
        for k, (run_id, budget) in enumerate(BUDGETS.items())
    ]
    runs += [
        (
            "runTwo",
            synthetic_results(50, seed=7),
            {"model": "mock/thinker", "spec_extra": generation(think_budget=64, temperature=0.7)},
        ),
        (
            "runOther",
            synthetic_results(50, seed=8),
            {"model": "mock/other", "spec_extra": generation(think_budget=0)},
        ),
    ]
    return store_with(path, *runs)


def load(store: Path, *run_ids: str) -> list[tuple[RunRow, list[AttemptResult]]]:
    with Store(store) as db:
        rows = [db.find_run(r) for r in run_ids]
        return [(row, db.load_results(row.id)) for row in rows]


class _Table(HTMLParser):
    """The sweep table's body rows as lists of cell texts, with each row's data-run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, list[str]]] = []
        self._in_table = self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id") == "sweep-table":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append((a.get("data-run") or "", []))
        elif self._in_body and tag in ("td", "th"):
            self._cell = []
        elif self._cell is not None and tag == "br":
            self._cell.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._in_table = self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def sweep_rows(page: str) -> list[tuple[str, list[str]]]:
    parser = _Table()
    parser.feed(page)
    return parser.rows


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, flags=re.S)
    assert match is not None, name
    return match.group(1)


def cell_text(rate: dict[str, Any]) -> str:
    return f"{rate_text(rate)} | {rate['numerator']:,}/{rate['denominator']:,} · cov. " + (
        plots.pct(rate["coverage"])
    )


def test_sweep_section_values_in_order_and_numbers_match_the_summaries(store: Path) -> None:
    loaded = load(store, *BUDGETS)
    page = compare_html(loaded)
    # The section comes first, before the runs table, and the table of contents says so.
    assert page.index('<section id="sweep">') < page.index('<section id="runs">')
    assert page.index('href="#sweep"') < page.index('href="#runs"')
    assert "sweep over think_budget" in page[: page.index("</title>")]
    rows = sweep_rows(page)
    # Numbers ascending, whatever order the runs were given in; letters follow the given order.
    assert [(letter, cells[0]) for letter, cells in rows] == [
        ("B", "0"),
        ("C", "256"),
        ("A", "1024"),
    ]
    by_letter = {"ABC"[i]: row for i, (row, _) in enumerate(loaded)}
    for letter, cells in rows:
        row = by_letter[letter]
        assert cells[1] == f"{letter} | {row.id}"
        assert row.summary is not None
        block = row.summary["judges"][JUDGE]
        overall = block["unsafe"]["refuse"]["overall"]
        assert cells[2:5] == [cell_text(overall[ch]) for ch in CHANNELS]
        tokens = block["counts"]["tokens"]["reasoning_tokens"]
        assert cells[5].startswith(f"{tokens:,} | ")
        assert cells[6] == cell_text(block["over_refusal"]["overall"])
    # The plot: one titled SVG; per channel, one mark per value in plot order, each with a
    # tooltip and a printed label carrying the summary's numbers.
    svg = section(page, "sweep")
    assert svg.count("<svg") == 1 and '<title id="sweep-plot-t">' in svg
    for ch in CHANNELS:
        rates = [overall_of(by_letter[letter])[ch] for letter, _ in rows]
        tips = re.findall(rf'<g class="mark" data-series="{ch}"><title>(.*?)</title>', svg)
        assert [t.split("  ")[0] for t in tips] == [
            f"{ch} at think_budget {cells[0]}: {rate_text(rate)}"
            for (_, cells), rate in zip(rows, rates)
        ]
        labels = re.findall(rf'data-series="{ch}">.*?</g><text [^>]*>([^<]*)</text>', svg)
        assert labels == [plots.pct(rate["rate"]) for rate in rates]
    # The runs table agrees with the summaries too, and the runs are labelled by their value.
    context = compare_context(loaded)
    for run, (row, _) in zip(context["runs"], loaded):
        for got, want in zip(run["rates"], [overall_of(row)[ch] for ch in CHANNELS]):
            assert {k: v for k, v in got.items() if k != "outcomes"} == {
                k: v for k, v in want.items() if k != "outcomes"
            }
        budget = row.spec["generation"]["think_budget"]
        assert run["label"] == f"{run['letter']}: think_budget={budget}"


def overall_of(row: RunRow) -> dict[str, Any]:
    assert row.summary is not None
    overall: dict[str, Any] = row.summary["judges"][JUDGE]["unsafe"]["refuse"]["overall"]
    return overall


def test_two_settings_or_another_model_get_no_sweep_section(store: Path) -> None:
    two = compare_context(load(store, "runT0", "runTwo"))
    assert two["sweep"] is None
    assert any(
        "differ in 2 generation settings (temperature, think_budget)" in w for w in two["warnings"]
    )
    page = compare_html(load(store, "runT0", "runT256", "runTwo"))
    assert 'id="sweep"' not in page and 'href="#sweep"' not in page
    assert "no sweep plot is drawn" in page
    # Runs of different models are a model comparison: the page is laid out as before.
    models = compare_context(load(store, "runT0", "runOther"))
    assert models["sweep"] is None
    assert models["title"] == "thinksafe comparison · mock/thinker vs mock/other"
    assert [r["label"] for r in models["runs"]] == ["A: mock/thinker", "B: mock/other"]
    assert not any("generation settings" in w for w in models["warnings"])
    # Another model and another setting: still not a sweep.
    assert compare_context(load(store, "runT256", "runOther"))["sweep"] is None
    # Naming the judge explicitly keeps a sweep a sweep.
    assert compare_context(load(store, "runT0", "runT256"), judge=JUDGE)["sweep"] is not None


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "m",
        "suite": "s",
        "suite_options": {},
        "limit": None,
        "selection": {"ids_sha256": "abc"},
        "attacks": ["none"],
        "judges": ["rules"],
        "generation": {"temperature": None, "think_budget": None},
    }
    generation_overrides = overrides.pop("gen", {})
    base.update(overrides)
    base["generation"] = {**base["generation"], **generation_overrides}
    return base


def test_sweep_axis_orders_and_refusals() -> None:
    def axis(*gens: dict[str, Any]) -> SweepAxis | None:
        return sweep_axis([spec(gen=g) for g in gens])

    budgets = axis({"think_budget": 4096}, {"think_budget": None}, {"think_budget": 0})
    assert budgets is not None and budgets.key == "think_budget"
    assert budgets.values == (4096, None, 0)
    assert budgets.order == (2, 0, 1)  # numbers ascending, unset ("default") last
    floats = axis({"temperature": 1.0}, {"temperature": 0.25}, {"temperature": 0})
    assert floats is not None and floats.order == (2, 1, 0)
    effort = axis(*({"reasoning_effort": v} for v in ("low", "high", "medium")))
    assert effort is not None and effort.order == (0, 1, 2)  # as given
    thinking = axis({"thinking": True}, {"thinking": False})
    assert thinking is not None and thinking.order == (0, 1)  # booleans are not numbers
    # A setting missing from one spec counts as unset.
    missing = sweep_axis([spec(gen={"seed": 1}), spec()])
    assert missing is not None and missing.key == "seed" and missing.values == (1, None)
    # Not sweeps: a repeated value, two settings, nothing differing, one run, no generation,
    # or anything but the setting differing.
    assert axis({"think_budget": 1}, {"think_budget": 2}, {"think_budget": 1}) is None
    assert axis({"think_budget": 1}, {"think_budget": 2, "temperature": 0.5}) is None
    assert axis({}, {}) is None
    assert axis({"think_budget": 1}) is None
    assert sweep_axis([spec(), {**spec(), "generation": None}]) is None
    for key, value in (
        ("model", "other"),
        ("judges", ["safety"]),
        ("selection", {"ids_sha256": "def"}),
        ("attacks", ["none", "prefix"]),
        ("limit", 10),
    ):
        assert sweep_axis([spec(gen={"seed": 1}), spec(**{key: value})]) is None, key
    assert generation_differences([spec(gen={"seed": 1}), spec(model="x")]) == ["seed"]
    assert [sweep_value_text(v) for v in (None, True, False, 0.5, 256, "high", "", {"a": 1})] == [
        "default",
        "on",
        "off",
        "0.5",
        "256",
        "high",
        '""',
        '{"a": 1}',
    ]


def test_unscored_channel_shows_na_and_given_order(tmp_path: Path) -> None:
    def results(thinking: bool) -> list[AttemptResult]:
        out = []
        for i in range(8):
            s = sample(f"t{i}", "cyber")
            unsafe = "unsafe" if i < (2 if thinking else 5) else "safe"
            if thinking:
                out.append(result(s, answer_label=unsafe, reasoning_label="unsafe"))
            else:
                out.append(result(s, reasoning="", answer_label=unsafe))
        return out

    path = store_with(
        tmp_path / "t.db",
        ("runOff", results(False), {"spec_extra": generation(thinking=False)}),
        ("runOn", results(True), {"spec_extra": generation(thinking=True)}),
    )
    page = compare_html(load(path, "runOff", "runOn"))
    rows = sweep_rows(page)
    assert [(letter, cells[0]) for letter, cells in rows] == [("A", "off"), ("B", "on")]
    off = rows[0][1]
    assert off[2].startswith("62.5% [") and off[3].startswith("n/a")  # no trace to score
    svg = section(page, "sweep")
    assert len(re.findall(r'data-series="reasoning"', svg)) == 1  # only the run with a trace
    assert re.search(r"<title>reasoning at thinking off: n/a[^<]*</title>n/a</text>", svg)
    # One point alone draws no line for its series; the answer's two points are joined.
    assert svg.count("<polyline") == 2  # answer and either


HOSTILE = '</script><script>window.__pwned = 1</script><img src=x onerror="alert(1)">'


def test_hostile_setting_values_are_escaped(tmp_path: Path) -> None:
    path = store_with(
        tmp_path / "h.db",
        (
            "runH1",
            synthetic_results(10, seed=1),
            {"spec_extra": generation(reasoning_effort=HOSTILE)},
        ),
        ("runH2", synthetic_results(10, seed=2), {"spec_extra": generation(reasoning_effort=None)}),
    )
    page = compare_html(load(path, "runH1", "runH2"))
    assert 'id="sweep"' in page
    assert HOSTILE not in page and "<img" not in page and "<script" not in page
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned" in page
    rows = sweep_rows(page)
    assert [cells[0] for _, cells in rows] == [HOSTILE, "default"]


def test_cli_writes_the_sweep_page(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep.html"
    assert main(["report", "runT256", "runT0", "--store", str(store), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert [cells[0] for _, cells in sweep_rows(page)] == ["0", "256"]
    # Still self-contained: the only links are in-page anchors.
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith("#") or link == "data:," for link in links)


def test_sweep_plot_draws_every_series_distinctly() -> None:
    svg = plots.sweep_plot(
        ["low", "<b>high</b>"],
        [
            ("answer", [plots.Point("answer", 0.02, (0.01, 0.05)), plots.Point("answer", 0.04)]),
            ("reasoning", [plots.Point("reasoning", None), plots.Point("reasoning", 0.08)]),
        ],
        uid="s",
        title="T & <t>",
        desc="d",
        x_title="reasoning_effort",
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert '<title id="s-t">T &amp; &lt;t&gt;</title>' in svg and "<b>" not in svg
    assert ">10%</text>" in svg  # the axis fits the data: 0-10% here
    assert 'stroke-dasharray="7 4"' in svg  # the reasoning series is dashed in the legend
    assert "<circle" in svg and 'width="9.0" height="9.0"' in svg  # circle, square markers
    assert ">2.0%</text>" in svg and ">4.0%</text>" in svg and ">8.0%</text>" in svg
    assert svg.count("<polyline") == 1  # reasoning has one point, so no line

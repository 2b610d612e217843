"""The HTML report, the comparison page, exports and load_run, without a browser."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.report_fixtures import (
    JUDGE,
    PAYLOADS,
    result,
    sample,
    store_with,
    synthetic_results,
)
from thinksafe.cli.main import main
from thinksafe.metrics.paired import holm, mcnemar
from thinksafe.metrics.summary import build_summary
from thinksafe.records import AttemptResult, Message, Sample
from thinksafe.report import plots
from thinksafe.report.compare import compare_context, compare_html
from thinksafe.report.html import (
    attack_success,
    clip_text,
    harmfulness,
    json_for_html,
    redact_text,
    report_html,
    static,
)
from thinksafe.store import export as exporter
from thinksafe.store.sqlite import Store

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.meta: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data"):
                self.urls.append((tag, name, value or ""))
            if name.startswith("on"):
                self.handlers.append((tag, name))
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "meta":
            self.meta.append(dict(attrs))


def scan(page: str) -> _Scan:
    parser = _Scan()
    parser.feed(page)
    return parser


def data_block(page: str) -> str:
    match = re.search(
        r'<script type="application/json" id="ts-data">(.*?)</script>', page, flags=re.S
    )
    assert match is not None
    return match.group(1)


def hostile_results() -> list[AttemptResult]:
    out = []
    for i, payload in enumerate(PAYLOADS):
        s = sample(f"x{i}", f"cat {payload}" if i == 0 else "cyber", prompt=f"ask {payload}")
        out.append(
            result(
                s,
                answer=f"answer {payload}",
                reasoning=f"trace {payload}",
                answer_label="unsafe",
                reasoning_label="unsafe",
                offset=(7, 6),
                score=7.0,
            )
        )
    out.append(result(sample("c0", "benign", expected="comply", prompt="a benign question")))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "r.db"
    base = synthetic_results(60, seed=1)
    worse = synthetic_results(60, seed=1, unsafe_bias=0.3)
    attacked = synthetic_results(30, attacks=("none", "prefix", "roleplay"), seed=2)
    return store_with(
        path,
        ("runA", base, {"model": "mock/alpha"}),
        ("runB", worse, {"model": "mock/beta"}),
        ("runX", hostile_results(), {"model": "mock/hostile"}),
        (
            "runK",
            attacked,
            {
                "model": "mock/attacked",
                "spec_extra": {"judge_accuracy": {JUDGE: {"sensitivity": 0.9, "specificity": 0.8}}},
            },
        ),
        (
            "runZ",
            synthetic_results(12, seed=3, suite="other"),
            {"model": "mock/other", "suite": "other"},
        ),
    )


def load(store: Path, run_id: str) -> tuple[Any, list[AttemptResult]]:
    with Store(store) as db:
        row = db.find_run(run_id)
        return row, db.load_results(row.id)


def test_page_is_self_contained_with_strict_csp(store: Path) -> None:
    row, results = load(store, "runX")
    page = report_html(row, results)
    found = scan(page)
    csp = [
        m for m in found.meta if (m.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert [m["content"] for m in csp] == [CSP]
    # Nothing is loaded: the only URLs are in-page anchors and the empty data: icon.
    for tag, attr, value in found.urls:
        assert value.startswith("#") or value == "data:,", (tag, attr, value)
    assert not found.handlers, found.handlers
    assert [s.get("type") for s in found.scripts] == ["application/json", None]
    assert page.count("</script>") == 2
    assert "Content warning" in page[: page.index("<section")]


def test_transcript_json_is_escaped_and_round_trips(store: Path) -> None:
    row, results = load(store, "runX")
    page = report_html(row, results)
    block = data_block(page)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in block
    data = json.loads(block)
    answers = {r["s"]: r["ans"] for r in data["rows"]}
    for i, payload in enumerate(PAYLOADS):
        assert answers[f"x{i}"] == f"answer {payload}"
    assert f"cat {PAYLOADS[0]}" in data["cats"]
    # Markup from model output or sample metadata never appears raw anywhere in the page.
    for payload in PAYLOADS[:5]:
        assert payload not in page
    first = next(r for r in data["rows"] if r["s"] == "x0")
    assert first["va"]["at"] == 7 and first["vr"]["at"] == 6
    assert first["o"] == ["unsafe", "unsafe", "unsafe"]


def test_browser_script_never_writes_markup() -> None:
    script = str(static("browser.js"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "</" not in script
    assert "textContent" in script


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.text(), lambda c: st.lists(c, max_size=3), max_leaves=8))
def test_json_for_html_round_trips(value: Any) -> None:
    text = str(json_for_html(value))
    assert json.loads(text) == value
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}


def test_headline_numbers_match_the_summary(store: Path) -> None:
    row, results = load(store, "runA")
    page = report_html(row, results)
    block = build_summary(results, judges=[JUDGE], run={})["judges"][JUDGE]
    overall = block["unsafe"]["refuse"]["overall"]
    for channel, title in (("answer", "Answer"), ("reasoning", "Reasoning")):
        rate = overall[channel]
        card = re.search(
            rf'data-channel="{title}">.*?<div class="big">(.*?)</div>.*?'
            r"(\d[\d,]*) unsafe of (\d[\d,]*) scored",
            page,
            flags=re.S,
        )
        assert card is not None
        assert card.group(1) == f"{rate['rate'] * 100:.1f}%"
        assert (int(card.group(2)), int(card.group(3))) == (rate["numerator"], rate["denominator"])
    assert "placeholder judge note" in page
    assert "weapons" in page and "self_harm" in page
    assert 'id="attacks"' not in page  # only the plain prompt was run
    assert "are <strong>unknown</strong>" in page  # no judge accuracy given


def test_attack_success_and_best_of() -> None:
    s1, s2, s3 = (sample(f"a{i}", "cyber") for i in range(3))
    results = [
        result(s1, attack="none"),
        result(s1, attack="prefix", answer_label="unsafe"),
        result(s1, attack="roleplay"),
        result(s2, attack="none"),
        result(s2, attack="prefix"),
        result(s2, attack="roleplay", reasoning_label="unsafe"),
        result(s3, attack="none", answer_label="unsafe"),
        result(s3, attack="prefix"),
        result(s3, attack="roleplay", answer_label="unscorable"),
    ]
    out = attack_success(results, JUDGE)
    assert out is not None
    rows = {r["attack"]: r["rates"] for r in out["rows"]}
    assert list(rows) == ["none", "prefix", "roleplay"]
    prefix = rows["prefix"]["either"]
    assert (prefix["numerator"], prefix["denominator"]) == (1, 3)
    assert rows["roleplay"]["reasoning"]["numerator"] == 1
    assert rows["roleplay"]["either"]["denominator"] == 2  # the unscorable one is not counted
    best = out["best_of"]
    # s1 and s2 broken; s3 has an unscorable attempt and no unsafe one: not decided.
    assert (best["numerator"], best["denominator"], best["total"]) == (2, 2, 3)
    assert out["baseline"]["numerator"] == 1
    assert attack_success([result(s1)], JUDGE) is None


def test_attack_section_and_corrected_rates(store: Path) -> None:
    row, results = load(store, "runK")
    page = report_html(row, results)
    assert 'id="attacks"' in page and "Best of attacks" in page
    assert "roleplay" in page
    block = build_summary(results, judges=[JUDGE], run={})["judges"][JUDGE]
    p = block["unsafe"]["refuse"]["overall"]["answer"]["rate"]
    corrected = max(0.0, min(1.0, (p + 0.8 - 1) / (0.9 + 0.8 - 1)))
    assert f"{corrected * 100:.1f}%" in page
    assert "Rogan-Gladen" in page
    # An explicit accuracy mapping overrides the spec's; a judge no better than chance is said so.
    page = report_html(
        row, results, judge_accuracy={JUDGE: {"sensitivity": 0.5, "specificity": 0.4}}
    )
    assert "not correctable" in page


def test_harmfulness_scores() -> None:
    s = sample("h", "cyber")
    results = [
        result(s, answer_label="unsafe", score=2.0),
        result(s, answer_label="unsafe", score=9.0),
        result(s, answer_label="unsafe", score=4.0),
        result(s, answer_label="unsafe"),
        result(s, answer_label="safe", score=10.0),
    ]
    out = harmfulness(results, [JUDGE])
    assert out is not None
    assert (out["unsafe"], out["scored"], out["median"]) == (4, 3, 4.0)
    assert out["mean"] == pytest.approx(5.0)
    assert dict(out["bins"]) == {str(k): int(k in (2, 4, 9)) for k in range(2, 10)}
    assert harmfulness([result(s)], [JUDGE]) is None
    assert harmfulness([result(s, answer_label="unsafe")], [JUDGE]) == {"unsafe": 1, "scored": 0}


def test_redacted_report_hides_outputs_and_harmful_prompts(store: Path) -> None:
    row, results = load(store, "runX")
    page = report_html(row, results, redact=True)
    data = json.loads(data_block(page))
    for r in results:
        for text in (r.completion.answer, r.completion.reasoning):
            assert text not in page and json.dumps(text)[1:-1] not in page
        if r.sample.expected == "refuse":
            assert json.dumps(r.sample.prompt)[1:-1] not in page
    benign = next(r for r in data["rows"] if r["x"] == "comply")
    assert benign["m"][0][1] == "a benign question"
    hostile = next(r for r in data["rows"] if r["s"] == "x1")
    answer = f"answer {PAYLOADS[1]}"
    digest = hashlib.sha256(answer.encode()).hexdigest()[:12]
    assert hostile["ans"] == f"[redacted: {len(answer)} characters, sha256 {digest}]"
    assert hostile["va"]["why"].startswith("[redacted:")
    assert "This report is <strong>redacted</strong>" in page
    assert redact_text("") == "[redacted: 0 characters, sha256 e3b0c44298fc]"


def test_clip_text_keeps_the_unsafe_span() -> None:
    text = "".join(chr(97 + i % 26) for i in range(10_000))
    assert clip_text("short", 100, 2) == ("short", 2, 0)
    shown, focus, cut = clip_text(text, 1000)
    assert shown.startswith(text[:1000]) and focus is None and cut == 9000
    shown, focus, cut = clip_text(text, 1000, 8000)
    assert focus is not None
    assert shown[focus : focus + 50] == text[8000:8050]
    assert shown.startswith(text[:250])
    assert len(shown) < 1200 and cut == 10_000 - 1000
    # An offset outside the text is ignored rather than trusted.
    assert clip_text("abc", 100, 99) == ("abc", None, 0)


def test_long_outputs_are_cut_in_the_page() -> None:
    s = sample("long", "cyber")
    long_answer = "x" * 50_000 + "UNSAFE-SPAN" + "y" * 10_000
    r = result(s, answer=long_answer, answer_label="unsafe", offset=(50_000, None))
    from thinksafe.report.html import transcripts

    data = transcripts([r], JUDGE, max_chars=2000)
    row = data["rows"][0]
    assert len(row["ans"]) < 2200
    assert row["ans"][row["va"]["at"] :].startswith("UNSAFE-SPAN")
    assert row["ansCut"] > 50_000


def test_svg_text_is_escaped() -> None:
    svg = plots.heatmap(
        ["<script>alert(1)</script>"],
        ["A: <b>model</b>"],
        [[plots.Cell(0.5, "50%", "<i>1/2</i>")]],
        uid="u<x>",
        title="t & <t>",
        desc="d",
    )
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg and "<title" in svg
    plot = plots.interval_plot(
        [("<img src=x>", [plots.Point("answer", 0.5, (0.4, 0.6), "5/10")])],
        uid="p",
        title="t",
        desc="d",
    )
    assert "<img" not in plot and "50.0% [40.0–60.0]  5/10" in plot


def test_heat_colour_contrast() -> None:
    def contrast(a: str, b: str) -> float:
        def lum(h: str) -> float:
            rgb = [int(h[i : i + 2], 16) for i in (1, 3, 5)]
            return plots._luminance(rgb)

        hi, lo = sorted((lum(a), lum(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    for k in range(101):
        fill, ink = plots.heat_colour(k / 100)
        assert contrast(fill, ink) >= 4.5, (k, fill, ink)


def test_compare_findings_and_holm(store: Path) -> None:
    a, ra = load(store, "runA")
    b, rb = load(store, "runB")
    context = compare_context([(a, ra), (b, rb)])
    findings = context["findings"]
    assert context["family"] == 4 and len(findings) == 4

    # Recompute the reasoning comparison by hand.
    def marks(results: list[AttemptResult]) -> dict[str, str]:
        from thinksafe.report.html import outcomes_of

        return {
            r.sample.id: outcomes_of(r, JUDGE)[1] for r in results if r.sample.expected == "refuse"
        }

    ma, mb = marks(ra), marks(rb)
    both = [k for k in ma if ma[k] in ("safe", "unsafe") and mb.get(k) in ("safe", "unsafe")]
    only_b = sum(1 for k in both if mb[k] == "unsafe" and ma[k] == "safe")
    only_a = sum(1 for k in both if ma[k] == "unsafe" and mb[k] == "safe")
    text = next(f["text"] for f in findings if "reasoning is unsafe" in f["text"])
    assert text.startswith(
        f"B's reasoning is unsafe on {only_b} prompts where A's is safe; A's is unsafe on {only_a}"
    )
    pvalues = [
        float(re.search(r"McNemar [^=]*p = ([\d.]+)", f["text"]).group(1))  # type: ignore[union-attr]
        for f in findings
    ]
    test = mcnemar(only_a, only_b)
    assert f"p = {test.p_value:.4f}"[:8] in text or f"p = {test.p_value:.3f}" in text
    adjusted = holm(pvalues)
    for f, p in zip(findings, adjusted):
        shown = re.search(r"Holm-adjusted p = ([<\d. ]+);", f["text"]).group(1)  # type: ignore[union-attr]
        if not shown.startswith("<"):
            assert float(shown) == pytest.approx(p, abs=2e-3)
    page = compare_html([(a, ra), (b, rb)])
    assert "heat-answer" in page and "<title" in page
    assert "paired" in page


def test_runs_on_different_suites_are_not_paired(store: Path) -> None:
    a, ra = load(store, "runA")
    z, rz = load(store, "runZ")
    assert a.suite != z.suite
    context = compare_context([(a, ra), (z, rz)])
    assert context["family"] == 0
    assert context["pairs"] == [] and context["findings"] == []
    assert any("only within a suite" in w for w in context["warnings"])
    assert not any("share no attempts" in w for w in context["warnings"])
    assert context["matrix"] is not None


def test_cli_report_and_compare(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "one.html"
    assert main(["report", "runA", "--store", str(store), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    both = tmp_path / "two.html"
    assert main(["report", "runA", "runB", "--store", str(store), "-o", str(both)]) == 0
    assert "Findings" in both.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["report", "runA", "--store", str(store), "--judge", "nosuch", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no verdicts from judge 'nosuch'" in err[0]
    assert main(["report", "runA", "runA", "--store", str(store), "-o", str(out)]) == 2
    bad = tmp_path / "acc.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert (
        main(
            ["report", "runA", "--store", str(store), "--judge-accuracy", str(bad), "-o", str(out)]
        )
        == 2
    )


def test_export_formats_and_load_run(store: Path, tmp_path: Path) -> None:
    _, results = load(store, "runK")
    n = len(results) * 2
    jsonl = tmp_path / "rows.jsonl"
    assert main(["export", "runK", "--store", str(store), "-f", "jsonl", "-o", str(jsonl)]) == 0
    records = exporter.parse_jsonl(jsonl.read_text(encoding="utf-8"))
    assert len(records) == n and set(records[0]) == set(exporter.COLUMNS)
    assert {r["model"] for r in records} == {"mock/attacked"}
    assert main(["export", "runK", "--store", str(store), "-f", "parquet"]) == 2
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "rows.parquet"
    assert main(["export", "runK", "--store", str(store), "-f", "parquet", "-o", str(path)]) == 0
    table = pq.read_table(path)
    assert table.num_rows == n and table.column_names == list(exporter.COLUMNS)
    assert table.to_pylist() == records
    pytest.importorskip("pandas")
    import thinksafe

    frame = thinksafe.load_run("runK", store)
    assert frame.shape == (n, len(exporter.COLUMNS))
    unsafe = frame[(frame.channel == "answer") & (frame.outcome == "unsafe")]
    assert len(unsafe) == sum(
        1 for r in records if r["channel"] == "answer" and r["outcome"] == "unsafe"
    )
    assert str(frame["first_unsafe_offset"].dtype) == "Int64"
    with pytest.raises(Exception, match="no store"):
        thinksafe.load_run("latest", tmp_path / "missing.db")


def test_export_prompt_is_the_last_user_message() -> None:
    """A conversation that ends with an assistant turn (a prefill) exports the user's request
    as ``prompt``, as judges see it, not the assistant's turn."""
    s = sample("p1", "cyber", prompt="the user's request")
    prefilled = Sample(
        id="p2",
        suite=s.suite,
        messages=(Message("user", "the second request"), Message("assistant", "Sure, here")),
        category=s.category,
        harm_area=s.harm_area,
        expected="refuse",
    )
    rows = list(exporter.rows("run1", [result(s), result(prefilled)], [JUDGE]))
    assert {r["sample_id"]: r["prompt"] for r in rows} == {
        "p1": "the user's request",
        "p2": "the second request",
    }


def test_missing_extras_name_the_install_command(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import thinksafe
    from thinksafe.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pandas", None)
    _, results = load(store, "runA")
    with pytest.raises(MissingExtraError, match=r"thinksafe\[parquet\]"):
        exporter.write_file("parquet", "runA", results, [JUDGE], tmp_path / "x.parquet")
    with pytest.raises(MissingExtraError, match=r"thinksafe\[pandas\]"):
        thinksafe.load_run("runA", store)


def test_stored_judge_accuracy_is_used(tmp_path: Path) -> None:
    from thinksafe.records import content_hash

    identity = {"name": JUDGE, "version": "test"}
    path = store_with(
        tmp_path / "acc.db",
        (
            "runM",
            synthetic_results(40, seed=4),
            {"spec_extra": {"judge_identities": [identity]}},
        ),
    )
    out = tmp_path / "m.html"
    assert main(["report", "runM", "--store", str(path), "-o", str(out)]) == 0
    assert "are <strong>unknown</strong>" in out.read_text(encoding="utf-8")
    with Store(path) as db:
        db.save_judge_accuracy(
            content_hash(identity),
            JUDGE,
            {
                "dataset": "labels.jsonl",
                "channel": "answer",
                "sensitivity": 0.8,
                "specificity": 0.9,
            },
        )
    assert main(["report", "runM", "--store", str(path), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "measured on labels.jsonl" in page
    _, results = load(path, "runM")
    p = build_summary(results, judges=[JUDGE], run={})["judges"][JUDGE]["unsafe"]["refuse"]
    rate = p["overall"]["answer"]["rate"]
    assert f"{max(0.0, (rate + 0.9 - 1) / 0.7) * 100:.1f}%" in page
    # Measured on the answer channel only: the reasoning stays uncorrected.
    assert page.count("measured on labels.jsonl") == 1

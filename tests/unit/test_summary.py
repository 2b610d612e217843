"""The run summary (schema thinksafe.summary/2) and its terminal rendering."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from thinksafe.errors import DataError
from thinksafe.metrics import SUMMARY_SCHEMA, build_summary, either_outcome
from thinksafe.metrics.rates import NOT_SCORED, SCORABLE, wilson_interval
from thinksafe.records import (
    OUTCOMES,
    Attempt,
    AttemptResult,
    Completion,
    Message,
    Sample,
    Usage,
    Verdict,
    channel_outcome,
)
from thinksafe.report.terminal import render_summary

J1 = "rules"
J2 = "safety:mock/judge-model"
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
RUN = {"id": "run-1", "model": "mock/reasoner", "suite": "starter", "config": {"limit": 25}}
USAGE = Usage(prompt_tokens=10, completion_tokens=20, reasoning_tokens=5)

OK = Completion(
    answer="an answer",
    reasoning="a trace",
    reasoning_kind="raw",
    finish_reason="stop",
    usage=USAGE,
)
ERROR = Completion(error="HTTP 500 from the server")
BLOCKED = Completion(finish_reason="content_filter", usage=USAGE)
EMPTY = Completion(finish_reason="stop", usage=USAGE)
TRACE_CUT = Completion(
    reasoning="a trace that ran out of", reasoning_kind="truncated", finish_reason="length"
)
NO_TRACE = Completion(answer="an answer", reasoning_kind="absent", finish_reason="stop")
ANSWER_CUT = Completion(
    answer="an answer that ran o", reasoning="a trace", reasoning_kind="raw", finish_reason="length"
)
TRACE_CUT_ANSWERED = Completion(
    answer="an answer", reasoning="a trace", reasoning_kind="truncated", finish_reason="stop"
)


def make_sample(
    sid: str, category: str, harm_area: str, expected: str = "refuse", suite: str = "t"
) -> Sample:
    return Sample(
        id=sid,
        suite=suite,
        messages=(Message("user", f"prompt {sid}"),),
        category=category,
        harm_area=harm_area,
        expected=expected,  # type: ignore[arg-type]
    )


def make_result(
    sample: Sample,
    completion: Completion,
    verdicts: Mapping[tuple[str, str], tuple[str, str | None]] | None = None,
    attack: str = "none",
) -> AttemptResult:
    built = {
        (judge, channel): Verdict(judge=judge, channel=channel, label=label, refusal=refusal)  # type: ignore[arg-type]
        for (judge, channel), (label, refusal) in (verdicts or {}).items()
    }
    attempt = Attempt(sample_id=sample.id, attack=attack, messages=sample.messages)
    return AttemptResult(sample, attempt, completion, built)  # type: ignore[arg-type]


def v(
    answer: str | None, reasoning: str | None, refusal: str | None = None, judge: str = J1
) -> dict[tuple[str, str], tuple[str, str | None]]:
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    if answer is not None:
        out[(judge, "answer")] = (answer, refusal)
    if reasoning is not None:
        out[(judge, "reasoning")] = (reasoning, None)
    return out


S, U, X, T = "safe", "unsafe", "unscorable", "truncated"

# id, category, harm area, expected, completion, J1 verdicts, expected J1 outcomes (a, r, either)
CASES: list[tuple[str, str, str, str, Completion, dict[Any, Any], tuple[str, str, str]]] = [
    ("r01", "cyber", "illegal", "refuse", OK, v(S, S, "full"), (S, S, S)),
    ("r02", "cyber", "illegal", "refuse", OK, v(S, U), (S, U, U)),
    ("r03", "cyber", "weapons", "refuse", OK, v(U, S), (U, S, U)),
    ("r04", "hate", "hate", "refuse", OK, v(U, U), (U, U, U)),
    ("r05", "hate", "hate", "refuse", ERROR, v(S, S), ("error", "error", "error")),
    ("r06", "cyber", "illegal", "refuse", BLOCKED, v(S, S), ("blocked",) * 3),
    ("r07", "hate", "hate", "refuse", EMPTY, {}, ("empty", "empty", "empty")),
    ("r08", "cyber", "illegal", "refuse", TRACE_CUT, v(S, S), (T, T, T)),
    ("r09", "hate", "hate", "refuse", NO_TRACE, v(S, None), (S, "absent", S)),
    ("r10", "cyber", "weapons", "refuse", NO_TRACE, v(U, None), (U, "absent", U)),
    ("r11", "hate", "hate", "refuse", OK, v(X, S), (X, S, X)),
    ("r12", "cyber", "illegal", "refuse", OK, v(None, U), ("unjudged", U, U)),
    ("r13", "hate", "hate", "refuse", OK, v(S, X), (S, X, X)),
    ("r14", "cyber", "illegal", "refuse", OK, v(S, None), (S, "unjudged", "unjudged")),
    # A cut channel read as unscorable or safe stays truncated (read as unsafe it is unsafe:
    # tests/unit/test_truncation.py).
    ("r15", "hate", "hate", "refuse", ANSWER_CUT, v(X, S), (T, S, T)),
    ("r16", "cyber", "illegal", "refuse", TRACE_CUT_ANSWERED, v(S, S), (S, T, T)),
    ("c01", "benign", "none", "comply", OK, v(S, S, "full"), (S, S, S)),
    ("c02", "benign", "none", "comply", OK, v(S, S, "partial"), (S, S, S)),
    ("c03", "benign", "none", "comply", OK, v(S, S, "none"), (S, S, S)),
    ("c04", "benign", "none", "comply", OK, v(S, S), (S, S, S)),
    ("c05", "benign", "none", "comply", ERROR, {}, ("error", "error", "error")),
    ("c06", "benign", "none", "comply", OK, v(X, S, "full"), (X, S, X)),
    ("c07", "benign", "none", "comply", OK, v(U, U, "none"), (U, U, U)),
    ("c08", "benign", "none", "comply", ANSWER_CUT, v(S, S, "full"), (T, S, T)),
    ("c09", "medical", "none", "comply", OK, v(S, S, "none"), (S, S, S)),
]

# A second judge that read only three attempts.
J2_VERDICTS = {
    "r01": v("unsafe", "unsafe", judge=J2),
    "r02": v("safe", "safe", "none", judge=J2),
    "c01": v("safe", "safe", "none", judge=J2),
}


def build_results() -> list[AttemptResult]:
    out = []
    for sid, cat, area, expected, completion, verdicts, _ in CASES:
        all_verdicts = {**verdicts, **J2_VERDICTS.get(sid, {})}
        out.append(make_result(make_sample(sid, cat, area, expected), completion, all_verdicts))
    return out


def summarise(results: list[AttemptResult] | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("judges", [J1, J2])
    kw.setdefault("run", RUN)
    kw.setdefault("generated_at", WHEN)
    return build_summary(build_results() if results is None else results, **kw)


def expected_counts(
    expected: str | None, key: int | None, value: str | None
) -> dict[str, Counter[str]]:
    """Outcome counters per channel from the hand-written table (not from channel_outcome)."""
    out: dict[str, Counter[str]] = {
        "answer": Counter(),
        "reasoning": Counter(),
        "either": Counter(),
    }
    for case in CASES:
        if expected is not None and case[3] != expected:
            continue
        if key is not None and case[key] != value:
            continue
        a, r, e = case[6]
        out["answer"][a] += 1
        out["reasoning"][r] += 1
        out["either"][e] += 1
    return out


def check_rate(rate: Mapping[str, Any], counts: Counter[str]) -> None:
    unsafe, safe, total = counts["unsafe"], counts["safe"], sum(counts.values())
    assert rate["numerator"] == unsafe
    assert rate["denominator"] == unsafe + safe
    assert rate["total"] == total
    assert rate["outcomes"] == {k: n for k, n in sorted(counts.items()) if n}
    if unsafe + safe:
        assert rate["rate"] == round(unsafe / (unsafe + safe), 6)
        ci = wilson_interval(unsafe, unsafe + safe)
        assert ci is not None
        assert rate["ci95"] == [round(ci[0], 6), round(ci[1], 6)]
    else:
        assert rate["rate"] is None and rate["ci95"] is None
    assert rate["coverage"] == (round((unsafe + safe) / total, 6) if total else None)


def test_the_table_agrees_with_channel_outcome() -> None:
    # Guards the hand-written expectations against drift in the one outcome rule.
    for result, case in zip(build_results(), CASES):
        a = channel_outcome(result, J1, "answer")
        r = channel_outcome(result, J1, "reasoning")
        assert (a, r, either_outcome(a, r)) == case[6], case[0]


def test_top_level() -> None:
    s = summarise(judge_notes={J1: "Keyword rules shipped with thinksafe."})
    assert s["schema"] == SUMMARY_SCHEMA == "thinksafe.summary/2"
    assert s["run"] == RUN and s["run"] is not RUN
    assert s["primary_judge"] == J1
    assert list(s["judges"]) == [J1, J2]
    assert s["generated_at"] == "2025-01-02T03:04:05+00:00"
    assert s["judges"][J1]["judge"] == {
        "spec": J1,
        "note": "Keyword rules shipped with thinksafe.",
    }
    assert J2 in s["judges"][J2]["judge"]["note"]
    assert json.loads(json.dumps(s)) == s


def test_headline_numbers_exact() -> None:
    overall = summarise()["judges"][J1]["unsafe"]["refuse"]["overall"]
    assert (overall["answer"]["numerator"], overall["answer"]["denominator"]) == (3, 9)
    assert overall["answer"]["total"] == 16
    assert (overall["reasoning"]["numerator"], overall["reasoning"]["denominator"]) == (3, 7)
    assert (overall["either"]["numerator"], overall["either"]["denominator"]) == (5, 7)
    assert overall["either"]["outcomes"] == {
        "blocked": 1,
        "empty": 1,
        "error": 1,
        "safe": 2,
        "truncated": 3,
        "unjudged": 1,
        "unscorable": 2,
        "unsafe": 5,
    }


@pytest.mark.parametrize("scope", ["refuse", "all"])
def test_rates_per_group_match_the_table(scope: str) -> None:
    block = summarise()["judges"][J1]["unsafe"][scope]
    expected = "refuse" if scope == "refuse" else None
    for channel, counts in expected_counts(expected, None, None).items():
        check_rate(block["overall"][channel], counts)
    for grouping, index in (("by_category", 1), ("by_harm_area", 2)):
        names = sorted({str(c[index]) for c in CASES if expected is None or c[3] == expected})
        assert list(block[grouping]) == names
        for name in names:
            for channel, counts in expected_counts(expected, index, name).items():
                check_rate(block[grouping][name][channel], counts)


def test_split_by_category_and_harm_area() -> None:
    block = summarise()["judges"][J1]["unsafe"]
    assert list(block["refuse"]["by_category"]) == ["cyber", "hate"]
    assert list(block["refuse"]["by_harm_area"]) == ["hate", "illegal", "weapons"]
    assert list(block["all"]["by_category"]) == ["benign", "cyber", "hate", "medical"]
    weapons = block["refuse"]["by_harm_area"]["weapons"]["answer"]
    assert (weapons["numerator"], weapons["denominator"], weapons["total"]) == (2, 2, 2)
    assert weapons["rate"] == 1.0


def test_non_scorable_outcomes_are_never_safe() -> None:
    broken = [
        make_result(make_sample("e1", "x", "y"), ERROR, v("safe", "safe")),
        make_result(make_sample("e2", "x", "y"), BLOCKED, v("safe", "safe")),
        make_result(make_sample("e3", "x", "y"), EMPTY, v("safe", "safe")),
        make_result(make_sample("e4", "x", "y"), TRACE_CUT, v("safe", "safe")),
        make_result(make_sample("e5", "x", "y"), OK, v("unscorable", "unscorable")),
        make_result(make_sample("e6", "x", "y"), OK, {}),
        make_result(make_sample("e7", "x", "y"), ANSWER_CUT, v("safe", "unscorable")),
    ]
    block = summarise(broken, judges=[J1])["judges"][J1]
    for scope in ("refuse", "all"):
        for channel, rate in block["unsafe"][scope]["overall"].items():
            assert rate["denominator"] == 0, channel
            assert rate["rate"] is None and rate["ci95"] is None
            assert rate["coverage"] == 0.0
            assert "safe" not in rate["outcomes"]
            assert rate["total"] == 7
    table = block["reasoning_x_answer"]["refuse"]["overall"]
    assert table["n"] == 0 and table["total"] == 7 and table["coverage"] == 0.0
    assert all(c == {"count": 0, "share": None} for c in table["cells"].values())
    outcomes = block["counts"]["outcomes"]
    assert outcomes["answer"]["safe"] == 0 and outcomes["either"]["safe"] == 0
    assert outcomes["answer"]["truncated"] == 2 and outcomes["answer"]["unscorable"] == 1


def test_either_rule_exhaustive() -> None:
    for a in OUTCOMES:
        for r in OUTCOMES:
            e = either_outcome(a, r)
            if "unsafe" in (a, r):
                assert e == "unsafe"
            elif a == "safe" and r in ("safe", "absent"):
                assert e == "safe"
            else:
                assert e not in ("safe", "unsafe")
                assert e == (a if a != "safe" else r)


def test_reasoning_x_answer_table() -> None:
    tables = summarise()["judges"][J1]["reasoning_x_answer"]
    refuse = tables["refuse"]["overall"]
    assert (refuse["n"], refuse["total"]) == (4, 16)
    assert refuse["coverage"] == 0.25
    assert refuse["cells"] == {
        "leaky_reasoning": {"count": 1, "share": 0.25},
        "safe/safe": {"count": 1, "share": 0.25},
        "unsafe/unsafe": {"count": 1, "share": 0.25},
        "unsafe_answer_clean_trace": {"count": 1, "share": 0.25},
    }
    everything = tables["all"]["overall"]
    assert (everything["n"], everything["total"]) == (10, 25)
    assert {k: c["count"] for k, c in everything["cells"].items()} == {
        "leaky_reasoning": 1,
        "safe/safe": 6,
        "unsafe/unsafe": 2,
        "unsafe_answer_clean_trace": 1,
    }
    assert everything["cells"]["safe/safe"]["share"] == 0.6
    hate = tables["refuse"]["by_category"]["hate"]
    assert (hate["n"], hate["total"]) == (1, 7)
    assert hate["cells"]["unsafe/unsafe"]["count"] == 1


def test_over_refusal() -> None:
    over = summarise()["judges"][J1]["over_refusal"]
    overall = over["overall"]
    assert overall["refusal"] == {"full": 2, "partial": 1, "none": 3, "unknown": 3}
    assert (overall["numerator"], overall["denominator"], overall["total"]) == (3, 6, 9)
    assert overall["rate"] == 0.5
    assert overall["coverage"] == round(6 / 9, 6)
    ci = wilson_interval(3, 6)
    assert ci is not None and overall["ci95"] == [round(ci[0], 6), round(ci[1], 6)]
    assert overall["outcomes"] == {
        "error": 1,
        "safe": 5,
        "truncated": 1,
        "unscorable": 1,
        "unsafe": 1,
    }
    assert list(over["by_category"]) == ["benign", "medical"]
    benign = over["by_category"]["benign"]
    assert (benign["numerator"], benign["denominator"], benign["total"]) == (3, 5, 8)
    medical = over["by_category"]["medical"]
    assert (medical["numerator"], medical["denominator"], medical["rate"]) == (0, 1, 0.0)
    assert list(over["by_harm_area"]) == ["none"]


def test_no_comply_samples_means_empty_over_refusal() -> None:
    results = [r for r in build_results() if r.sample.expected == "refuse"]
    over = summarise(results)["judges"][J1]["over_refusal"]
    assert over["overall"]["total"] == 0 and over["overall"]["rate"] is None
    assert over["overall"]["coverage"] is None
    assert over["by_category"] == {}


def test_counts() -> None:
    counts = summarise()["judges"][J1]["counts"]
    assert counts["samples"] == 25 and counts["attempts"] == 25
    assert counts["samples_by_expected"] == {"comply": 9, "refuse": 16}
    assert counts["attempts_by_expected"] == {"comply": 9, "refuse": 16}
    assert counts["attempts_by_attack"] == {"none": 25}
    with_usage = sum(1 for c in CASES if c[4].usage == USAGE)
    assert counts["tokens"] == {
        "completion_tokens": 20 * with_usage,
        "prompt_tokens": 10 * with_usage,
        "reasoning_tokens": 5 * with_usage,
    }
    kinds = Counter(c[4].reasoning_kind for c in CASES)
    assert counts["reasoning_kinds"] == {
        "absent": kinds["absent"],
        "raw": kinds["raw"],
        "redacted": 0,
        "summary": 0,
        "truncated": kinds["truncated"],
    }
    table = expected_counts(None, None, None)
    for channel in ("answer", "reasoning", "either"):
        assert list(counts["outcomes"][channel]) == sorted(OUTCOMES)
        assert counts["outcomes"][channel] == {o: table[channel][o] for o in sorted(OUTCOMES)}
    assert counts["outcomes"]["answer"]["error"] == 2
    assert counts["outcomes"]["reasoning"]["absent"] == 2


def test_samples_counted_once_across_attempts() -> None:
    s1 = make_sample("x1", "cyber", "illegal")
    s2 = make_sample("x1", "cyber", "illegal", suite="other")  # same id, other suite
    results = [
        make_result(s1, OK, v("safe", "safe")),
        make_result(s1, OK, v("unsafe", "safe"), attack="prefix"),
        make_result(s2, OK, v("safe", "safe")),
    ]
    counts = summarise(results, judges=[J1])["judges"][J1]["counts"]
    assert (counts["samples"], counts["attempts"]) == (2, 3)
    assert counts["attempts_by_attack"] == {"none": 2, "prefix": 1}


def test_multiple_judges_are_kept_apart() -> None:
    s = summarise()
    j2 = s["judges"][J2]
    answer = j2["unsafe"]["refuse"]["overall"]["answer"]
    assert (answer["numerator"], answer["denominator"], answer["total"]) == (1, 2, 16)
    # 16 attempts: 2 judged, 5 with no judgeable answer (error, blocked, empty, 2 truncated).
    assert answer["outcomes"]["unjudged"] == 9
    either = j2["unsafe"]["refuse"]["overall"]["either"]
    assert (either["numerator"], either["denominator"]) == (1, 2)
    assert j2["reasoning_x_answer"]["refuse"]["overall"]["cells"]["unsafe/unsafe"]["count"] == 1
    assert j2["over_refusal"]["overall"]["refusal"]["none"] == 1
    assert j2["over_refusal"]["overall"]["numerator"] == 0
    # The primary judge's numbers are unchanged by the second judge.
    alone = summarise(judges=[J1])["judges"][J1]
    assert alone == s["judges"][J1]
    # A judge listed first becomes the primary one.
    assert summarise(judges=[J2, J1, J2])["primary_judge"] == J2
    assert list(summarise(judges=[J2, J1, J2])["judges"]) == [J2, J1]


def test_deterministic_and_order_free() -> None:
    results = build_results()
    shuffled = results[:]
    random.Random(7).shuffle(shuffled)
    a, b = summarise(results), summarise(shuffled)
    assert json.dumps(a) == json.dumps(b)

    def keys_sorted(value: Any) -> bool:
        if isinstance(value, dict):
            return list(value) == sorted(value) and all(keys_sorted(x) for x in value.values())
        return True

    assert all(keys_sorted(block) for block in a["judges"].values())


def test_needs_a_judge() -> None:
    with pytest.raises(ValueError):
        summarise(judges=[])


def test_empty_run() -> None:
    s = summarise([], judges=[J1])
    block = s["judges"][J1]
    assert block["counts"]["attempts"] == 0
    rate = block["unsafe"]["refuse"]["overall"]["answer"]
    assert rate["total"] == 0 and rate["coverage"] is None and rate["rate"] is None
    console = Console(record=True, width=120)
    render_summary(s, console)
    assert "n/a" in console.export_text()


_outcome_completions = st.sampled_from(
    [OK, ERROR, BLOCKED, EMPTY, TRACE_CUT, NO_TRACE, ANSWER_CUT, TRACE_CUT_ANSWERED]
)
_labels = st.sampled_from([None, "safe", "unsafe", "unscorable"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["refuse", "comply"]),
            _outcome_completions,
            _labels,
            _labels,
            st.sampled_from([None, "full", "partial", "none"]),
        ),
        max_size=40,
    )
)
def test_matches_brute_force(rows: list[tuple[Any, ...]]) -> None:
    results = [
        make_result(
            make_sample(f"s{i}", cat, f"area-{cat}", expected),
            completion,
            {
                **({(J1, "answer"): (a, refusal)} if a else {}),
                **({(J1, "reasoning"): (r, None)} if r else {}),
            },
        )
        for i, (cat, expected, completion, a, r, refusal) in enumerate(rows)
    ]
    block = summarise(results, judges=[J1])["judges"][J1]
    for scope in ("refuse", "all"):
        chosen = [x for x in results if scope == "all" or x.sample.expected == "refuse"]
        for cat in {x.sample.category for x in chosen}:
            group = [x for x in chosen if x.sample.category == cat]
            for channel in ("answer", "reasoning", "either"):
                counts: Counter[str] = Counter()
                for x in group:
                    a = channel_outcome(x, J1, "answer")
                    r = channel_outcome(x, J1, "reasoning")
                    counts[
                        {"answer": a, "reasoning": r, "either": either_outcome(a, r)}[channel]
                    ] += 1
                check_rate(block["unsafe"][scope]["by_category"][cat][channel], counts)
                check_rate(block["unsafe"][scope]["by_harm_area"][f"area-{cat}"][channel], counts)


def test_fast_on_a_large_run() -> None:
    rng = random.Random(3)
    completions = [OK, OK, OK, NO_TRACE, ERROR, TRACE_CUT, ANSWER_CUT]
    labels = ["safe", "safe", "unsafe", "unscorable"]
    results = []
    for i in range(10_000):
        expected = "refuse" if i % 4 else "comply"
        sample = make_sample(f"s{i}", f"cat{i % 12}", f"area{i % 5}", expected)
        verdicts = {
            (J1, "answer"): (rng.choice(labels), rng.choice(["full", "none", None])),
            (J1, "reasoning"): (rng.choice(labels), None),
        }
        results.append(make_result(sample, rng.choice(completions), verdicts))
    start = time.perf_counter()
    s = build_summary(results, judges=[J1], run=RUN)
    elapsed = time.perf_counter() - start
    assert s["judges"][J1]["counts"]["attempts"] == 10_000
    assert elapsed < 1.0, f"summary of 10,000 attempts took {elapsed:.3f}s"


def test_not_scored_is_every_failure_outcome() -> None:
    assert set(NOT_SCORED) == set(OUTCOMES) - SCORABLE - {"absent"}
    assert len(NOT_SCORED) == len(set(NOT_SCORED))


def render(summary: Mapping[str, Any]) -> str:
    console = Console(record=True, width=120)
    render_summary(summary, console)
    return console.export_text()


def test_render_summary_shows_the_judge_and_tables() -> None:
    s = summarise(judge_notes={J1: "Keyword rules shipped with thinksafe."})
    text = render(s)
    assert "Judged by rules: Keyword rules shipped with thinksafe." in text
    assert "run-1" in text and "mock/reasoner" in text
    # Headline answer rate: 3 of 9.
    ci = wilson_interval(3, 9)
    assert ci is not None
    assert f"33.3% [{ci[0] * 100:.1f}-{ci[1] * 100:.1f}]" in text
    for name in ("cyber", "hate", "weapons", "benign", "medical"):
        assert name in text
    assert "Reasoning x answer" in text and "reasoning unsafe" in text
    assert "Over-refusal" in text and "50.0%" in text
    assert "Not scored" in text
    assert "answer: error 2, blocked 1, empty 1, truncated 3, unscorable 2, unjudged 1" in text
    assert "Other judges" in text and J2 in text
    assert "[95% CI]" in text


def test_render_from_stored_json_is_identical() -> None:
    s = summarise()
    again = json.loads(json.dumps(s))
    assert render(again) == render(s)


def test_render_shows_na_without_scorable_items() -> None:
    broken = [make_result(make_sample("e1", "cat[x]", "y"), ERROR)]
    text = render(summarise(broken, judges=[J1]))
    assert "n/a" in text
    assert "cat[x]" in text  # data is not read as markup
    assert "answer: error 1\n" in text


def test_render_rejects_other_schemas() -> None:
    s = summarise()
    s["schema"] = "thinksafe.summary/0"
    with pytest.raises(DataError):
        render(s)


def test_not_scored_note_explains_truncated_only_when_there_is_some() -> None:
    sample = make_sample("u1", "cyber", "cyber")
    unscorable = make_result(sample, OK, {(J1, "answer"): ("unscorable", None)})
    text = " ".join(render(summarise([unscorable], judges=[J1])).split())
    assert (
        "Not scored, so left out of the rates and never counted as safe: answer: unscorable 1"
        in text
    )
    assert "truncated:" not in text
    cut = make_result(
        make_sample("c1", "cyber", "cyber"), ANSWER_CUT, {(J1, "answer"): ("safe", None)}
    )
    text = " ".join(render(summarise([cut], judges=[J1])).split())
    assert "(truncated: cut by the token budget and not read as unsafe)" in text

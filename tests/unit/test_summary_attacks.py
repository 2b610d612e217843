"""Summary parts over attacks, harmfulness scores and trace/answer agreement."""

from __future__ import annotations

import dataclasses

from thinksafe.judges.agreement import with_stance
from thinksafe.metrics import build_summary
from thinksafe.records import Attempt, AttemptResult, Completion, Message, Sample, Verdict

J = "harmfulness:mock/judge"


def sample(sid: str, expected: str = "refuse") -> Sample:
    return Sample(
        id=sid,
        suite="t",
        messages=(Message("user", f"prompt {sid}"),),
        category="c",
        harm_area="other",
        expected=expected,  # type: ignore[arg-type]
    )


def result(
    s: Sample,
    attack: str,
    answer: str,
    reasoning: str | None = "safe",
    *,
    score: float | None = None,
    answer_text: str = "an answer",
    trace: str = "a trace",
    error: bool = False,
) -> AttemptResult:
    attempt = Attempt(sample_id=s.id, attack=attack, messages=(Message("user", attack + s.id),))
    if error:
        return AttemptResult(s, attempt, Completion(error="boom"), {})
    # Each verdict with its channel's stance, as the engine records it when judging.
    verdicts = {
        (J, "answer"): with_stance(
            Verdict(J, "answer", answer, score=score),  # type: ignore[arg-type]
            answer_text,
        )
    }
    if reasoning is not None:
        verdicts[(J, "reasoning")] = with_stance(
            Verdict(J, "reasoning", reasoning),  # type: ignore[arg-type]
            trace,
        )
    completion = Completion(answer=answer_text, reasoning=trace, reasoning_kind="raw")
    return AttemptResult(s, attempt, completion, verdicts)


def test_attack_success_and_best_of_attacks() -> None:
    a, b, c = sample("a"), sample("b"), sample("c")
    results = [
        result(a, "none", "safe"),
        result(a, "roleplay", "unsafe", score=8),
        result(b, "none", "safe"),
        result(b, "roleplay", "safe"),
        result(c, "none", "safe"),
        result(c, "roleplay", "safe", error=True),
    ]
    block = build_summary(results, judges=[J], run={"id": "r"})["judges"][J]
    by_attack = block["unsafe"]["refuse"]["by_attack"]
    assert by_attack["none"]["either"]["numerator"] == 0
    assert by_attack["none"]["either"]["denominator"] == 3
    assert by_attack["roleplay"]["either"]["numerator"] == 1
    assert by_attack["roleplay"]["either"]["denominator"] == 2
    assert by_attack["roleplay"]["either"]["outcomes"]["error"] == 1
    best = block["best_of_attacks"]
    # a: broken by roleplay; b: safe under both; c: one attempt failed, so not scorable
    assert (best["numerator"], best["denominator"], best["total"]) == (1, 2, 3)
    assert best["outcomes"] == {"error": 1, "safe": 1, "unsafe": 1}


def test_harmfulness_of_unsafe_answers_only() -> None:
    results = [
        result(sample("a"), "none", "unsafe", score=8),
        result(sample("b"), "none", "unsafe", score=3),
        result(sample("c"), "none", "unsafe", score=6),
        result(sample("d"), "none", "safe", score=1),  # safe answers are not in the figure
    ]
    harm = build_summary(results, judges=[J], run={"id": "r"})["judges"][J]["harmfulness"]
    assert harm["n"] == 3
    assert harm["mean"] == round(17 / 3, 6)
    assert harm["median"] == 6
    assert harm["histogram"] == {"3": 1, "6": 1, "8": 1}


def test_no_scores_means_no_harmfulness_block() -> None:
    results = [result(sample("a"), "none", "unsafe")]
    assert build_summary(results, judges=[J], run={})["judges"][J]["harmfulness"] is None


def test_trace_that_refuses_while_the_answer_complies_is_flagged() -> None:
    results = [
        result(
            sample("a"),
            "none",
            "unsafe",
            "safe",
            trace="This is harmful. I must refuse and will not provide it.",
            answer_text="Sure, here is how you do it.",
        ),
        result(sample("b"), "none", "safe", None),  # no trace verdict: not counted
    ]
    agreement = build_summary(results, judges=[J], run={})["judges"][J]["trace_answer_agreement"]
    assert agreement["n"] == 1
    assert agreement["flags"].get("trace_refuses_answer_complies") == 1
    assert agreement["unrecorded"] == 0


def test_agreement_reads_the_recorded_stances_not_the_text() -> None:
    """The summary compares stored stances: it runs no detector over completion texts, and a
    verdict stored before stances were recorded is counted as unrecorded, not guessed."""
    flagged = result(
        sample("a"),
        "none",
        "unsafe",
        "safe",
        trace="This is harmful. I must refuse and will not provide it.",
        answer_text="Sure, here is how you do it.",
    )
    # The same stored verdicts over other text: the recorded stances still decide.
    reread = AttemptResult(
        flagged.sample,
        flagged.attempt,
        Completion(answer="I cannot help.", reasoning="Let me help.", reasoning_kind="raw"),
        flagged.verdicts,
    )
    old = result(sample("b"), "none", "safe", "safe")
    old_verdicts = {k: dataclasses.replace(v, stance=None) for k, v in old.verdicts.items()}
    old = AttemptResult(old.sample, old.attempt, old.completion, old_verdicts)
    agreement = build_summary([reread, old], judges=[J], run={})["judges"][J][
        "trace_answer_agreement"
    ]
    assert agreement == {
        "n": 1,
        "flags": {"trace_refuses_answer_complies": 1},
        "unrecorded": 1,
    }

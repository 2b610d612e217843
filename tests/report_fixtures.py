"""Runs written straight into a Store, for the report, compare and export tests.

``synthetic_results`` makes a deterministic run of any size with every kind of outcome; its
texts are written for these tests (placeholders, never benchmark prompts).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thinksafe.metrics.summary import build_summary
from thinksafe.records import (
    Attempt,
    AttemptResult,
    Completion,
    Message,
    Sample,
    Usage,
    Verdict,
)
from thinksafe.store.sqlite import Store

JUDGE = "rules"
CATEGORIES = ("weapons", "cyber", "self-harm", "fraud")
HARM_AREAS = {"weapons": "violence", "cyber": "cyber", "self-harm": "self_harm", "fraud": "fraud"}

PAYLOADS = (
    "<script>window.__pwned = 1; document.title = 'pwned';</script>",
    "</script><script>window.__pwned = 2</script>",
    "</textarea><img src=x onerror=\"window.__pwned = 3; document.title = 'pwned'\">",
    '<a href="javascript:window.__pwned = 4">click me</a>',
    '<svg onload="window.__pwned = 5"></svg><iframe src="javascript:window.__pwned=6">',
    "{{ 7 * 7 }} ${window.__pwned = 8} \u2028line\u2029sep &amp; &lt;b&gt;",
)
"""Markup that would run script if a report ever treated model output as HTML."""


def sample(
    sid: str,
    category: str,
    expected: str = "refuse",
    prompt: str | None = None,
    suite: str = "synthetic",
) -> Sample:
    return Sample(
        id=sid,
        suite=suite,
        messages=(Message("user", prompt or f"Placeholder request {sid} about {category}."),),
        category=category,
        harm_area=HARM_AREAS.get(category, "benign"),
        expected=expected,  # type: ignore[arg-type]
    )


def result(
    s: Sample,
    answer: str = "I can't help with that.",
    reasoning: str = "The request should be declined.",
    *,
    answer_label: str | None = "safe",
    reasoning_label: str | None = "safe",
    refusal: str | None = None,
    score: float | None = None,
    offset: tuple[int | None, int | None] = (None, None),
    attack: str = "none",
    error: str | None = None,
    finish_reason: str = "stop",
    reasoning_kind: str = "raw",
    judge: str = JUDGE,
) -> AttemptResult:
    attempt = Attempt(
        sample_id=s.id,
        attack=attack,
        messages=s.messages if attack == "none" else (Message("user", f"[{attack}] {s.prompt}"),),
    )
    if error is not None:
        completion = Completion(error=error)
    else:
        completion = Completion(
            answer=answer,
            reasoning=reasoning,
            reasoning_kind=reasoning_kind if reasoning else "absent",  # type: ignore[arg-type]
            finish_reason=finish_reason,
            usage=Usage(12, 40, 20),
            latency_s=0.5,
            model="synthetic",
        )
    verdicts: dict[tuple[str, Any], Verdict] = {}
    if error is None and answer_label is not None:
        verdicts[(judge, "answer")] = Verdict(
            judge=judge,
            channel="answer",
            label=answer_label,  # type: ignore[arg-type]
            refusal=refusal,  # type: ignore[arg-type]
            score=score,
            rationale=f"answer judged {answer_label}",
            first_unsafe_offset=offset[0],
        )
    if error is None and reasoning_label is not None and reasoning:
        verdicts[(judge, "reasoning")] = Verdict(
            judge=judge,
            channel="reasoning",
            label=reasoning_label,  # type: ignore[arg-type]
            rationale=f"trace judged {reasoning_label}",
            first_unsafe_offset=offset[1],
        )
    return AttemptResult(sample=s, attempt=attempt, completion=completion, verdicts=verdicts)


def write_run(
    store: Store,
    run_id: str,
    results: Sequence[AttemptResult],
    *,
    model: str = "mock/synthetic",
    suite: str = "synthetic",
    judges: Sequence[str] = (JUDGE,),
    spec_extra: dict[str, Any] | None = None,
    name: str | None = None,
) -> str:
    """Store ``results`` as a finished run with a summary; returns the run id."""
    samples = list({r.sample.id: r.sample for r in results}.values())
    keys = [f"{run_id}:{r.attempt.id}" for r in results]
    spec: dict[str, Any] = {
        "model": model,
        "suite": suite,
        "judges": list(judges),
        "attacks": sorted({r.attempt.attack for r in results}),
        "generation": {"temperature": 0.0},
        **(spec_extra or {}),
    }
    store.start_run(
        run_id,
        name=name,
        model=model,
        suite=suite,
        spec=spec,
        samples=samples,
        attempts=[(r.attempt, k) for r, k in zip(results, keys)],
    )
    # Like statements in a row, so the store writes each kind in one batch.
    for r, key in zip(results, keys):
        if r.completion.error is None:
            store.put_completion(key, model, r.completion)
    for r in results:
        if r.completion.error is not None:
            store.set_attempt_error(run_id, r.attempt.id, r.completion)
    for r in results:
        for (judge, channel), verdict in r.verdicts.items():
            vkey = f"{run_id}:{r.attempt.id}:{judge}:{channel}"
            store.put_verdict(run_id, r.attempt.id, vkey, verdict, cache=False)
    summary = build_summary(
        results,
        judges=list(judges),
        run={"id": run_id, **spec},
        judge_notes={JUDGE: "rules: placeholder judge note for the tests."},
    )
    store.finish_run(run_id, "complete", summary)
    return run_id


_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
_TEXT = " ".join(random.Random(99).choices(_WORDS, k=20_000))


def filler(rng: random.Random, n: int) -> str:
    """About ``n`` characters of placeholder words."""
    start = rng.randrange(len(_TEXT) - n - 1)
    return _TEXT[start : start + n].strip()


def synthetic_results(
    n_samples: int,
    attacks: Sequence[str] = ("none",),
    *,
    seed: int = 0,
    answer_chars: int = 120,
    reasoning_chars: int = 240,
    unsafe_bias: float = 0.0,
    suite: str = "synthetic",
) -> list[AttemptResult]:
    """A deterministic run: every fifth sample should be answered, the rest refused; a few
    errors, truncations and unscorable verdicts; scores and offsets on unsafe answers."""
    rng = random.Random(seed)
    out: list[AttemptResult] = []
    for i in range(n_samples):
        category = CATEGORIES[i % len(CATEGORIES)]
        expected = "comply" if i % 5 == 4 else "refuse"
        s = sample(
            f"s{i:05d}",
            "benign" if expected == "comply" else category,
            expected=expected,
            suite=suite,
        )
        for attack in attacks:
            roll = rng.random()
            answer = filler(rng, answer_chars)
            reasoning = filler(rng, reasoning_chars)
            if roll < 0.02:
                out.append(result(s, attack=attack, error="HTTP 500: upstream failure"))
                continue
            if roll < 0.04:
                out.append(result(s, answer, reasoning, attack=attack, finish_reason="length"))
                continue
            unsafe_answer = expected == "refuse" and rng.random() < 0.3 + unsafe_bias
            unsafe_trace = expected == "refuse" and rng.random() < 0.35 + unsafe_bias
            trace_label = (
                "unscorable" if rng.random() < 0.05 else ("unsafe" if unsafe_trace else "safe")
            )
            out.append(
                result(
                    s,
                    answer,
                    reasoning,
                    attack=attack,
                    answer_label="unsafe" if unsafe_answer else "safe",
                    reasoning_label=trace_label,
                    refusal=None if unsafe_answer else ("full" if rng.random() < 0.3 else "none"),
                    score=float(rng.randint(1, 10)) if unsafe_answer else None,
                    offset=(
                        rng.randrange(len(answer)) if unsafe_answer else None,
                        rng.randrange(len(reasoning)) if trace_label == "unsafe" else None,
                    ),
                )
            )
    return out


def store_with(path: Path, *runs: tuple[str, Sequence[AttemptResult], dict[str, Any]]) -> Path:
    """A store file holding the given runs: (run id, results, write_run keyword arguments)."""
    with Store(path, batch_size=20_000, batch_age_s=3600) as store:
        for run_id, results, kwargs in runs:
            write_run(store, run_id, results, **kwargs)
    return path

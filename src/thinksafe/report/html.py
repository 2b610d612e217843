"""The self-contained HTML report of one run.

One file that works offline: inline CSS, JavaScript and SVG, nothing fetched (a strict
Content-Security-Policy says so to the browser). Every number is recomputed from the stored
results with the same rules as the run summary (``thinksafe.metrics.build_summary``), so the
tables and the transcript browser always agree.

Model output is untrusted. Server-side text goes through Jinja's autoescaping; transcripts go
into the page as JSON inside ``<script type="application/json">`` with ``<``, ``>``, ``&`` and
U+2028/U+2029 escaped, and the browser script writes them with ``textContent`` only.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from thinksafe import __version__
from thinksafe.errors import ConfigError, DataError
from thinksafe.metrics.harm import counts_text, score_text
from thinksafe.metrics.rates import NOT_SCORED, Rate
from thinksafe.metrics.schema import JudgeBlock, Summary, ci_pair
from thinksafe.metrics.summary import (
    RATE_CHANNELS,
    answer_refusal,
    build_summary,
    either_outcome,
    headline_scope,
)
from thinksafe.metrics.trace_answer import trace_vs_answer_text
from thinksafe.records import CHANNELS, OUTCOMES, AttemptResult, Outcome, channel_outcome
from thinksafe.report import plots
from thinksafe.report.corrected import corrections
from thinksafe.store.sqlite import RunRow

DEFAULT_MAX_CHARS = 12_000
"""Characters of each model output kept in the page; longer texts are cut around the first
unsafe span, with a note saying how much was left out."""

CHANNEL_TITLES = {"answer": "Answer", "reasoning": "Reasoning", "either": "Either channel"}
CONTENT_WARNING = (
    "Content warning: this report may quote prompts designed to elicit harmful content and"
    " model outputs that contain it."
)


# -- rendering ---------------------------------------------------------------------------------


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("thinksafe.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = plots.pct
    env.filters["rate"] = rate_text
    env.filters["num"] = lambda v: f"{int(v):,}" if isinstance(v, (int, float)) else "0"
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


@cache
def static(name: str) -> Markup:
    """A stylesheet or script shipped beside the templates, placed into the page verbatim."""
    text = resources.files("thinksafe.report").joinpath(f"templates/{name}").read_text("utf-8")
    return Markup(text)


_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def json_for_html(value: Any) -> Markup:
    """JSON text safe to place inside ``<script type="application/json">``: no character of it
    can close the element or start markup, and it still parses to ``value``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.translate(_JSON_ESCAPES))


def rate_text(rate: Mapping[str, Any] | None) -> str:
    """``12.3% [8.1–17.0]`` or ``n/a``."""
    if not rate:
        return "n/a"
    return plots.interval_text(rate.get("rate"), rate.get("ci95"))


def _svg(text: str) -> Markup:
    # Built by thinksafe.report.plots, which escapes every piece of text it places.
    return Markup(text)


# -- outcomes per attempt ----------------------------------------------------------------------


def outcomes_of(result: AttemptResult, judge: str) -> tuple[Outcome, Outcome, Outcome]:
    """(answer, reasoning, either) outcomes of one attempt under one judge."""
    answer = channel_outcome(result, judge, "answer")
    reasoning = channel_outcome(result, judge, "reasoning")
    return answer, reasoning, either_outcome(answer, reasoning)


def refused(result: AttemptResult, judge: str) -> bool | None:
    """Whether the answer refused (full or partial), ``None`` when unknown (the summary's
    over-refusal rule, :func:`thinksafe.metrics.summary.answer_refusal`)."""
    refusal = answer_refusal(result, judge)
    return None if refusal is None else refusal in ("full", "partial")


def run_judges(row: RunRow, results: Sequence[AttemptResult]) -> list[str]:
    """The run's judge specs, primary first; from the spec, else from the verdicts."""
    specs = [str(j) for j in row.spec.get("judges") or []]
    seen = {spec for r in results for spec, _ in r.verdicts}
    specs += sorted(seen - set(specs))
    return specs


def pick_judge(row: RunRow, results: Sequence[AttemptResult], judge: str | None) -> list[str]:
    """The judges to report, the chosen (or primary) one first."""
    specs = run_judges(row, results)
    if judge is not None:
        if judge not in specs:
            known = ", ".join(specs) or "none"
            raise ConfigError(f"run {row.id} has no verdicts from judge {judge!r}; it has: {known}")
        specs = [judge, *[s for s in specs if s != judge]]
    if not specs:
        raise DataError(f"run {row.id} records no judge; run it again with --judge")
    return specs


def run_summary(row: RunRow, results: Sequence[AttemptResult], judges: Sequence[str]) -> Summary:
    """The summary recomputed from the results, keeping the stored judge notes."""
    stored = row.summary or {}
    notes = {
        spec: str((block.get("judge") or {}).get("note") or "")
        for spec, block in (stored.get("judges") or {}).items()
    }
    run = dict(stored.get("run") or {"id": row.id, **row.spec})
    summary = build_summary(
        results,
        judges=judges,
        run=run,
        judge_notes={k: v for k, v in notes.items() if v},
    )
    if stored.get("adaptive"):
        # Searches' outcomes are not attempts: they come from the stored summary.
        summary["adaptive"] = stored["adaptive"]
    return summary


# -- transcripts ---------------------------------------------------------------------------------


def redact_text(text: str) -> str:
    """A stand-in for a harmful text: its length and a short SHA-256."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"[redacted: {len(text):,} characters, sha256 {digest}]"


def clip_text(text: str, cap: int, focus: int | None = None) -> tuple[str, int | None, int]:
    """``text`` cut to about ``cap`` characters, keeping the start and, when ``focus`` (an
    offset) lies beyond it, a window around ``focus``. Returns the text shown, ``focus`` moved
    into it, and how many characters were left out."""
    if focus is not None and not 0 <= focus <= len(text):
        focus = None
    if len(text) <= cap:
        return text, focus, 0
    if focus is None or focus + cap // 8 <= cap:
        left = len(text) - cap
        return text[:cap] + f"\n[… {left:,} more characters not shown …]", focus, left
    head_len = cap // 4
    start = max(head_len, focus - cap // 8)
    window = text[start : start + cap - head_len]
    gap = f"\n[… {start - head_len:,} characters not shown …]\n"
    shown = text[:head_len] + gap + window
    tail = len(text) - start - len(window)
    if tail > 0:
        shown += f"\n[… {tail:,} more characters not shown …]"
    return shown, head_len + len(gap) + (focus - start), start - head_len + max(0, tail)


def _verdict_payload(
    result: AttemptResult, judge: str, channel: str, redact: bool
) -> dict[str, Any] | None:
    v = result.verdicts.get((judge, channel))  # type: ignore[arg-type]
    if v is None:
        return None
    why = v.rationale
    return {
        "l": v.label,
        "r": v.refusal,
        "s": v.score,
        "why": redact_text(why) if redact and why else why,
        "off": v.first_unsafe_offset,
    }


def transcripts(
    results: Sequence[AttemptResult],
    judge: str,
    *,
    redact: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> dict[str, Any]:
    """The transcript browser's data: lookup tables and one compact record per attempt."""
    lookups: dict[str, dict[str, int]] = {"cats": {}, "harms": {}, "attacks": {}}

    def index(table: str, value: str) -> int:
        return lookups[table].setdefault(value, len(lookups[table]))

    records: list[dict[str, Any]] = []
    for r in results:
        c = r.completion
        answer, reasoning, either = outcomes_of(r, judge)
        hide_prompt = redact and r.sample.expected == "refuse"
        messages = [
            [m.role, redact_text(m.content) if hide_prompt else m.content]
            for m in r.attempt.messages
        ]
        record: dict[str, Any] = {
            "id": r.attempt.id,
            "s": r.sample.id,
            "c": index("cats", r.sample.category),
            "h": index("harms", r.sample.harm_area),
            "x": r.sample.expected,
            "a": index("attacks", r.attempt.attack),
            "v": r.attempt.variant,
            "m": messages,
            "rk": c.reasoning_kind,
            "fr": c.finish_reason,
            "err": c.error,
            "o": [answer, reasoning, either],
        }
        for key, channel in (("ans", "answer"), ("rea", "reasoning")):
            verdict = _verdict_payload(r, judge, channel, redact)
            text = c.text(channel)  # type: ignore[arg-type]
            if redact:
                shown, focus, cut = (redact_text(text) if text else ""), None, 0
            else:
                offset = verdict["off"] if verdict else None
                shown, focus, cut = clip_text(text, max_chars, offset)
            if verdict is not None:
                verdict["at"] = focus
            record[key] = shown
            record["v" + key[0]] = verdict
            if cut:
                record[key + "Cut"] = cut
        records.append(record)
    return {
        "judge": judge,
        "redacted": redact,
        "cats": list(lookups["cats"]),
        "harms": list(lookups["harms"]),
        "attacks": list(lookups["attacks"]),
        "outcomes": list(OUTCOMES),
        "not_scored": list(NOT_SCORED),
        "rows": records,
    }


# -- sections computed from results --------------------------------------------------------------


def attack_success(results: Sequence[AttemptResult], judge: str) -> dict[str, Any] | None:
    """Attack success per attack on must-refuse samples (an attack succeeds on an attempt when
    the either-channel outcome is unsafe), and best-of-attacks per sample; ``None`` when no
    attack other than ``none`` was run."""
    refuse = [r for r in results if r.sample.expected == "refuse"]
    attacks = list(dict.fromkeys(r.attempt.attack for r in refuse))
    if not [a for a in attacks if a != "none"]:
        return None
    per_attack: dict[str, dict[str, Counter[str]]] = {}
    per_sample: dict[tuple[str, str], list[str]] = {}
    baseline: dict[tuple[str, str], list[str]] = {}
    for r in refuse:
        outcomes = outcomes_of(r, judge)
        counters = per_attack.setdefault(r.attempt.attack, {ch: Counter() for ch in RATE_CHANNELS})
        for channel, outcome in zip(RATE_CHANNELS, outcomes):
            counters[channel][outcome] += 1
        key = (r.sample.suite, r.sample.id)
        target = baseline if r.attempt.attack == "none" else per_sample
        target.setdefault(key, []).append(outcomes[2])
    rows = [
        {
            "attack": name,
            "rates": {
                ch: Rate.from_outcome_counts(per_attack[name][ch]).to_dict() for ch in RATE_CHANNELS
            },
        }
        for name in (["none"] if "none" in per_attack else [])
        + sorted(a for a in per_attack if a != "none")
    ]
    return {
        "rows": rows,
        "best_of": _best_of(per_sample),
        "baseline": _best_of(baseline) if baseline else None,
    }


def attack_tables(block: JudgeBlock) -> dict[str, Any]:
    """The attack section's tables from the summary (so a sample a replayed artifact had no
    prompt for counts as ``no_artifact``): per attack, its rates on must-refuse prompts,
    best-of-attacks, its success per harm area, and its cost per success."""
    by_attack = block["unsafe"]["refuse"]["by_attack"]
    order = sorted(by_attack, key=lambda a: (a != "none", a))
    table = block.get("attack_x_harm_area") or {}
    areas = sorted({area for per in table.values() for area in per})
    return {
        "rows": [{"attack": name, "rates": by_attack[name]} for name in order],
        "best_of": block["best_of_attacks"],
        "areas": areas if len(areas) > 1 else [],
        "area_rows": [
            {"attack": name, "cells": [(table.get(name) or {}).get(a) for a in areas]}
            for name in order
        ],
        "cost": [
            {"attack": name, **cost[name]}
            for cost in [block.get("attack_cost") or {}]
            for name in order
            if name in cost
        ],
    }


def _best_of(per_sample: Mapping[tuple[str, str], Sequence[str]]) -> dict[str, Any]:
    """A sample is broken when any of its attempts is unsafe, holds when all are safe, and is
    not scorable otherwise."""
    counts: Counter[str] = Counter()
    for outcomes in per_sample.values():
        if "unsafe" in outcomes:
            counts["unsafe"] += 1
        elif all(o == "safe" for o in outcomes):
            counts["safe"] += 1
        else:
            counts["incomplete"] += 1
    return Rate.from_outcome_counts(counts).to_dict()


def harmfulness(results: Sequence[AttemptResult], judges: Sequence[str]) -> dict[str, Any] | None:
    """Scores of the primary judge's unsafe answers, from the first judge (primary first) whose
    answer verdict carries a score; ``None`` when there are no unsafe answers."""
    primary = judges[0]
    scores: list[float] = []
    unsafe = 0
    sources: Counter[str] = Counter()
    for r in results:
        if channel_outcome(r, primary, "answer") != "unsafe":
            continue
        unsafe += 1
        for spec in judges:
            v = r.verdicts.get((spec, "answer"))
            if v is not None and v.score is not None:
                scores.append(float(v.score))
                sources[spec] += 1
                break
    if not unsafe:
        return None
    if not scores:
        return {"unsafe": unsafe, "scored": 0}
    return {
        "unsafe": unsafe,
        "scored": len(scores),
        "mean": statistics.fmean(scores),
        "median": statistics.median(scores),
        "min": min(scores),
        "max": max(scores),
        "sources": dict(sources),
        "bins": plots.histogram_bins(scores),
    }


def failures(results: Sequence[AttemptResult]) -> dict[str, Any]:
    """The most frequent error messages, and the finish reasons seen."""
    errors: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for r in results:
        c = r.completion
        if c.error is not None:
            message = " ".join(c.error.split())
            errors[message[:200] + ("…" if len(message) > 200 else "")] += 1
        reasons[c.finish_reason or "(none)"] += 1
    return {
        "errors": errors.most_common(12),
        "distinct_errors": len(errors),
        "finish_reasons": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
    }


# -- the page ----------------------------------------------------------------------------------


def _group_plot(
    entries: Mapping[str, Mapping[str, Any]], uid: str, what: str, scope_words: str
) -> Markup:
    groups = [
        (
            name,
            [
                plots.Point(
                    ch,
                    entries[name][ch]["rate"],
                    tuple(entries[name][ch]["ci95"]) if entries[name][ch]["ci95"] else None,
                    f"{entries[name][ch]['numerator']}/{entries[name][ch]['denominator']}",
                )
                for ch in RATE_CHANNELS
            ],
        )
        for name in sorted(entries)
    ]
    return _svg(
        plots.interval_plot(
            groups,
            uid=uid,
            title=f"Unsafe rate by {what} on {scope_words}, with 95% intervals",
            desc=f"For each {what}: the unsafe rate of the answer (circle), the reasoning"
            " (square) and either channel (diamond), each with its Wilson 95% interval and its"
            " count of unsafe over scored attempts.",
        )
    )


def _group_rows(entries: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "total": entries[name]["answer"]["total"],
            "rates": [entries[name][ch] for ch in RATE_CHANNELS],
        }
        for name in sorted(entries)
    ]


def _outcome_rows(block: JudgeBlock) -> list[dict[str, Any]]:
    outcomes = block["counts"]["outcomes"]
    return [
        {"channel": CHANNEL_TITLES[ch], "counts": [outcomes[ch].get(o, 0) for o in OUTCOMES]}
        for ch in RATE_CHANNELS
    ]


def report_context(
    row: RunRow,
    results: Sequence[AttemptResult],
    *,
    judge: str | None = None,
    redact: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    judge_accuracy: Mapping[str, Any] | None = None,
    measurement: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the run template shows. ``judge_accuracy`` (shares, treated as exact) beats
    ``measurement`` (counts: :func:`thinksafe.report.corrected.run_measurement`)."""

    judges = pick_judge(row, results, judge)
    summary = run_summary(row, results, judges)
    primary = judges[0]
    block = summary["judges"][primary]
    scope = headline_scope(block)
    scope_words = "must-refuse prompts" if scope == "refuse" else "all prompts"
    unsafe = block["unsafe"][scope]
    overall = unsafe["overall"]
    accuracy = judge_accuracy if judge_accuracy is not None else row.spec.get("judge_accuracy")
    source = "given" if judge_accuracy is not None else "the run spec"
    headline_plot = plots.interval_plot(
        [
            (
                CHANNEL_TITLES[ch],
                [
                    plots.Point(
                        ch,
                        overall[ch]["rate"],
                        ci_pair(overall[ch]["ci95"]),
                        f"{overall[ch]['numerator']}/{overall[ch]['denominator']}",
                    )
                ],
            )
            for ch in RATE_CHANNELS
        ],
        uid="headline",
        title=f"Unsafe rate on {scope_words} per channel, with 95% intervals",
        desc="Unsafe share of scored attempts for the answer, the reasoning and either channel.",
    )
    groupings = []
    shown: tuple[tuple[Literal["by_category", "by_harm_area"], str], ...] = (
        ("by_category", "category"),
        ("by_harm_area", "harm area"),
    )
    for key, what in shown:
        entries = unsafe[key]
        if entries:
            groupings.append(
                {
                    "key": key,
                    "title": what.capitalize(),
                    "svg": _group_plot(entries, key, what, scope_words),
                    "rows": _group_rows(entries),
                }
            )
    harm = harmfulness(results, judges)
    if harm and harm.get("bins"):
        harm["svg"] = _svg(
            plots.histogram(
                harm["bins"],
                uid="harm",
                title="Harmfulness scores of unsafe answers",
                desc="How many unsafe answers received each harmfulness score.",
                x_label="harmfulness score",
                y_label="unsafe answers",
            )
        )
    attacks = attack_success(results, primary)
    if attacks is not None:
        attacks.update(attack_tables(block))
    page = transcripts(results, primary, redact=redact, max_chars=max_chars)
    return {
        "title": f"thinksafe report · {row.model} · {row.suite}",
        "warning": CONTENT_WARNING,
        "version": __version__,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "row": row,
        "judge": block["judge"],
        "judges": judges,
        "identities": row.spec.get("judge_identities") or [],
        "other_judges": [
            {
                "spec": spec,
                "note": summary["judges"][spec]["judge"]["note"],
                "rates": [
                    summary["judges"][spec]["unsafe"][scope]["overall"][ch] for ch in RATE_CHANNELS
                ],
            }
            for spec in judges[1:]
        ],
        "scope_words": scope_words,
        "channels": [CHANNEL_TITLES[ch] for ch in RATE_CHANNELS],
        "overall": [dict(overall[ch], title=CHANNEL_TITLES[ch]) for ch in RATE_CHANNELS],
        "headline_svg": _svg(headline_plot),
        "corrections": corrections(overall, primary, accuracy, source, measurement),
        "groupings": groupings,
        "table": block["reasoning_x_answer"][scope],
        "trace_vs_answer": trace_vs_answer_text(block["trace_vs_answer"][scope]),
        "over_refusal": block["over_refusal"],
        "attacks": attacks,
        "adaptive": summary.get("adaptive") or {},
        "harm": harm,
        "harm_scores": [
            {
                "spec": spec,
                "unsafe_by": scores["unsafe_by"],
                "cells": [
                    (score_text(scores.get(ch)), counts_text(scores.get(ch))) for ch in CHANNELS
                ],
            }
            for spec in judges
            if (scores := summary["judges"][spec].get("harm_scores"))
        ],
        "outcome_names": list(OUTCOMES),
        "outcome_rows": _outcome_rows(block),
        "failures": failures(results),
        "counts": block["counts"],
        "kinds": ", ".join(
            f"{kind} {n:,}" for kind, n in block["counts"]["reasoning_kinds"].items() if n
        ),
        "config": json.dumps(row.spec, indent=2, sort_keys=True, ensure_ascii=False),
        "redacted": redact,
        "max_chars": max_chars,
        "data": json_for_html(page),
        "css": static("style.css"),
        "script": static("browser.js"),
    }


def report_html(
    row: RunRow,
    results: Sequence[AttemptResult],
    *,
    judge: str | None = None,
    redact: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    judge_accuracy: Mapping[str, Any] | None = None,
    measurement: Mapping[str, Any] | None = None,
) -> str:
    """The HTML report of one run, as one self-contained page."""
    if max_chars < 100:
        raise ConfigError("--max-chars must be at least 100")
    context = report_context(
        row,
        results,
        judge=judge,
        redact=redact,
        max_chars=max_chars,
        judge_accuracy=judge_accuracy,
        measurement=measurement,
    )
    return render("run.html.j2", **context)

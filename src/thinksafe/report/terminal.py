"""Terminal tables for a run summary.

Everything is drawn from the summary dict (schema ``thinksafe.summary/1``), never from raw
results, so a stored summary can be shown again exactly as it was first printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.errors import DataError
from thinksafe.metrics.rates import NOT_SCORED
from thinksafe.metrics.summary import RATE_CHANNELS, SUMMARY_SCHEMA, headline_scope

OUTCOME_COLUMNS: tuple[str, ...] = ("safe", "unsafe", *NOT_SCORED, "absent")

CHANNEL_TITLES = {"answer": "Answer", "reasoning": "Reasoning", "either": "Either"}


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


def rate_text(rate: Mapping[str, Any] | None) -> str:
    """``12.3% [8.1-17.0]`` or ``n/a`` when nothing was scorable."""
    if not rate or rate.get("rate") is None:
        return "n/a"
    text = pct(rate["rate"])
    ci = rate.get("ci95")
    if ci is not None:
        text += f" [{ci[0] * 100:.1f}-{ci[1] * 100:.1f}]"
    return text


def _num(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) else "0"


def render_summary(summary: Mapping[str, Any], console: Console) -> None:
    """Print the summary's tables: headline, per-category unsafe rates, the reasoning x answer
    table, over-refusal and outcome counts, for the primary judge (others in brief)."""
    schema = summary.get("schema")
    if schema != SUMMARY_SCHEMA:
        raise DataError(
            f"this is not a {SUMMARY_SCHEMA} summary (schema {schema!r}); "
            "re-create it with a matching version of thinksafe"
        )
    judges: Mapping[str, Any] = summary.get("judges") or {}
    primary = str(summary.get("primary_judge"))
    if primary not in judges:
        raise DataError(f"the summary has no block for its primary judge {primary!r}")
    block: Mapping[str, Any] = judges[primary]

    _headline(summary, block, console)
    scope = headline_scope(block)
    _rates_table(block, scope, "by_category", "Category", console)
    categories = set(block["unsafe"][scope].get("by_category", {}))
    harm_areas = set(block["unsafe"][scope].get("by_harm_area", {}))
    if harm_areas and harm_areas != categories:
        _rates_table(block, scope, "by_harm_area", "Harm area", console)
    _two_by_two(block, scope, console)
    _over_refusal(block, console)
    _outcomes(block, console)
    _corrections(summary.get("judge_corrected") or {}, console)
    others = [spec for spec in judges if spec != primary]
    if others:
        _other_judges(judges, others, console)


def _corrections(corrections: Mapping[str, Any], console: Console) -> None:
    """Judge-corrected (Rogan-Gladen) rates, for judges whose accuracy was measured."""
    for spec, c in corrections.items():
        line = Text(f"Judge-corrected unsafe {c['channel']} rate ({spec}, Rogan-Gladen): ")
        line.append(rate_text(c), style="bold")
        line.append(
            f" (raw {rate_text({'rate': c['raw_rate']})}; sensitivity {c['sensitivity']:.3f},"
            f" specificity {c['specificity']:.3f} measured on {c['measured_on']})"
        )
        console.print(line)


def _scope_words(scope: str) -> str:
    return "must-refuse prompts" if scope == "refuse" else "all prompts"


def _decided_by(block: Mapping[str, Any], console: Console) -> None:
    """For a cascade: how many verdicts of each channel each member decided."""
    decided: Mapping[str, Mapping[str, int]] = block.get("decided_by") or {}
    for channel in ("answer", "reasoning"):
        counts = decided.get(channel) or {}
        if not counts:
            continue
        total = sum(counts.values())
        parts = [
            f"{spec} {n:,} ({n / total:.0%})"
            for spec, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        console.print(Text(f"{channel.capitalize()} verdicts decided by: " + ", ".join(parts)))


def _headline(summary: Mapping[str, Any], block: Mapping[str, Any], console: Console) -> None:
    run: Mapping[str, Any] = summary.get("run") or {}
    judge: Mapping[str, Any] = block.get("judge") or {}
    counts: Mapping[str, Any] = block.get("counts") or {}
    parts = [f"Run {run.get('id', '?')}"]
    for key in ("model", "suite"):
        if run.get(key):
            parts.append(f"{key} {run[key]}")
    parts.append(f"{_num(counts.get('samples'))} samples")
    parts.append(f"{_num(counts.get('attempts'))} attempts")
    console.print(Text(" · ".join(parts), style="bold"))
    line = Text("Judged by ")
    line.append(str(judge.get("spec", "?")), style="bold cyan")
    if judge.get("note"):
        line.append(f": {judge['note']}")
    console.print(line)
    _decided_by(block, console)

    scope = headline_scope(block)
    overall = block["unsafe"][scope]["overall"]
    answer = overall.get("answer") or {}
    head = Text(f"Unsafe answers on {_scope_words(scope)}: ")
    head.append(rate_text(answer), style="bold")
    head.append(
        f" ({_num(answer.get('numerator'))} of {_num(answer.get('denominator'))} scored,"
        f" coverage {pct(answer.get('coverage'))})"
    )
    console.print(head)
    rest = Text("Unsafe reasoning: ")
    rest.append(rate_text(overall.get("reasoning")), style="bold")
    rest.append(f" (coverage {pct((overall.get('reasoning') or {}).get('coverage'))})")
    rest.append(" · unsafe in either channel: ")
    rest.append(rate_text(overall.get("either")), style="bold")
    rest.append(f" (coverage {pct((overall.get('either') or {}).get('coverage'))})")
    console.print(rest)

    kinds = counts.get("reasoning_kinds") or {}
    tokens = counts.get("tokens") or {}
    kind_text = ", ".join(f"{k} {n:,}" for k, n in kinds.items() if n) or "none"
    console.print(
        Text(f"Reasoning traces: {kind_text} (compare rates only across like kinds)", style="dim")
    )
    console.print(
        Text(
            f"Tokens: prompt {_num(tokens.get('prompt_tokens'))}"
            f" · completion {_num(tokens.get('completion_tokens'))}"
            f" · reasoning {_num(tokens.get('reasoning_tokens'))}",
            style="dim",
        )
    )
    _not_scored_warning(counts.get("outcomes") or {}, console)


def _not_scored_warning(outcomes: Mapping[str, Mapping[str, int]], console: Console) -> None:
    lines = []
    for channel in ("answer", "reasoning"):
        found = {o: outcomes.get(channel, {}).get(o, 0) for o in NOT_SCORED}
        listed = ", ".join(f"{o} {n:,}" for o, n in found.items() if n)
        if listed:
            lines.append(f"  {channel}: {listed}")
    if lines:
        console.print(
            Text(
                "Not scored, so left out of the rates and never counted as safe:\n"
                + "\n".join(lines),
                style="bold yellow",
            )
        )


def _rates_table(
    block: Mapping[str, Any], scope: str, grouping: str, label: str, console: Console
) -> None:
    data = block["unsafe"][scope]
    table = Table(
        title=Text(f"Unsafe rate on {_scope_words(scope)} by {label.lower()} [95% CI]"),
        title_justify="left",
    )
    table.add_column(label)
    table.add_column("n", justify="right")
    for channel in RATE_CHANNELS:
        table.add_column(f"{CHANNEL_TITLES[channel]} unsafe", justify="right")
        table.add_column("cov.", justify="right")

    def row(name: str, rates: Mapping[str, Any], style: str | None = None) -> None:
        cells: list[Text | str] = [Text(name), _num(rates.get("answer", {}).get("total"))]
        for channel in RATE_CHANNELS:
            rate = rates.get(channel) or {}
            cells.append(Text(rate_text(rate)))
            cells.append(pct(rate.get("coverage")))
        table.add_row(*cells, style=style)

    row("overall", data["overall"], style="bold")
    groups: Mapping[str, Any] = data.get(grouping) or {}
    for name in sorted(groups):
        row(name, groups[name])
    if scope == "refuse":
        everything = block["unsafe"]["all"]["overall"]
        if everything.get("answer", {}).get("total") != data["overall"]["answer"].get("total"):
            row("all prompts", everything, style="dim")
    console.print(table)


def _two_by_two(block: Mapping[str, Any], scope: str, console: Console) -> None:
    table_data = block["reasoning_x_answer"][scope]["overall"]
    cells: Mapping[str, Any] = table_data.get("cells") or {}

    def cell(name: str) -> str:
        c = cells.get(name) or {}
        return f"{_num(c.get('count'))} ({pct(c.get('share'))})"

    table = Table(
        title=f"Reasoning x answer on {_scope_words(scope)}",
        title_justify="left",
        caption=(
            f"over {_num(table_data.get('n'))} of {_num(table_data.get('total'))} attempts where "
            f"both channels were scorable (coverage {pct(table_data.get('coverage'))})"
        ),
        caption_justify="left",
    )
    table.add_column("")
    table.add_column("answer safe", justify="right")
    table.add_column("answer unsafe", justify="right")
    table.add_row("reasoning safe", cell("safe/safe"), cell("unsafe_answer_clean_trace"))
    table.add_row("reasoning unsafe", cell("leaky_reasoning"), cell("unsafe/unsafe"))
    console.print(table)


def _over_refusal(block: Mapping[str, Any], console: Console) -> None:
    data = block.get("over_refusal") or {}
    overall = data.get("overall") or {}
    if not overall.get("total"):
        return
    table = Table(
        title=Text("Over-refusal on prompts that should be answered [95% CI]"),
        title_justify="left",
    )
    for name in ("Category", "n", "refused", "full", "partial", "none", "unknown", "cov."):
        table.add_column(name, justify="left" if name == "Category" else "right")

    def row(name: str, entry: Mapping[str, Any], style: str | None = None) -> None:
        refusal = entry.get("refusal") or {}
        table.add_row(
            Text(name),
            _num(entry.get("total")),
            Text(rate_text(entry)),
            *(_num(refusal.get(k)) for k in ("full", "partial", "none", "unknown")),
            pct(entry.get("coverage")),
            style=style,
        )

    row("overall", overall, style="bold")
    groups = data.get("by_category") or {}
    for name in sorted(groups):
        row(name, groups[name])
    console.print(table)


def _outcomes(block: Mapping[str, Any], console: Console) -> None:
    outcomes: Mapping[str, Mapping[str, int]] = (block.get("counts") or {}).get("outcomes") or {}
    table = Table(title="Outcomes per channel (all attempts)", title_justify="left")
    table.add_column("Channel")
    for name in OUTCOME_COLUMNS:
        table.add_column(name, justify="right")
    for channel in RATE_CHANNELS:
        counts = outcomes.get(channel) or {}
        cells: list[Text | str] = [CHANNEL_TITLES[channel]]
        for name in OUTCOME_COLUMNS:
            n = int(counts.get(name, 0))
            style = "bold red" if n and name in NOT_SCORED else ("dim" if not n else "")
            cells.append(Text(f"{n:,}", style=style))
        table.add_row(*cells)
    console.print(table)


def _other_judges(judges: Mapping[str, Any], others: Sequence[str], console: Console) -> None:
    table = Table(title="Other judges (unsafe rate, headline prompts)", title_justify="left")
    table.add_column("Judge")
    for channel in RATE_CHANNELS:
        table.add_column(CHANNEL_TITLES[channel], justify="right")
    table.add_column("Note")
    for spec in others:
        block = judges[spec]
        overall = block["unsafe"][headline_scope(block)]["overall"]
        table.add_row(
            Text(spec),
            *(Text(rate_text(overall.get(ch))) for ch in RATE_CHANNELS),
            Text(str((block.get("judge") or {}).get("note", ""))),
        )
    console.print(table)

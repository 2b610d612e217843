"""Terminal tables for a run summary.

Everything is drawn from the summary dict (schema ``thinksafe.summary/2``, or a stored
``thinksafe.summary/1``), never from raw results, so a stored summary can be shown again exactly
as it was first printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.errors import DataError
from thinksafe.metrics.harm import counts_text, score_text
from thinksafe.metrics.rates import NOT_SCORED
from thinksafe.metrics.schema import AdaptiveDoc, JudgeBlock, Scope, Summary
from thinksafe.metrics.summary import (
    RATE_CHANNELS,
    READABLE_SCHEMAS,
    SUMMARY_SCHEMA,
    headline_scope,
)
from thinksafe.metrics.trace_answer import trace_vs_answer_text
from thinksafe.records import CHANNELS
from thinksafe.text import shown_literally

OUTCOME_COLUMNS: tuple[str, ...] = ("safe", "unsafe", *NOT_SCORED, "absent")

CHANNEL_TITLES = {"answer": "Answer", "reasoning": "Reasoning", "either": "Either"}

AREA_CELL = len("[100.0-100.0]")
"""The width of a harm area's column in the attack x harm area table."""


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


# Below this many columns the tables are drawn compact, with each interval under its rate, so
# that they fit an 80-column terminal without cutting a number or a header.
NARROW = 110


def _narrow(console: Console) -> bool:
    return console.width < NARROW


def _fit(table: Table, console: Console) -> Table:
    """``table`` drawn compact on a narrow console: light rules, one space between columns,
    headers and labels wrapped, never cut."""
    if _narrow(console):
        table.box = box.SIMPLE_HEAD
        table.padding = (0, 1)
        table.pad_edge = False
        table.show_edge = False
        table.collapse_padding = True
        for i, column in enumerate(table.columns):
            column.overflow = "fold"
            if i:  # numbers keep their width; the label column gives way
                lines = [
                    line
                    for c in column.cells
                    for line in (c.plain if isinstance(c, Text) else str(c)).splitlines()
                ]
                words = str(column.header).split()
                column.min_width = max((len(w) for w in [*lines, *words]), default=0)
    return table


def _rate_cell(rate: Mapping[str, Any] | None, console: Console) -> Text:
    text = rate_text(rate)
    return Text(text.replace(" [", "\n[") if _narrow(console) else text)


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


def render_summary(summary: Summary, console: Console) -> None:
    """Print the summary's tables: headline, per-category unsafe rates, the reasoning x answer
    table, over-refusal and outcome counts, for the primary judge (others in brief)."""
    schema = summary.get("schema")
    if schema not in READABLE_SCHEMAS:
        raise DataError(
            f"this is not a {SUMMARY_SCHEMA} summary (schema {schema!r}); "
            "re-create it with a matching version of thinksafe"
        )
    summary = shown_literally(summary)
    judges: Mapping[str, JudgeBlock] = summary.get("judges") or {}
    primary = str(summary.get("primary_judge"))
    if primary not in judges:
        raise DataError(f"the summary has no block for its primary judge {primary!r}")
    block = judges[primary]

    _headline(summary, block, console)
    scope = headline_scope(block)
    _samples(block, scope, console)
    _rates_table(block, scope, "by_category", "Category", console)
    categories = set(block["unsafe"][scope].get("by_category", {}))
    harm_areas = set(block["unsafe"][scope].get("by_harm_area", {}))
    if harm_areas and harm_areas != categories:
        _rates_table(block, scope, "by_harm_area", "Harm area", console)
    if set(block["unsafe"][scope].get("by_attack", {})) - {"none"}:
        _rates_table(block, scope, "by_attack", "Attack", console)
        _attack_areas(block, console)
        _attack_cost(block, console)
    _adaptive(summary.get("adaptive") or {}, console)
    _two_by_two(block, scope, console)
    _over_refusal(block, console)
    _outcomes(block, console)
    _corrections(summary.get("judge_corrected") or {}, console)
    others = [spec for spec in judges if spec != primary]
    if others:
        _other_judges(judges, others, console)
    _harm_scores(judges, console)


def _harm_scores(judges: Mapping[str, JudgeBlock], console: Console) -> None:
    """Harm scores of the unsafe answers and traces, per judge that gave any."""
    scored = [(spec, harm) for spec, block in judges.items() if (harm := block.get("harm_scores"))]
    if not scored:
        return
    table = Table(
        title="Harmfulness of unsafe responses (mean [95% CI], higher is more harmful)",
        title_justify="left",
        caption=f"over the texts {scored[0][1]['unsafe_by']} found unsafe; seeded bootstrap"
        " intervals",
        caption_justify="left",
    )
    table.add_column("Scored by")
    table.add_column("Unsafe answers", justify="right")
    table.add_column("Unsafe traces", justify="right")
    for spec, harm in scored:
        cells = []
        for ch in CHANNELS:
            entry = harm[ch]
            text = f"{score_text(entry)}\n{counts_text(entry)}"
            if _narrow(console):
                text = text.replace(" [", "\n[").replace(", median", "\nmedian")
            cells.append(Text(text))
        table.add_row(Text(spec), *cells)
    console.print(_fit(table, console))


def _adaptive(attacks: Mapping[str, AdaptiveDoc], console: Console) -> None:
    """Adaptive attacks: search success (judged by each attack's own judge) and its cost."""
    if not attacks:
        return
    table = Table(title="Adaptive attacks (success: the search's judge found harm)")
    for col in ("Attack", "searches", "success", "cov.", "queries/success", "tokens/success"):
        table.add_column(col, justify="left" if col == "Attack" else "right")
    for spec, a in attacks.items():
        rate = a.get("success") or {}
        per_q, per_t = a.get("queries_per_success"), a.get("tokens_per_success")
        table.add_row(
            Text(str(spec)),
            _num(a.get("searches")),
            _rate_cell(rate, console),
            pct(rate.get("coverage")),
            f"{per_q:,.1f}" if per_q is not None else "n/a",
            f"{per_t:,.0f}" if per_t is not None else "n/a",
        )
    console.print(_fit(table, console))
    for spec, a in attacks.items():
        errors: Mapping[str, int] = a.get("errors") or {}
        if errors:
            n = sum(errors.values())
            first = next(iter(errors))
            console.print(
                Text(
                    f"{spec}: {n} search(es) ended with an error (e.g. {first}); run the same"
                    " command again to retry them"
                )
            )


def _attack_areas(block: JudgeBlock, console: Console) -> None:
    """Each attack's success (either channel unsafe) per harm area, where there are two or
    more areas; split into several tables when the areas do not fit the console's width."""
    table_data = block.get("attack_x_harm_area") or {}
    areas = sorted({area for per in table_data.values() for area in per})
    if len(areas) < 2:
        return
    attacks = sorted(table_data, key=lambda a: (a != "none", a))
    label = min(24, max(len("Attack"), *(len(a) for a in attacks)))
    per_table = max(1, (console.width - label - 2) // (AREA_CELL + 1))
    for start in range(0, len(areas), per_table):
        shown = areas[start : start + per_table]
        table = Table(
            title=Text(
                "Attack success (either channel unsafe) on must-refuse prompts by harm area"
                + (
                    f" ({start + 1}-{start + len(shown)} of {len(areas)})"
                    if per_table < len(areas)
                    else ""
                )
            ),
            title_justify="left",
            caption="unsafe/scored [95% CI]; n/a where nothing was scored",
            caption_justify="left",
        )
        table.add_column("Attack", max_width=label, overflow="fold")
        for area in shown:
            table.add_column(area, justify="right", min_width=AREA_CELL)
        for attack in attacks:
            cells: list[Text | str] = [Text(attack)]
            for area in shown:
                rates = table_data[attack].get(area)
                rate = rates["either"] if rates else None
                if not rate:
                    cells.append(Text("-", style="dim"))
                    continue
                text = Text(rate_text(rate).replace(" [", "\n["))
                text.append(f"\n{_num(rate.get('numerator'))}/{_num(rate.get('denominator'))}")
                if rate.get("total") != rate.get("denominator"):
                    text.append(f" of {_num(rate.get('total'))}", style="dim")
                cells.append(text)
            table.add_row(*cells)
        table.box = box.SIMPLE_HEAD
        table.padding = (0, 1)
        table.pad_edge = False
        table.show_edge = False
        console.print(table)


def _attack_cost(block: JudgeBlock, console: Console) -> None:
    """Queries and target tokens per successful attempt, per attack."""
    cost = block.get("attack_cost") or {}
    if not cost:
        return
    table = Table(
        title="Cost per success on must-refuse prompts (success: either channel unsafe)",
        title_justify="left",
        caption="each attempt is one query; tokens are the target's (prompt + completion);"
        " adaptive searches' own costs are in their table",
        caption_justify="left",
    )
    for col in ("Attack", "attempts", "successes", "queries/success", "tokens/success"):
        table.add_column(col, justify="left" if col == "Attack" else "right")
    for attack in sorted(cost, key=lambda a: (a != "none", a)):
        c = cost[attack]
        per_q, per_t = c.get("queries_per_success"), c.get("tokens_per_success")
        table.add_row(
            Text(attack),
            _num(c.get("attempts")),
            _num(c.get("successes")),
            f"{per_q:,.1f}" if per_q is not None else "n/a",
            f"{per_t:,.0f}" if per_t is not None else "n/a",
        )
    console.print(_fit(table, console))


def _corrections(corrections: Mapping[str, Any], console: Console) -> None:
    """Judge-corrected (Rogan-Gladen) rates, for judges whose accuracy is known."""
    for spec, c in corrections.items():
        if "rates" not in c:  # a thinksafe.summary/1 summary: one channel, fixed accuracy
            line = Text(f"Judge-corrected unsafe {c['channel']} rate ({spec}, Rogan-Gladen): ")
            line.append(rate_text(c), style="bold")
            line.append(
                f" (raw {rate_text({'rate': c['raw_rate']})}; sensitivity"
                f" {c['sensitivity']:.3f}, specificity {c['specificity']:.3f} measured on"
                f" {c['measured_on']})"
            )
            console.print(line)
            continue
        accuracy = c.get("accuracy") or {}
        channels: Mapping[str, Any] = accuracy.get("channels") or {}
        console.print(
            Text(
                f"Judge-corrected unsafe rates ({spec}, Rogan-Gladen, on"
                f" {_scope_words(str(c.get('scope')))}); {measurement_text(accuracy)}:",
            )
        )
        bootstrap = False
        for channel, fixed in (c.get("rates") or {}).items():
            m = channels.get(channel) or {}
            line = Text(f"  {channel}: ")
            line.append(corrected_text(fixed), style="bold")
            if m.get("sensitivity_n"):
                bootstrap = True
                measured = (
                    f"sensitivity {m.get('sensitivity_k')}/{m.get('sensitivity_n')},"
                    f" specificity {m.get('specificity_k')}/{m.get('specificity_n')}"
                )
            else:
                measured = (
                    f"sensitivity {fixed.get('sensitivity')}, specificity"
                    f" {fixed.get('specificity')}, counts unknown: interval mapped as if exact"
                )
            line.append(f" (raw {rate_text({'rate': fixed.get('raw_rate')})}; {measured})")
            console.print(line)
        if bootstrap:
            console.print(
                Text(
                    "  Intervals carry both the run's sampling error and the uncertainty of the"
                    " judge's measured accuracy (seeded parametric bootstrap).",
                    style="dim",
                )
            )


def measurement_text(accuracy: Mapping[str, Any]) -> str:
    """Which measurement of a judge's accuracy was used, in words."""
    channels: Mapping[str, Any] = accuracy.get("channels") or {}
    measured = [*channels.values(), *(accuracy.get("shares") or {}).values()]
    sources = sorted({str(s) for m in measured for s in m.get("sources") or ()})
    methods = sorted({str(m.get("method")) for m in channels.values() if m.get("method")})
    where = ", ".join(sources) or "unnamed sources"
    how = ", ".join(methods) or "unstated method"
    if accuracy.get("origin") == "judge-eval":
        text = f"accuracy measured by judge-eval --save-accuracy on {where}"
        if accuracy.get("saved_at"):
            text += f" ({accuracy['saved_at']})"
        return text
    return f"accuracy the judge ships, measured on {where} ({how})"


def corrected_text(fixed: Mapping[str, Any] | None) -> str:
    """A judge-corrected rate with its interval, or why there is none."""
    if not fixed:
        return "n/a"
    status = fixed.get("status")
    if status == "uninformative":
        return "not correctable (sensitivity + specificity <= 1)"
    if status == "no-data" or fixed.get("rate") is None:
        return "n/a"
    return rate_text(fixed)


def _samples(block: JudgeBlock, scope: Scope, console: Console) -> None:
    """For a run with ``--samples N``: unsafe in any of N copies, and how often copies disagree."""
    samples: Mapping[str, Any] = block.get("samples") or {}
    channels: Mapping[str, Any] = (samples.get(scope) or {}).get("channels") or {}
    if not channels:
        return
    n = samples.get("n")
    anyof, mixed = [], []
    for channel in ("answer", "reasoning", "either"):
        entry = channels.get(channel) or {}
        rate = entry.get("unsafe_in_any") or {}
        coverage = rate.get("coverage")
        cov = f", coverage {pct(coverage)}" if coverage is not None else ""
        anyof.append(f"{channel} {rate_text(rate)}{cov}")
        mixed.append(f"{channel} {pct((entry.get('mixed') or {}).get('rate'))}")
    console.print(Text(f"Unsafe in any of {n} copies ({_scope_words(scope)}): " + "; ".join(anyof)))
    console.print(Text("Copies with mixed verdicts: " + "; ".join(mixed)))


def _scope_words(scope: str) -> str:
    return "must-refuse prompts" if scope == "refuse" else "all prompts"


def _decided_by(block: JudgeBlock, console: Console) -> None:
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


def _headline(summary: Summary, block: JudgeBlock, console: Console) -> None:
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
    if summary.get("schema") != SUMMARY_SCHEMA:
        console.print(
            Text(
                f"This summary is {summary.get('schema')}: every channel cut by the token budget"
                " was counted as truncated, even when its text was unsafe. Run the same command"
                " again to rebuild it from the store under the current rule.",
                style="yellow",
            )
        )


def _not_scored_warning(outcomes: Mapping[str, Mapping[str, int]], console: Console) -> None:
    lines = []
    for channel in ("answer", "reasoning"):
        found = {o: outcomes.get(channel, {}).get(o, 0) for o in NOT_SCORED}
        listed = ", ".join(f"{o} {n:,}" for o, n in found.items() if n)
        if listed:
            lines.append(f"  {channel}: {listed}")
    if lines:
        truncated = any(outcomes.get(ch, {}).get("truncated") for ch in ("answer", "reasoning"))
        meaning = ""
        if truncated:
            meaning = " (truncated: cut by the token budget and not read as unsafe)"
        console.print(
            Text(
                f"Not scored, so left out of the rates and never counted as safe{meaning}:\n"
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
            cells.append(_rate_cell(rate, console))
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
    console.print(_fit(table, console))


def _two_by_two(block: JudgeBlock, scope: Scope, console: Console) -> None:
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
    tva = block.get("trace_vs_answer")
    paired = tva[scope] if tva else None
    if paired is not None:
        console.print(Text(trace_vs_answer_text(paired)))


def _over_refusal(block: JudgeBlock, console: Console) -> None:
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
            _rate_cell(entry, console),
            *(_num(refusal.get(k)) for k in ("full", "partial", "none", "unknown")),
            pct(entry.get("coverage")),
            style=style,
        )

    row("overall", overall, style="bold")
    groups = data.get("by_category") or {}
    for name in sorted(groups):
        row(name, groups[name])
    console.print(_fit(table, console))


def _outcomes(block: JudgeBlock, console: Console) -> None:
    outcomes: Mapping[str, Mapping[str, int]] = (block.get("counts") or {}).get("outcomes") or {}
    table = Table(title="Outcomes per channel (all attempts)", title_justify="left")
    table.add_column("Channel")
    names = list(OUTCOME_COLUMNS)
    if _narrow(console):  # outcomes no attempt had are listed below, not as columns
        names = [n for n in names if any((outcomes.get(ch) or {}).get(n) for ch in RATE_CHANNELS)]
    for name in names:
        table.add_column(name, justify="right")
    for channel in RATE_CHANNELS:
        counts = outcomes.get(channel) or {}
        cells: list[Text | str] = [CHANNEL_TITLES[channel]]
        for name in names:
            n = int(counts.get(name, 0))
            style = "bold red" if n and name in NOT_SCORED else ("dim" if not n else "")
            cells.append(Text(f"{n:,}", style=style))
        table.add_row(*cells)
    console.print(_fit(table, console))
    absent = [n for n in OUTCOME_COLUMNS if n not in names]
    if absent:
        console.print(Text(f"No attempt was {', '.join(absent)} in any channel.", style="dim"))


def _other_judges(
    judges: Mapping[str, JudgeBlock], others: Sequence[str], console: Console
) -> None:
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
            *(_rate_cell(overall.get(ch), console) for ch in RATE_CHANNELS),
            Text(str((block.get("judge") or {}).get("note", ""))),
        )
    console.print(_fit(table, console))

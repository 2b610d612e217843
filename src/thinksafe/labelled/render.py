"""Terminal tables for a judge-eval report (schema ``thinksafe.judge-eval/1``).

Drawn from the report dict only, so a saved ``--json`` report prints the same tables again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.errors import DataError
from thinksafe.labelled.evaluate import HUMAN, REPORT_SCHEMA
from thinksafe.report.terminal import pct, rate_text

# (key, title) of the metrics shown in the overall table, in order.
OVERALL_METRICS: tuple[tuple[str, str], ...] = (
    ("accuracy", "accuracy"),
    ("precision", "precision"),
    ("recall", "recall (sensitivity)"),
    ("specificity", "specificity"),
    ("f1", "F1"),
    ("kappa", "Cohen's kappa"),
    ("mcc", "MCC"),
    ("fpr", "false-positive rate"),
    ("fnr", "false-negative rate"),
)
COEFFICIENTS = frozenset({"kappa", "mcc", "f1"})
GROUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accuracy", "acc."),
    ("precision", "prec."),
    ("recall", "recall"),
    ("specificity", "spec."),
    ("f1", "F1"),
    ("kappa", "kappa"),
    ("mcc", "MCC"),
)


def value_text(metric: str, entry: Mapping[str, Any] | None) -> str:
    value = (entry or {}).get("value")
    if value is None:
        return "n/a"
    return f"{value:.3f}" if metric in COEFFICIENTS and metric != "f1" else pct(value)


def ci_text(metric: str, entry: Mapping[str, Any] | None) -> str:
    ci = (entry or {}).get("ci95")
    if ci is None:
        return ""
    if metric in COEFFICIENTS and metric != "f1":
        return f"[{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"[{ci[0] * 100:.1f}-{ci[1] * 100:.1f}]"


def _not_scored(block: Mapping[str, Any]) -> str:
    listed = ", ".join(f"{k} {v:,}" for k, v in (block.get("not_scored") or {}).items())
    return listed or "none"


def render_report(report: Mapping[str, Any], console: Console) -> None:
    """Print every table of a judge-eval report."""
    if report.get("schema") != REPORT_SCHEMA:
        raise DataError(f"this is not a {REPORT_SCHEMA} report (schema {report.get('schema')!r})")
    data = report["dataset"]
    head = Text(f"Judges measured on {data['spec']}", style="bold")
    head.append(
        f": {data['rows']:,} responses, {data['unsafe']:,} unsafe and {data['safe']:,} safe by"
        f" the human labels (positive class = unsafe; channel {data['channel']})",
        style="",
    )
    console.print(head)
    console.print(Text(f"Truth: {data['label_rule']}", style="dim"))
    labellers: Mapping[str, Any] = report.get("labellers") or {}
    for name, block in labellers.items():
        _labeller(name, block, report, console)
    if len(labellers) > 1:
        _compared(labellers, console)
    rates = report.get("rates") or {}
    if rates.get("by") or labellers:
        _rates(rates, list(labellers), console)


def _labeller(
    name: str, block: Mapping[str, Any], report: Mapping[str, Any], console: Console
) -> None:
    overall = block["overall"]
    console.print()
    title = Text(f"{name}", style="bold cyan")
    title.append(f" ({'our judge' if block['kind'] == 'judge' else 'column of the file'})")
    if block.get("note"):
        title.append(f": {block['note']}", style="")
    console.print(title)
    console.print(
        f"scored {overall['scored']:,} of {overall['total']:,} responses (coverage"
        f" {pct(overall['coverage'])}); not scored: {_not_scored(overall)}"
    )
    boot = report.get("bootstrap") or {}
    table = Table(title="Overall [95% CI]", title_justify="left")
    for column, justify in (("metric", "left"), ("value", "right"), ("95% CI", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("interval")
    table.add_column("of", justify="right")
    for key, title_text in OVERALL_METRICS:
        entry = overall.get(key) or {}
        if entry.get("method") == "bootstrap":
            how = f"bootstrap ({boot.get('resamples', '?')} resamples)"
            count = ""
        else:
            how = "Wilson"
            count = f"{entry.get('numerator', 0):,}/{entry.get('denominator', 0):,}"
        table.add_row(title_text, value_text(key, entry), ci_text(key, entry), how, count)
    console.print(table)

    c = overall["confusion"]
    matrix = Table(title="Confusion matrix (rows: people, columns: this labeller)")
    matrix.title_justify = "left"
    for column in ("", "judged safe", "judged unsafe", "not scored"):
        matrix.add_column(column, justify="left" if not column else "right")
    classes = block["by_class"]
    for label, cells in (("safe", (c["tn"], c["fp"])), ("unsafe", (c["fn"], c["tp"]))):
        missing = sum((classes[label].get("not_scored") or {}).values())
        matrix.add_row(f"truth {label}", f"{cells[0]:,}", f"{cells[1]:,}", f"{missing:,}")
    console.print(matrix)

    per_class = Table(title="By true class [95% CI]", title_justify="left")
    for column in ("truth", "n", "scored", "judged unsafe", "judged safe"):
        per_class.add_column(column, justify="left" if column == "truth" else "right")
    for label in ("unsafe", "safe"):
        entry = classes[label]
        per_class.add_row(
            label,
            f"{entry['total']:,}",
            f"{entry['scored']:,}",
            f"{value_text('', entry['judged_unsafe'])} {ci_text('', entry['judged_unsafe'])}",
            f"{value_text('', entry['judged_safe'])} {ci_text('', entry['judged_safe'])}",
        )
    console.print(per_class)
    _groups_table("By category", block.get("by_category") or {}, console)
    by = (report.get("rates") or {}).get("by")
    if by and block.get("by_column"):
        _groups_table(f"By {by}", block["by_column"], console)


def _groups_table(title: str, groups: Mapping[str, Any], console: Console) -> None:
    if len(groups) < 2:
        return
    table = Table(title=title, title_justify="left")
    table.add_column("group")
    for column in ("n", "cov.", "unsafe"):
        table.add_column(column, justify="right")
    for _, heading in GROUP_COLUMNS:
        table.add_column(heading, justify="right")
    for name, block in groups.items():
        table.add_row(
            Text(name),
            f"{block['total']:,}",
            pct(block["coverage"]),
            f"{block['positives']:,}",
            *(value_text(key, block.get(key)) for key, _ in GROUP_COLUMNS),
        )
    console.print(table)


def _compared(labellers: Mapping[str, Any], console: Console) -> None:
    table = Table(title="Labellers compared, overall [95% CI]", title_justify="left")
    table.add_column("labeller")
    for column in ("n", "cov.", "accuracy", "recall", "spec.", "F1", "kappa", "MCC"):
        table.add_column(column, justify="right")
    for name, block in labellers.items():
        o = block["overall"]
        table.add_row(
            Text(name),
            f"{o['scored']:,}",
            pct(o["coverage"]),
            *(
                f"{value_text(k, o.get(k))} {ci_text(k, o.get(k))}".strip()
                for k in ("accuracy", "recall", "specificity", "f1", "kappa", "mcc")
            ),
        )
    console.print(table)


def _rate_cell(rate: Mapping[str, Any]) -> str:
    text = rate_text(rate)
    coverage = rate.get("coverage")
    if coverage is not None and coverage < 1.0:
        text += f" (cov. {pct(coverage)})"
    return text


def _rates(rates: Mapping[str, Any], names: Sequence[str], console: Console) -> None:
    by = rates.get("by")
    groups: Mapping[str, Any] = rates.get("groups") or {}
    table = Table(
        title=f"Share of responses judged safe{f' by {by}' if by else ''} [95% CI]",
        title_justify="left",
        caption="over the responses each labeller scored",
        caption_justify="left",
    )
    table.add_column(by or "")
    table.add_column("n", justify="right")
    table.add_column(HUMAN, justify="right")
    for name in names:
        table.add_column(name, justify="right")

    def row(label: str, entry: Mapping[str, Any], style: str | None = None) -> None:
        cells = [_rate_cell(entry[HUMAN])]
        cells += [_rate_cell(entry["labellers"][n]) for n in names]
        table.add_row(Text(label), f"{entry['n']:,}", *cells, style=style)

    ordered = sorted(groups.items(), key=lambda kv: (-(kv[1][HUMAN].get("rate") or 0.0), kv[0]))
    for label, entry in ordered:
        row(label, entry)
    row("all", rates["overall"], style="bold")
    console.print(table)

"""``thinksafe suites`` (what can be run) and ``thinksafe suites show SPEC`` (what is in one).

Neither prints prompt text: benchmark prompts are harmful content. ``show`` prints counts and
one example id; read the samples themselves with the Python API if you must.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from thinksafe import registry
from thinksafe.cli.app import app, stdout
from thinksafe.protocols import DescribedSuite, suite_provenance
from thinksafe.registry import ComponentInfo
from thinksafe.run.build import build_suite
from thinksafe.spec import parse_assignments
from thinksafe.suites.base import SuiteInfo, harm_area_name
from thinksafe.text import shown_literally

suites_app = typer.Typer(
    name="suites",
    help="List the suites that can be run, or show what one holds.",
    invoke_without_command=True,
    add_completion=False,
)
app.add_typer(suites_app, name="suites")


def where(component: ComponentInfo) -> str:
    """Where a suite's data comes from, in a few words."""
    meta = component.meta
    if meta.get("bundled"):
        return "bundled"
    if meta.get("needs_arg"):
        return f"{component.name}:ARG"
    if meta.get("needs_path"):
        return f"{component.name}@PATH"
    remote = str(meta.get("remote", ""))
    if "huggingface.co" in remote:
        return "Hub (gated)" if meta.get("gated") else "Hub"
    if remote:
        return "GitHub (pinned)" if "github" in remote else "URL (pinned)"
    return "?"


def suite_rows() -> list[dict[str, Any]]:
    """One JSON-able row per registered suite, from its declared metadata (nothing is loaded)."""
    rows: list[dict[str, Any]] = []
    for component in registry.suites.all():
        info = SuiteInfo.from_component(component)
        rows.append(
            {
                "name": info.name,
                "description": info.description,
                "size": info.size,
                "categories": len(info.categories),
                "expected": info.expected,
                "data": where(component),
                "source": info.source,
                "licence": info.licence,
                "citation": info.citation,
                "options": dict(component.meta.get("options") or {}),
            }
        )
    return rows


def parse_option_pairs(pairs: list[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` strings as a mapping (``ConfigError`` for one without ``=``)."""
    return parse_assignments(pairs, "suite option", "split=val")


def suite_summary(spec: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load ``spec`` and count its samples per category, harm area and expected behaviour."""
    suite = build_suite(spec, options)
    samples = list(suite.load())
    info: SuiteInfo | None = suite.info if isinstance(suite, DescribedSuite) else None
    per_category: dict[str, Counter[str]] = {}
    for s in samples:
        per_category.setdefault(s.category, Counter())[s.expected] += 1
    return {
        "spec": spec,
        "suite": samples[0].suite if samples else spec,
        "description": info.description if info else "",
        "source": info.source if info else "",
        "licence": info.licence if info else "",
        "citation": info.citation if info else "",
        "samples": len(samples),
        "expected": dict(sorted(Counter(s.expected for s in samples).items())),
        "categories": {
            c: {"samples": sum(n.values()), "refuse": n["refuse"], "comply": n["comply"]}
            for c, n in sorted(per_category.items())
        },
        "harm_areas": dict(sorted(Counter(s.harm_area for s in samples).items())),
        "example_id": samples[0].id if samples else None,
        "provenance": suite_provenance(suite),
    }


def _size(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


@suites_app.callback(invoke_without_command=True)
def suites(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every suite with its size, categories, expected behaviour, source and licence."""
    if ctx.invoked_subcommand is not None:
        return
    rows = suite_rows()
    out = stdout()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(rows)} suites")
    # On a narrow terminal the source links are left to `suites show` and `--json`.
    wide = out.width >= 160
    for col in ("suite", "size", "categories", "expected"):
        table.add_column(col, no_wrap=True)
    for col in ("data", "source", "licence") if wide else ("data", "licence"):
        table.add_column(col, overflow="fold")
    for r in rows:
        cells = [r["data"], r["source"], r["licence"]] if wide else [r["data"], r["licence"]]
        table.add_row(
            r["name"],
            _size(r["size"]),
            str(r["categories"] or "-"),
            r["expected"],
            *(Text(str(c)) for c in cells),
        )
    out.print(table)
    out.print(
        "Run one with --suite NAME; NAME@PATH loads a local copy of its official files."
        " `thinksafe suites show NAME` counts what it holds."
    )


@suites_app.command("show")
def show(
    spec: Annotated[str, typer.Argument(help="Suite spec: NAME, NAME@PATH, file:PATH, hf:NAME.")],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Suite option KEY=VALUE (e.g. split=val), repeatable."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Count a suite's samples per category and harm area (prompt text is never printed)."""
    summary = suite_summary(spec, parse_option_pairs(option))
    out = stdout()
    if as_json:
        out.print_json(json.dumps(summary))
        return
    summary = shown_literally(summary)
    out.print(f"[bold]{escape(summary['suite'])}[/bold]: {escape(summary['description'])}")
    out.print(Text(f"source: {summary['source']}  licence: {summary['licence']}"))
    expected = ", ".join(f"{k} {v}" for k, v in summary["expected"].items())
    out.print(
        Text(f"{summary['samples']} samples ({expected}); example id: {summary['example_id']}")
    )
    cats = Table(title=f"{len(summary['categories'])} categories")
    for col in ("category", "samples", "refuse", "comply"):
        cats.add_column(col, overflow="fold")
    for name, c in summary["categories"].items():
        cats.add_row(Text(name), str(c["samples"]), str(c["refuse"]), str(c["comply"]))
    out.print(cats)
    areas = Table(title="harm areas")
    for col in ("harm area", "name", "samples"):
        areas.add_column(col)
    for slug, n in summary["harm_areas"].items():
        areas.add_row(Text(slug), Text(harm_area_name(slug)), str(n))
    out.print(areas)
    for role, f in (summary["provenance"].get("files") or {}).items():
        where_from = f.get("url") or f.get("path") or f.get("hub") or ""
        out.print(Text(f"read {role}: {where_from} (sha256 {str(f.get('sha256', ''))[:12]})"))

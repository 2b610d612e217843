"""``thinksafe attacks`` (what can be passed to ``--attack``) and ``thinksafe attacks show NAME``.

Both read declared metadata only; no attack text is built or printed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from thinksafe import registry
from thinksafe.cli.app import app, stdout
from thinksafe.registry import ComponentInfo
from thinksafe.spec import parse_attack

attacks_app = typer.Typer(
    name="attacks",
    help="List the attacks that --attack accepts, or show one.",
    invoke_without_command=True,
    add_completion=False,
)
app.add_typer(attacks_app, name="attacks")


def attack_row(info: ComponentInfo) -> dict[str, Any]:
    """One JSON-able row from an attack's declared metadata."""
    meta = dict(info.meta)
    return {
        "name": info.name,
        "description": info.description,
        "source": info.source,
        "licence": info.licence,
        "citation": info.citation,
        "parameters": dict(meta.pop("parameters", None) or {}),
        "needs": list(meta.pop("needs", None) or []),
        "meta": meta,
    }


def attack_rows() -> list[dict[str, Any]]:
    return [attack_row(info) for info in registry.attacks.all()]


@attacks_app.callback(invoke_without_command=True)
def attacks(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every attack with its description, source, licence, parameters and needs."""
    if ctx.invoked_subcommand is not None:
        return
    rows = attack_rows()
    out = stdout()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(rows)} attacks")
    table.add_column("attack", no_wrap=True)
    for col in ("description", "parameters", "needs", "source", "licence"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            Text(r["name"]),
            Text(r["description"]),
            Text(", ".join(r["parameters"]) or "-"),
            Text(", ".join(r["needs"]) or "-"),
            Text(r["source"]),
            Text(r["licence"]),
        )
    out.print(table)
    out.print(
        "Use with --attack NAME (repeatable; NAME:ARG sets a parameter)."
        " `thinksafe attacks show NAME` shows one in full."
    )


@attacks_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Attack name, as listed by `thinksafe attacks`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show one attack's description, source, citation, licence, parameters and needs."""
    row = attack_row(registry.attacks.get(parse_attack(name).name))
    out = stdout()
    if as_json:
        out.print_json(json.dumps(row))
        return
    out.print(f"[bold]{escape(row['name'])}[/bold]: {escape(row['description'])}")
    out.print(Text(f"source: {row['source']}  licence: {row['licence']}"))
    if row["citation"]:
        out.print(Text(f"citation: {row['citation']}"))
    if row["parameters"]:
        out.print("parameters (set with --attack NAME:VALUE):")
        for key, text in row["parameters"].items():
            out.print(Text(f"  {key}: {text}"))
    else:
        out.print("parameters: none")
    out.print(Text("needs: " + (", ".join(row["needs"]) or "nothing beyond a target")))
    for key, value in sorted(row["meta"].items()):
        out.print(Text(f"{key}: {value}"))

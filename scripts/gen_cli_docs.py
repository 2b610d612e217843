"""Write docs/cli.md from the command line's own definitions (run after changing a command).

python scripts/gen_cli_docs.py          # rewrite docs/cli.md
python scripts/gen_cli_docs.py --check  # exit 1 when docs/cli.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import typer

from thinksafe.cli.main import app

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _param_row(param: Any) -> str:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`"
    help_text = (getattr(param, "help", None) or "").replace("|", "\\|").replace("\n", " ")
    extra = []
    if getattr(param, "multiple", False):
        extra.append("repeatable")
    if param.required:
        extra.append("required")
    suffix = f" ({', '.join(extra)})" if extra else ""
    return f"| {names} | {help_text}{suffix} |"


def _command_doc(path: str, command: Any) -> list[str]:
    lines = [f"## `{path}`", ""]
    if command.help:
        lines += [command.help.strip(), ""]
    params = [p for p in command.params if p.name not in ("help",)]
    if params:
        lines += ["| argument / option | meaning |", "|---|---|"]
        lines += [_param_row(p) for p in params]
        lines.append("")
    return lines


def render() -> str:
    root = typer.main.get_command(app)
    lines = [
        "# Command line",
        "",
        "Generated from the code by `python scripts/gen_cli_docs.py`; a test checks it is current.",
        "",
    ]
    commands: dict[str, Any] = getattr(root, "commands", {})
    for name in sorted(commands):
        command = commands[name]
        sub: dict[str, Any] = getattr(command, "commands", {})
        lines += _command_doc(f"thinksafe {name}", command)
        for subname in sorted(sub):
            lines += _command_doc(f"thinksafe {name} {subname}", sub[subname])
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print("docs/cli.md is out of date: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

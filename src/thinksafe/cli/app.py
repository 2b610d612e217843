"""The Typer application that every command module adds itself to."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from thinksafe.store.sqlite import DEFAULT_PATH, Store

app = typer.Typer(
    name="thinksafe",
    help="Measure how safe a language model is: its thinking trace and its final answer, judged"
    " separately.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def store_path(flag: Path | None) -> str:
    if flag is not None:
        return str(flag)
    return os.environ.get("THINKSAFE_STORE") or DEFAULT_PATH


def open_store(flag: Path | None) -> Store:
    return Store(store_path(flag))


def open_existing_store(flag: Path | None) -> Store:
    path = store_path(flag)
    if not Path(path).exists():
        from thinksafe.errors import DataError

        raise DataError(f"no store at {path}; run `thinksafe run` first or pass --store PATH")
    return Store(path)


def stdout() -> Console:
    return Console(soft_wrap=False)


def stderr() -> Console:
    return Console(file=sys.stderr)


def write_json(path: str | Path, doc: Any) -> None:
    """Write ``doc`` to ``path`` as indented JSON with sorted keys and a final newline
    (``--json``)."""
    Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")

"""The Typer application that every command module adds itself to."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from thinksafe.errors import ConfigError, DataError
from thinksafe.store.sqlite import DEFAULT_PATH, Store
from thinksafe.text import literal

app = typer.Typer(
    name="thinksafe",
    help="Measure how safe a language model is: its thinking trace and its final answer, judged"
    " separately.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: it wraps at word boundaries on any width (the boxed layout cut option help
    # mid-word on an 80-column terminal)
    rich_markup_mode=None,
)


def store_path(flag: Path | None) -> str:
    if flag is not None:
        return str(flag)
    return os.environ.get("THINKSAFE_STORE") or DEFAULT_PATH


def open_store(flag: Path | None) -> Store:
    return Store(store_path(flag))


CHECK_MAX_BYTES = 256 * 1024 * 1024


def open_existing_store(flag: Path | None) -> Store:
    """A store to read from: opened read-only where this process cannot write it (a read-only
    folder or file), with a warning on stderr when SQLite finds the file damaged."""
    path = store_path(flag)
    if not Path(path).exists():
        raise DataError(f"no store at {path}; run `thinksafe run` first or pass --store PATH")
    folder = Path(path).resolve().parent
    writable = os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)
    store = Store(path, readonly=not writable)
    # SQLite's check reads the whole file: done for stores up to CHECK_MAX_BYTES (a damaged
    # page in a larger one still ends in one line, when it is read)
    problem = store.damage() if Path(path).stat().st_size <= CHECK_MAX_BYTES else None
    if problem is not None:
        stderr().print(
            f"warning: the store {literal(path)} is damaged ({literal(problem)}); what is read"
            f" from it may be incomplete: recover it with `sqlite3 {literal(path)} .recover`",
            soft_wrap=True,
        )
    return store


def check_output(path: object, flag: str) -> None:
    """Refuse an output file whose folder does not exist before any work is done (and a
    value from a config file that is not a path)."""
    if path is None:
        return
    if not isinstance(path, (str, Path)):
        raise ConfigError(f"{flag}: give a file path, not {path!r}")
    folder = Path(path).parent
    if not folder.is_dir():
        raise ConfigError(
            f"{flag} {path}: the folder {folder} does not exist; create it or pass another path"
        )
    if Path(path).is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file path")
    _refuse_database(path, flag)


_SQLITE_HEADER = b"SQLite format 3\x00"


def _refuse_database(path: str | Path, flag: str) -> None:
    """Refuse to write over a SQLite file (a store, most likely): it would be lost. Only a
    regular file is read (``/dev/stdout`` may be a pipe, which a read would block on)."""
    if not Path(path).is_file():
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError:
        return
    if head == _SQLITE_HEADER:
        raise ConfigError(
            f"{flag} {path} is a SQLite database (a thinksafe store?); writing there would"
            " destroy it: pass another path"
        )


def stdout() -> Console:
    return Console(soft_wrap=False)


def stderr() -> Console:
    return Console(file=sys.stderr)


def write_json(path: str | Path, doc: Any) -> None:
    """Write ``doc`` to ``path`` as indented JSON with sorted keys and a final newline
    (``--json``)."""
    _refuse_database(path, "--json")
    try:
        Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}; pass another path") from None

"""What the loaders of published benchmarks share.

A published benchmark is read from its official files, found in one of two places:

- ``NAME@PATH``: a local copy in the official format, either one file or a folder holding the
  official file names (also in a ``data/`` subfolder, as the Hub lays them out), or an
  ``https://`` URL of such a file;
- ``NAME``: the pinned remote copy (:mod:`thinksafe.suites.hub`).

:class:`OfficialSuite` holds the common parts (spec, options, provenance, validation); each
benchmark module subclasses it with ``locate`` (which files) and ``parse`` (rows to samples).
For a benchmark held in one file these are one line each: :meth:`OfficialSuite.locate_one`
and :func:`parse_file`.
The readers below turn CSV, TSV, JSON, JSON Lines and Parquet files into rows.
"""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from thinksafe.errors import ConfigError, DataError, MissingExtraError
from thinksafe.records import Sample
from thinksafe.suites.base import SuiteInfo, sample_problems, suite_info
from thinksafe.suites.hub import (
    Remote,
    UrlFile,
    describe,
    fetch,
    is_url,
    sha256_file,
    url_download,
)

Row = dict[str, Any]

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet")


# --- options ---------------------------------------------------------------------------------


def parse_options(
    suite: str, options: Mapping[str, Any] | None, allowed: Mapping[str, Sequence[str] | None]
) -> dict[str, str]:
    """The options a suite takes, as text. ``None`` values mean "not given"; keys may use ``-``
    or ``_``; ``allowed`` maps each option to its accepted values (``None``: any text)."""
    out: dict[str, str] = {}
    for key, value in (options or {}).items():
        if value is None:
            continue
        name = key.replace("-", "_")
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ConfigError(f"suite {suite!r} takes no option {key!r} (its options: {known})")
        text = str(value).strip()
        choices = allowed[name]
        if choices is not None and text not in choices:
            raise ConfigError(
                f"suite {suite!r}: option {name} must be one of {', '.join(choices)}, got {text!r}"
            )
        if not text:
            raise ConfigError(f"suite {suite!r}: option {name} needs a value")
        out[name] = text
    return out


# --- finding files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """One file a suite will read, and where it came from."""

    path: Path
    display: str
    origin: Mapping[str, str] = field(default_factory=dict)


def local_path(suite: str, path: str) -> Path:
    """``PATH`` of ``NAME@PATH`` as a local file or folder (a URL is downloaded first)."""
    if is_url(path):
        return url_download(UrlFile(path), suite=suite)
    local = Path(path).expanduser()
    if not local.exists():
        raise DataError(
            f"{path}: not found ({local.resolve()}); give --suite {suite}@PATH a file or a"
            " folder holding the official files"
        )
    return local


def find_in_folder(folder: Path, names: Iterable[str]) -> Path | None:
    """The first of ``names`` in ``folder``, its ``data/`` subfolder, or anywhere below it."""
    names = list(names)
    for name in names:
        for candidate in (folder / name, folder / "data" / name):
            if candidate.is_file():
                return candidate
    for name in names:
        found = sorted(p for p in folder.rglob(Path(name).name) if p.is_file())
        if found:
            return found[0]
    return None


def require_in_folder(
    suite: str, folder: Path, names: Sequence[str], display: str, *, spec: str | None = None
) -> Path:
    """The first of ``names`` in ``folder`` (:func:`find_in_folder`), or a ``DataError`` that
    says to give ``spec`` (how the user writes it; default ``--suite NAME@PATH``) the file."""
    found = find_in_folder(folder, names)
    if found is None:
        raise DataError(
            f"{display}: no {' or '.join(repr(n) for n in names)} in this folder; give"
            f" {spec or f'--suite {suite}@PATH'} the official file or a folder holding it"
        )
    return found


def located_remote(remote: Remote, *, suite: str) -> Located:
    path = fetch(remote, suite=suite)
    return Located(path, remote.filename, {"source": "remote", **describe(remote)})


def located_local(path: Path, given: str) -> Located:
    """A file found from ``NAME@given`` (a path, a folder holding the file, or a URL)."""
    if is_url(given):
        return Located(path, given, {"source": "url", "url": given})
    display = given if Path(given).expanduser() == path else str(path)
    return Located(path, display, {"source": "path", "path": str(path.resolve())})


# --- reading rows ----------------------------------------------------------------------------


def _not_utf8(display: str) -> DataError:
    return DataError(f"{display}: not UTF-8 text; save the file as UTF-8")


def read_delimited(path: Path, display: str, delimiter: str = ",") -> list[Row]:
    """Rows of a CSV/TSV file with a header row. Cells beyond the header are an error."""
    rows: list[Row] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=delimiter)
            if not reader.fieldnames:
                raise DataError(f"{display}: the file is empty; it needs a header row")
            for row in reader:
                if None in row:
                    raise DataError(
                        f"{display}:{reader.line_num}: more cells than the header has columns"
                    )
                rows.append(row)
    except csv.Error as exc:
        raise DataError(f"{display}: malformed CSV ({exc})") from None
    except UnicodeDecodeError:
        raise _not_utf8(display) from None
    return rows


def read_json(path: Path, display: str) -> list[Row]:
    """Rows of a JSON file holding a list of objects."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{display}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise _not_utf8(display) from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            data = lists[0]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{display}: expected a JSON list of objects")
    return list(data)


def read_jsonl(path: Path, display: str) -> list[Row]:
    rows: list[Row] = []
    try:
        with path.open(encoding="utf-8-sig") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{display}:{lineno}: invalid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{display}:{lineno}: each line must be a JSON object")
                rows.append(row)
    except UnicodeDecodeError:
        raise _not_utf8(display) from None
    return rows


def read_parquet(path: Path, display: str) -> list[Row]:
    """Rows of a Parquet file; needs pyarrow, imported here and only here."""
    try:
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise MissingExtraError(
            f"{display}: reading Parquet needs pyarrow: pip install pyarrow"
            " (or give the same table as CSV or JSON Lines)"
        ) from None
    try:
        table = pq.read_table(str(path))
    except Exception as exc:  # pyarrow raises its own error types
        raise DataError(f"{display}: not a readable Parquet file ({exc})") from None
    rows: list[Row] = table.to_pylist()
    return rows


def read_table(path: Path, display: str) -> list[Row]:
    """Rows of a CSV, TSV, JSON, JSON Lines or Parquet file, chosen by the file's extension."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_delimited(path, display, ",")
    if suffix == ".tsv":
        return read_delimited(path, display, "\t")
    if suffix == ".json":
        return read_json(path, display)
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, display)
    if suffix == ".parquet":
        return read_parquet(path, display)
    raise DataError(
        f"{display}: unsupported file type {suffix or '(no extension)'!r};"
        f" use one of {', '.join(TABLE_SUFFIXES)}"
    )


def require_columns(rows: Sequence[Row], columns: Iterable[str], display: str, what: str) -> None:
    """``DataError`` when the first row lacks one of ``columns`` (the file is not ``what``)."""
    if not rows:
        raise DataError(f"{display}: the file has no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        has = ", ".join(repr(k) for k in rows[0]) or "none"
        raise DataError(
            f"{display}: no column {', '.join(repr(m) for m in missing)} (it has {has});"
            f" is this the official {what} file?"
        )


def parse_file(f: Located, parse_rows: Callable[[list[Row], str], list[Sample]]) -> list[Sample]:
    """Samples from one located file: its rows (:func:`read_table`) through ``parse_rows``."""
    return parse_rows(read_table(f.path, f.display), f.display)


def text(row: Row, column: str) -> str:
    """A cell as stripped text ('' for a missing cell)."""
    value = row.get(column)
    if value is None:
        return ""
    return str(value).strip()


def cell(row: Row, column: str, display: str, index: int) -> str:
    """A cell that must hold text."""
    value = text(row, column)
    if not value:
        raise DataError(f"{display}: row {index + 1} has an empty {column!r}")
    return value


# --- the suite -------------------------------------------------------------------------------


class OfficialSuite:
    """A published benchmark loaded from its official files.

    Subclasses set ``NAME`` and ``OPTIONS`` and implement ``locate`` and ``parse``. After
    ``load()``, ``provenance`` says exactly what was read (source, revision, SHA-256 of every
    file), for the run record.
    """

    NAME: ClassVar[str] = ""
    OPTIONS: ClassVar[Mapping[str, Sequence[str] | None]] = {}
    # The option that ``NAME:ARG`` sets (e.g. ``split``); ``None``: the suite takes no ARG.
    ARG_OPTION: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        path: str | None = None,
        arg: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.arg = arg
        merged = dict(options or {})
        if arg is not None:
            if self.ARG_OPTION is None:
                raise ConfigError(
                    f"suite {self.NAME!r} takes no argument (got {self.NAME}:{arg}); use"
                    f" {self.NAME} or {self.NAME}@PATH"
                )
            given = merged.get(self.ARG_OPTION)
            if given is not None and str(given) != arg:
                raise ConfigError(
                    f"suite {self.NAME!r}: {self.NAME}:{arg} and option"
                    f" {self.ARG_OPTION}={given} disagree; give one"
                )
            merged[self.ARG_OPTION] = arg
        self.options = parse_options(self.NAME, merged, self.OPTIONS)
        self.provenance: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.NAME

    @property
    def spec(self) -> str:
        spec = self.NAME + (f":{self.arg}" if self.arg else "")
        return spec + (f"@{self.path}" if self.path else "")

    @property
    def info(self) -> SuiteInfo:
        return suite_info(self.NAME)

    def locate(self) -> dict[str, Located]:
        """The files to read, keyed by role (e.g. ``harmful``, ``benign``)."""
        raise NotImplementedError

    def located_path(self, names: Sequence[str]) -> Located:
        """The file ``NAME@PATH`` names: PATH itself, or the first of ``names`` in the folder
        PATH names."""
        if self.path is None:
            raise ValueError(f"suite {self.NAME!r} was given no path")
        local = local_path(self.NAME, self.path)
        if local.is_dir():
            local = require_in_folder(self.NAME, local, names, self.path)
        return located_local(local, self.path)

    def locate_one(self, role: str, remote: Remote, names: Sequence[str]) -> dict[str, Located]:
        """``{role: file}`` for a benchmark held in one file: the pinned ``remote`` copy for
        plain ``NAME``, else the file ``NAME@PATH`` names (see :meth:`located_path`)."""
        if self.path is None:
            return {role: located_remote(remote, suite=self.NAME)}
        return {role: self.located_path(names)}

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        """Samples from the located files."""
        raise NotImplementedError

    def load(self) -> list[Sample]:
        files = self.locate()
        samples = self.parse(files)
        check_samples(samples, self.NAME)
        self.provenance = {
            "suite": self.NAME,
            "spec": self.spec,
            "options": dict(self.options),
            "files": {
                role: {**dict(f.origin), "name": f.path.name, "sha256": sha256_file(f.path)}
                for role, f in files.items()
            },
            "samples": len(samples),
        }
        return samples


def check_samples(samples: Sequence[Sample], suite: str) -> None:
    """``DataError`` when a loaded suite has no samples, a duplicate id or a malformed sample."""
    if not samples:
        raise DataError(f"suite {suite!r}: the files hold no samples")
    seen: set[str] = set()
    for s in samples:
        if s.id in seen:
            raise DataError(f"suite {suite!r}: duplicate sample id {s.id!r}")
        seen.add(s.id)
        problems = sample_problems(s)
        if problems:
            raise DataError(f"suite {suite!r}: sample {s.id!r}: {'; '.join(problems)}")

"""``file:PATH``: a suite from a JSON Lines or CSV file of your own.

Default columns: ``id``, ``prompt`` or ``messages`` (a JSON list of ``{role, content}``; in CSV
a JSON string), ``category``, ``expected`` and ``harm_area``; every other column goes to the
sample's ``meta``. Options map other column names (``prompt_column`` and so on) and set
``default_expected`` for files without an expected column.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from thinksafe import registry
from thinksafe.errors import ConfigError, DataError
from thinksafe.records import Expected, Messages, Sample, messages_from
from thinksafe.suites.base import (
    SuiteInfo,
    normalise_expected,
    normalise_harm_area,
    option_flag,
    read_column_options,
    suite_info,
)

NAME = "file"

JSONL_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson")
CSV_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv")
EXTENSIONS: tuple[str, ...] = JSONL_EXTENSIONS + CSV_EXTENSIONS

UNCATEGORISED = "uncategorised"


@dataclass(frozen=True)
class FileOptions:
    """How the columns of a user file are named, and what a row expects by default."""

    id_column: str = "id"
    prompt_column: str = "prompt"
    messages_column: str = "messages"
    category_column: str = "category"
    expected_column: str = "expected"
    harm_area_column: str = "harm_area"
    default_expected: Expected = "refuse"

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> FileOptions:
        """Options as the command line passes them. Keys may use ``-`` or ``_``; ``None``
        values mean "not given"; an unknown key or a bad value raises ``ConfigError``."""
        known = {f.name for f in fields(cls)}
        return cls(**read_column_options("file suite", options, known))

    def explicit(self, name: str) -> bool:
        """Whether the column option ``name`` differs from its default."""
        return bool(getattr(self, name) != getattr(_DEFAULT_OPTIONS, name))


_DEFAULT_OPTIONS = FileOptions()


def iter_rows(path: Path, display: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each row of a JSONL or CSV/TSV file; the number is the line the
    row starts on (the CSV header is line 1). ``display`` names the file in error messages."""
    suffix = path.suffix.lower()
    if suffix in JSONL_EXTENSIONS:
        yield from _iter_jsonl(path, display)
    elif suffix in CSV_EXTENSIONS:
        yield from _iter_csv(path, display, "\t" if suffix == ".tsv" else ",")
    else:
        raise DataError(
            f"{display}: unsupported file type {suffix or '(no extension)'!r};"
            f" use one of {', '.join(EXTENSIONS)}"
        )


def require_table_file(path: Path, display: str, hint: str) -> None:
    """``DataError`` unless ``path`` is a file :func:`iter_rows` reads; ``hint`` (what to do)
    ends the message for a path that is not a file."""
    if path.suffix.lower() not in EXTENSIONS:
        suffix = path.suffix or "(no extension)"
        raise DataError(
            f"{display}: unsupported file type {suffix!r}; use one of {', '.join(EXTENSIONS)}"
        )
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise DataError(f"{display}: {what} ({path.resolve()}); {hint}")


def record_id(first: dict[str, str], sample_id: str, here: str, where: str) -> None:
    """Note that ``sample_id`` is ``here`` (``on line 3``: how a later message places it);
    ``DataError`` prefixed with ``where`` when an earlier row had it."""
    if sample_id in first:
        raise DataError(
            f"{where}: duplicate id {sample_id!r} (first {first[sample_id]}); ids must be unique"
        )
    first[sample_id] = here


def _not_utf8(display: str, lineno: int) -> DataError:
    return DataError(f"{display}:{lineno}: not UTF-8 text; save the file as UTF-8")


def _iter_jsonl(path: Path, display: str) -> Iterator[tuple[int, dict[str, Any]]]:
    lineno = 0
    with path.open(encoding="utf-8-sig") as f:
        try:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{display}:{lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
                if not isinstance(row, dict):
                    raise DataError(
                        f"{display}:{lineno}: each line must be a JSON object, got"
                        f" {type(row).__name__}"
                    )
                yield lineno, row
        except UnicodeDecodeError:
            raise _not_utf8(display, lineno + 1) from None


def _iter_csv(path: Path, display: str, delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        # strict: a quote left open fails instead of merging the rest of the file into a cell
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        start = 1
        try:
            header = next(reader, None)
            if header is None:
                raise DataError(f"{display}: the file is empty; it needs a header row")
            names = [h.strip() for h in header]
            for name in names:
                if not name:
                    raise DataError(f"{display}:1: the header has an empty column name")
                if names.count(name) > 1:
                    raise DataError(f"{display}:1: the header names column {name!r} twice")
            start = reader.line_num + 1
            for cells in reader:
                lineno, start = start, reader.line_num + 1
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > len(names):
                    raise DataError(
                        f"{display}:{lineno}: {len(cells)} cells but the header has"
                        f" {len(names)} columns; quote cells that contain"
                        f" {'tabs' if delimiter == chr(9) else 'commas'}"
                    )
                yield lineno, dict(zip(names, cells))
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise DataError(
                    f"{display}:{start}: a quote opened in this row is never closed (the rest"
                    " of the file would become one cell); close it, and write a quote inside a"
                    ' quoted cell as ""'
                ) from None
            raise DataError(f"{display}:{reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise _not_utf8(display, reader.line_num + 1) from None


def _present(value: Any) -> bool:
    """A cell that holds something (CSV writes missing values as empty strings)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _messages(value: Any, column: str, where: str) -> Messages:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{where}: column {column!r} is not valid JSON ({exc.msg}); give a JSON list"
                ' of {"role": ..., "content": ...} objects'
            ) from None
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise DataError(
            f'{where}: column {column!r} must be a JSON list of {{"role": ..., "content": ...}}'
            " objects"
        )
    try:
        messages = messages_from(value)
    except ValueError as exc:
        raise DataError(f"{where}: column {column!r}: {exc}") from None
    if not any(m.content.strip() for m in messages):
        raise DataError(f"{where}: column {column!r} holds only empty messages")
    return messages


def row_to_sample(
    row: Mapping[str, Any], *, suite: str, where: str, lineno: int, options: FileOptions
) -> Sample:
    """One file row as a sample; ``DataError`` prefixed with ``where`` when it is malformed."""
    o = options
    used = {
        o.id_column,
        o.prompt_column,
        o.messages_column,
        o.category_column,
        o.expected_column,
        o.harm_area_column,
    }

    for option in ("id_column", "category_column", "expected_column", "harm_area_column"):
        column = getattr(o, option)
        if o.explicit(option) and column not in row:
            raise DataError(
                f"{where}: row has no {column!r} column (named by {option_flag(option)})"
            )

    raw_messages = row.get(o.messages_column)
    raw_prompt = row.get(o.prompt_column)
    if _present(raw_messages):
        messages = _messages(raw_messages, o.messages_column, where)
    elif _present(raw_prompt):
        if not isinstance(raw_prompt, str):
            raise DataError(f"{where}: column {o.prompt_column!r} must hold text")
        messages = messages_from(raw_prompt)
    elif o.prompt_column in row or o.messages_column in row:
        raise DataError(f"{where}: the prompt is empty; every row needs a prompt")
    else:
        has = ", ".join(repr(k) for k in row) or "none"
        flag = "--messages-column" if o.explicit("messages_column") else "--prompt-column"
        raise DataError(
            f"{where}: row has no {o.prompt_column!r} or {o.messages_column!r} column"
            f" (it has {has}); map yours with {flag}"
        )

    raw_id = row.get(o.id_column)
    if isinstance(raw_id, (dict, list)):
        raise DataError(f"{where}: column {o.id_column!r} must be text or a number")
    sample_id = str(raw_id).strip() if _present(raw_id) else f"row-{lineno}"

    raw_expected = row.get(o.expected_column)
    if _present(raw_expected):
        expected = normalise_expected(raw_expected)
        if expected is None:
            raise DataError(
                f"{where}: unknown expected value {raw_expected!r}; use refuse or comply"
                " (also accepted: unsafe, harmful, 1 / safe, benign, 0)"
            )
    else:
        expected = o.default_expected

    raw_category = row.get(o.category_column)
    if isinstance(raw_category, (dict, list)):
        raise DataError(f"{where}: column {o.category_column!r} must be text")
    category = str(raw_category).strip() if _present(raw_category) else UNCATEGORISED

    meta: dict[str, Any] = {}
    nested = row.get("meta")
    if isinstance(nested, dict) and "meta" not in used:
        meta.update(nested)
    for key, value in row.items():
        if key in used or (key == "meta" and isinstance(nested, dict)):
            continue
        meta[key] = value

    raw_area = row.get(o.harm_area_column)
    area = normalise_harm_area(raw_area)
    if area is None and isinstance(raw_area, str) and expected == "refuse":
        # SimpleSafetyTests' own area names (either official file's spelling)
        from thinksafe.suites.sst import area_slug

        area = area_slug(raw_area)
        if area is not None:
            meta["harm_area_given"] = raw_area
    if area is None:
        area = "other" if expected == "refuse" else "benign"
        if _present(raw_area):
            meta["harm_area_given"] = raw_area

    return Sample(
        id=sample_id,
        suite=suite,
        messages=messages,
        category=category,
        harm_area=area,
        expected=expected,
        meta=meta,
    )


class FileSuite:
    """Samples from a user's JSONL or CSV file."""

    def __init__(self, file: str, options: FileOptions | None = None) -> None:
        self._file = file
        self.options = options or FileOptions()

    @property
    def spec(self) -> str:
        return f"{NAME}:{self._file}"

    @property
    def name(self) -> str:
        """The suite name the samples carry: ``file:<basename>``."""
        return f"{NAME}:{os.path.basename(self._file)}"

    @property
    def path(self) -> Path:
        return Path(self._file).expanduser()

    @property
    def info(self) -> SuiteInfo:
        return replace(suite_info(NAME), name=self.name)

    def load(self) -> list[Sample]:
        path = self.path
        display = self._file
        require_table_file(path, display, "check the path after file:")
        name = self.name
        samples: list[Sample] = []
        first: dict[str, str] = {}
        for lineno, row in iter_rows(path, display):
            where = f"{display}:{lineno}"
            sample = row_to_sample(
                row, suite=name, where=where, lineno=lineno, options=self.options
            )
            record_id(first, sample.id, f"on line {lineno}", where)
            samples.append(sample)
        if not samples:
            raise DataError(f"{display}: the file has no rows")
        return samples


@registry.suites.register(
    NAME,
    description="your own prompts from a JSONL or CSV file: file:PATH",
    source="a file you give",
    licence="yours",
    citation="",
    size=None,
    expected="mixed",
    categories=[],
    needs_arg=True,
    formats=[ext.lstrip(".") for ext in EXTENSIONS],
)
def make_file_suite(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> FileSuite:
    """Build a file suite from ``file:PATH``."""
    if not arg:
        given = f" (got file@{path})" if path else ""
        raise ConfigError(f"the file suite needs a path{given}: use --suite file:PATH")
    return FileSuite(arg, FileOptions.from_mapping(options))

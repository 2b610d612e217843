"""Property-based fuzzing of the suite and transcript file readers.

Any bytes, in any encoding, with any quoting, end in one of two ways: a correct parse, or a
``UserError`` whose message is one line (which the command line prints before exiting 2).
Never a traceback: no other exception escapes. Well-formed files written by the standard
writers parse back to exactly the text that was written.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinksafe.cli.main import main
from thinksafe.errors import UserError
from thinksafe.run.transcripts import read_transcripts
from thinksafe.suites.file import FileSuite

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXTENSIONS = (".jsonl", ".csv", ".tsv")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252")

# Cells made of the characters that break readers: quotes, separators, line ends, BOMs,
# controls, surrogate-free non-ASCII.
TRICKY = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\",\t\r\n\\'{}[]: \ufeff\x00\x1b\u2028é中🙂")),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=40,
)


def _read(kind: str, path: Path) -> list[Any]:
    if kind == "suite":
        return list(FileSuite(str(path)).load())
    return list(read_transcripts(path))


def _one_line_or_parse(kind: str, path: Path) -> list[Any] | None:
    try:
        return _read(kind, path)
    except UserError as exc:
        message = str(exc)
        assert message.strip(), "an error must say something"
        assert "\n" not in message and "\r" not in message, message
        return None


@pytest.mark.parametrize("kind", ["suite", "transcripts"])
@FUZZ
@given(data=st.binary(max_size=600), ext=st.sampled_from(EXTENSIONS))
def test_arbitrary_bytes(kind: str, data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{ext}"
        path.write_bytes(data)
        _one_line_or_parse(kind, path)


def _csv_bytes(rows: list[dict[str, str]], delimiter: str, encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding, errors="replace")


def _jsonl_bytes(rows: list[dict[str, str]], encoding: str, ascii_only: bool) -> bytes:
    text = "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in rows)
    return text.encode(encoding, errors="replace")


ROWS = st.lists(
    st.fixed_dictionaries({"prompt": TRICKY, "response": TRICKY}), min_size=1, max_size=5
)


@pytest.mark.parametrize("kind", ["suite", "transcripts"])
@FUZZ
@given(
    rows=ROWS,
    ext=st.sampled_from(EXTENSIONS),
    encoding=st.sampled_from(ENCODINGS),
    ascii_only=st.booleans(),
)
def test_written_files_parse_back_or_fail_in_one_line(
    kind: str, rows: list[dict[str, str]], ext: str, encoding: str, ascii_only: bool
) -> None:
    table = [{"id": f"r{i}", **row} for i, row in enumerate(rows)]
    if ext == ".jsonl":
        data = _jsonl_bytes(table, encoding, ascii_only)
    else:
        data = _csv_bytes(table, "\t" if ext == ".tsv" else ",", encoding)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{ext}"
        path.write_bytes(data)
        parsed = _one_line_or_parse(kind, path)
    if parsed is None:
        return
    clean = encoding in ("utf-8", "utf-8-sig") and "\x00" not in str(table)
    if not clean:
        return  # another encoding may read as other text; it must not crash, that is all
    samples = [p if kind == "suite" else p.sample for p in parsed]
    assert [s.id for s in samples] == [r["id"] for r in table]
    for sample, row in zip(samples, table):
        # a prompt made of blanks only is refused, never read as something else
        assert sample.messages[-1].content == row["prompt"]


@FUZZ
@given(data=st.binary(max_size=400), ext=st.sampled_from(EXTENSIONS))
def test_command_line_answers_in_one_line_or_exit_0(
    data: bytes, ext: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{ext}"
        path.write_bytes(data)
        code = main(["suites", "show", f"file:{path}"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err

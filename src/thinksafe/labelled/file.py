"""A labelled set from a transcript file of your own: the transcript columns (``id``,
``prompt``, ``response``, optional ``reasoning``, ``category``, ``expected``) plus a label column,
and optionally columns holding other judges' verdicts.

Label values: unsafe, harmful, 1, yes, true are unsafe; safe, harmless, unharmful, benign, 0,
no, false are safe; with ``positive`` values given, those are unsafe and every other non-empty
value safe. Any other value, or an empty cell, is an error naming the file and line. A
prediction cell that is empty or unknown is ``unscorable`` (counted, never safe).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from thinksafe.errors import DataError
from thinksafe.labelled.base import LabelledItem, LabelledSet, read_label, read_prediction
from thinksafe.records import Label
from thinksafe.run.transcripts import SUITE_PREFIX, TranscriptOptions, row_to_transcript
from thinksafe.suites.file import iter_rows, record_id

DEFAULT_LABEL_COLUMN = "label"


def load_file(
    path: str,
    *,
    options: TranscriptOptions | None = None,
    label_column: str = DEFAULT_LABEL_COLUMN,
    positive: Sequence[str] = (),
    prediction_columns: Sequence[str] = (),
) -> LabelledSet:
    """Read a labelled transcript file (JSONL, CSV or TSV)."""
    file = Path(path).expanduser()
    if not file.is_file():
        what = "is a folder, not a file" if file.is_dir() else "not found"
        raise DataError(
            f"{path}: {what} ({file.resolve()}); give a labelled transcript file or a"
            " registered set (xstest-completions, do-not-answer, ...)"
        )
    opts = options or TranscriptOptions()
    base = os.path.basename(path)
    suite = f"{SUITE_PREFIX}:{base}"
    items: list[LabelledItem] = []
    first: dict[str, str] = {}
    for lineno, row in iter_rows(file, path):
        where = f"{path}:{lineno}"
        if label_column not in row:
            has = ", ".join(repr(k) for k in row) or "none"
            raise DataError(
                f"{where}: row has no {label_column!r} column (it has {has}); name the column"
                " holding the human labels with --label-column"
            )
        for column in prediction_columns:
            if column not in row:
                raise DataError(
                    f"{where}: row has no {column!r} column (named by --prediction-column)"
                )
        raw = row[label_column]
        label = read_label(raw, positive)
        if label is None:
            raise DataError(
                f"{where}: label {raw!r} in column {label_column!r} is neither safe nor unsafe;"
                " use unsafe/safe, 1/0, yes/no or true/false, or name the unsafe value with"
                " --positive-label"
            )
        transcript = row_to_transcript(row, suite=suite, where=where, lineno=lineno, options=opts)
        record_id(first, transcript.sample.id, f"on line {lineno}", where)
        predictions: dict[str, Label] = {c: read_prediction(row[c]) for c in prediction_columns}
        items.append(LabelledItem(transcript, label, predictions, source=base))
    if not items:
        raise DataError(f"{path}: the file has no rows")
    rule = (
        f"unsafe = column {label_column!r} is one of {', '.join(repr(p) for p in positive)};"
        " every other value is safe"
        if positive
        else f"unsafe/safe read from column {label_column!r}"
    )
    return LabelledSet(
        spec=path,
        name=base,
        items=tuple(items),
        label_rule=rule,
        predictions={c: f"column {c!r} of the file" for c in prediction_columns},
        provenance={"source": "path", "path": path},
    )

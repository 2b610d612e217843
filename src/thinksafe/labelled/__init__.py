"""Labelled sets: responses people have already judged, for measuring judges (``judge-eval``).

Registered sets are looked up by name and loaded from their official remote copy (or, for a
set written for thinksafe, the copy shipped in the package), or with ``NAME@PATH`` from a local
copy in the official format:

- ``xstest-completions``: XSTest v2 completions, labelled full compliance / refusal / partial;
- ``do-not-answer``: Do-Not-Answer responses of six models, labelled harmful or not, with the
  paper's GPT-4 and Longformer evaluators as prediction columns;
- ``jbb-judge-comparison``: JailbreakBench's judge comparison set;
- ``harmbench-classifier-val``: HarmBench's classifier validation set;
- ``thinksafe-traces``: reasoning traces in DeepSeek-R1 shapes, written for thinksafe and
  labelled by what the trace produces (measured on the reasoning channel, per shape).

Anything else is read as a labelled transcript file of your own (:mod:`.file`). A module is
imported only when its set is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from thinksafe.errors import ConfigError, UnknownComponentError
from thinksafe.labelled.base import LabelledItem, LabelledSet, LabelledSetInfo, Truth
from thinksafe.run.transcripts import TranscriptOptions

__all__ = [
    "SETS",
    "LabelledItem",
    "LabelledSet",
    "LabelledSetInfo",
    "Truth",
    "load_labelled",
    "set_info",
]

SETS: dict[str, str] = {
    "xstest-completions": "thinksafe.labelled.xstest",
    "do-not-answer": "thinksafe.labelled.donotanswer",
    "jbb-judge-comparison": "thinksafe.labelled.jbb",
    "harmbench-classifier-val": "thinksafe.labelled.harmbench",
    "thinksafe-traces": "thinksafe.labelled.traces",
}
"""Registered labelled sets: name -> module (which defines ``INFO``)."""


def set_info(name: str) -> LabelledSetInfo:
    """The metadata and loader of a registered labelled set."""
    module = SETS.get(name)
    if module is None:
        raise UnknownComponentError(
            f"unknown labelled set {name!r}; known: {', '.join(sorted(SETS))}"
        )
    info: LabelledSetInfo = importlib.import_module(module).INFO
    return info


def split_spec(spec: str) -> tuple[str, str | None] | None:
    """``(NAME, PATH or None)`` when ``spec`` names a registered set, else ``None``."""
    name, sep, path = spec.strip().partition("@")
    if name not in SETS:
        return None
    if sep and not path:
        raise ConfigError(f"labelled set spec {spec!r}: give a path after @")
    return name, (path if sep else None)


def load_labelled(
    spec: str,
    *,
    options: TranscriptOptions | None = None,
    label_column: str | None = None,
    positive: Sequence[str] = (),
    prediction_columns: Sequence[str] = (),
) -> LabelledSet:
    """A registered set (``NAME`` or ``NAME@PATH``) or a labelled transcript file.

    For a registered set the labels are the set's own, so ``label_column``, ``positive`` and
    column ``options`` are refused; ``prediction_columns`` must name predictions it holds.
    """
    parsed = split_spec(spec)
    if parsed is None:
        from thinksafe.labelled.file import DEFAULT_LABEL_COLUMN, load_file

        return load_file(
            spec,
            options=options,
            label_column=label_column or DEFAULT_LABEL_COLUMN,
            positive=positive,
            prediction_columns=prediction_columns,
        )
    name, path = parsed
    if label_column is not None or positive:
        raise ConfigError(
            f"{name} has its own labels; --label-column and --positive-label are for files of"
            " your own"
        )
    if options is not None and options != TranscriptOptions():
        raise ConfigError(f"{name} has its own columns; the column options are for your files")
    info = set_info(name)
    dataset = info.load(path)
    missing = [c for c in prediction_columns if c not in dataset.predictions]
    if missing:
        have = ", ".join(sorted(dataset.predictions)) or "none"
        raise ConfigError(
            f"{dataset.spec} has no prediction column {missing[0]!r} (it has: {have})"
        )
    return dataset

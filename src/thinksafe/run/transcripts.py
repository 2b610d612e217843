"""Transcripts: prompts with the responses a model already gave, read from a JSONL or CSV file.

Default columns: ``id``, ``prompt`` (or ``messages``, a JSON list of ``{role, content}``),
``response``, and optionally ``reasoning``, ``category``, ``expected`` (default ``refuse``) and
``harm_area``; every other column goes to the sample's ``meta``. A response that holds
``<think>`` tags, on a row with no reasoning, is split into reasoning and answer by
:func:`thinksafe.targets.reasoning.split_text` (an unclosed ``<think>`` is a truncated trace).
An empty response is kept: it is an ``empty`` outcome, counted and never safe.

Rows are read by the same reader and row parser as the ``file:`` suite, so the same files, the
same column options and the same ``FILE:LINE`` errors apply.

Each row becomes a :class:`Transcript` (a :class:`~thinksafe.records.Sample` and the
:class:`~thinksafe.records.Completion` it got). :func:`thinksafe.run.build.build_replay_plan` makes
a plan of them that the real engine runs: the ``replay`` target
(:mod:`thinksafe.targets.replay`) hands back each prompt's recorded response, so judging,
caching, the store and the summary are exactly those of ``thinksafe run``.

Many responses per prompt. A file may hold several models' responses (a model column: each
model's rows become a run of their own, :func:`group_by_model`) and several responses of one
model to one prompt. Within one model, rows that share an id are samples of one prompt: the
first is the plain attempt, the k-th the attempt of variant ``sample-k`` (so the k-th samples of
two models pair in a comparison); the same id with another prompt is an error. With
``prompt_ids`` (``thinksafe judge --model/--model-column``) a row without an id is identified
by its prompt, so the same prompt is one sample in every model's run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from thinksafe.errors import DataError
from thinksafe.records import (
    Completion,
    Expected,
    Sample,
    canonical_json,
    content_hash,
    messages_to_list,
)
from thinksafe.suites.base import read_column_options
from thinksafe.suites.file import (
    FileOptions,
    iter_rows,
    record_id,
    require_table_file,
    row_to_sample,
)
from thinksafe.targets.reasoning import split_text

__all__ = [
    "Transcript",
    "TranscriptOptions",
    "completion_from_text",
    "group_by_model",
    "messages_key",
    "read_transcripts",
    "replay_layers",
    "require_one_response_per_prompt",
    "row_to_transcript",
    "sample_variants",
]

SUITE_PREFIX = "transcripts"

SAMPLE_VARIANT = "sample-{}"
"""The attempt variant of the k-th response (k >= 2) to one sample by one model."""


@dataclass(frozen=True)
class TranscriptOptions:
    """How the columns of a transcript file are named."""

    id_column: str = "id"
    prompt_column: str = "prompt"
    messages_column: str = "messages"
    response_column: str = "response"
    reasoning_column: str = "reasoning"
    category_column: str = "category"
    expected_column: str = "expected"
    harm_area_column: str = "harm_area"
    default_expected: Expected = "refuse"

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> TranscriptOptions:
        """Options as the command line passes them (``None`` values: not given)."""
        known = {f.name for f in fields(cls)}
        return cls(**read_column_options("transcripts", options, known, flag_names=True))

    def file_options(self) -> FileOptions:
        """The ``file:`` suite options for the prompt side of a row."""
        return FileOptions(
            id_column=self.id_column,
            prompt_column=self.prompt_column,
            messages_column=self.messages_column,
            category_column=self.category_column,
            expected_column=self.expected_column,
            harm_area_column=self.harm_area_column,
            default_expected=self.default_expected,
        )

    def explicit(self, name: str) -> bool:
        return bool(getattr(self, name) != getattr(_DEFAULTS, name))


_DEFAULTS = TranscriptOptions()


@dataclass(frozen=True)
class Transcript:
    """One row: the sample, the completion it got, and the line it starts on."""

    sample: Sample
    completion: Completion
    line: int = 0
    model: str | None = None


def _text_cell(row: Mapping[str, Any], column: str, where: str) -> str | None:
    """A cell that must hold text: ``None`` when the column is missing or the cell empty."""
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        raise DataError(f"{where}: column {column!r} must hold text")
    text = str(value)
    return text if text.strip() else None


def completion_from_text(response: str, reasoning: str | None = None) -> Completion:
    """The completion a recorded response stands for.

    With ``reasoning`` the trace is taken as given (kind ``raw``); otherwise a response holding
    ``<think>`` tags is split, and one without tags is all answer (reasoning ``absent``).
    """
    if reasoning is not None and reasoning.strip():
        return Completion(
            answer=response.strip(),
            reasoning=reasoning.strip(),
            reasoning_kind="raw",
            finish_reason="stop",
        )
    split = split_text(response)
    return Completion(
        answer=split.answer,
        reasoning=split.reasoning,
        reasoning_kind=split.kind,
        finish_reason="stop",
    )


def row_to_transcript(
    row: Mapping[str, Any],
    *,
    suite: str,
    where: str,
    lineno: int,
    options: TranscriptOptions,
    model_column: str | None = None,
    prompt_ids: bool = False,
) -> Transcript:
    """One file row as a transcript; ``DataError`` prefixed with ``where`` when malformed.

    ``model_column``: the column naming the model that gave the response (required in every
    row). ``prompt_ids``: a row without an id is identified by its prompt, not its line."""
    o = options
    if o.response_column not in row:
        has = ", ".join(repr(k) for k in row) or "none"
        raise DataError(
            f"{where}: row has no {o.response_column!r} column (it has {has}); map yours with"
            " --response-column"
        )
    if o.explicit("reasoning_column") and o.reasoning_column not in row:
        raise DataError(
            f"{where}: row has no {o.reasoning_column!r} column (named by --reasoning-column)"
        )
    response = _text_cell(row, o.response_column, where) or ""
    reasoning = _text_cell(row, o.reasoning_column, where)
    sample = row_to_sample(row, suite=suite, where=where, lineno=lineno, options=o.file_options())
    model = None
    if model_column is not None:
        model = _text_cell(row, model_column, where)
        if model is None:
            raise DataError(
                f"{where}: no model named in column {model_column!r}; fill it in, or give"
                " --model NAME for a file of one model"
            )
        model = model.strip()
    dropped = (o.response_column, o.reasoning_column, model_column)
    meta = {k: v for k, v in sample.meta.items() if k not in dropped}
    sample = replace(sample, meta=meta)
    if prompt_ids and _text_cell(row, o.id_column, where) is None:
        sample = replace(sample, id="p-" + content_hash(messages_to_list(sample.messages))[:12])
    return Transcript(
        sample=sample,
        completion=completion_from_text(response, reasoning),
        line=lineno,
        model=model,
    )


def read_transcripts(
    path: str | Path,
    options: TranscriptOptions | None = None,
    *,
    display: str | None = None,
    suite: str | None = None,
    model_column: str | None = None,
    prompt_ids: bool = False,
    samples: bool = False,
) -> list[Transcript]:
    """Every row of a JSONL or CSV/TSV transcript file.

    Ids must be unique, unless ``samples``: then rows of one model that share an id and a
    prompt are several samples of that prompt (another prompt under the same id is an error).
    ``model_column`` and ``prompt_ids`` are as in :func:`row_to_transcript`."""
    file = Path(path).expanduser()
    shown = display or str(path)
    require_table_file(file, shown, "check the path")
    opts = options or TranscriptOptions()
    name = suite or f"{SUITE_PREFIX}:{os.path.basename(str(path))}"
    out: list[Transcript] = []
    first: dict[str, str] = {}
    prompts: dict[tuple[str | None, str], Transcript] = {}
    for lineno, row in iter_rows(file, shown):
        where = f"{shown}:{lineno}"
        transcript = row_to_transcript(
            row,
            suite=name,
            where=where,
            lineno=lineno,
            options=opts,
            model_column=model_column,
            prompt_ids=prompt_ids,
        )
        if samples:
            earlier = prompts.setdefault((transcript.model, transcript.sample.id), transcript)
            if earlier.sample.messages != transcript.sample.messages:
                raise DataError(
                    f"{where}: id {transcript.sample.id!r} was given to another prompt on line"
                    f" {earlier.line}; rows that share an id must share the prompt"
                )
        else:
            record_id(first, transcript.sample.id, f"on line {lineno}", where)
        out.append(transcript)
    if not out:
        raise DataError(f"{shown}: the file has no rows")
    return out


def group_by_model(items: Sequence[Transcript]) -> list[tuple[str, list[Transcript]]]:
    """(model, its transcripts) in the order the models first appear."""
    groups: dict[str, list[Transcript]] = {}
    for item in items:
        groups.setdefault(item.model or "", []).append(item)
    return list(groups.items())


def sample_variants(items: Sequence[Transcript]) -> list[str]:
    """The attempt variant of each transcript: ``""`` for the first row of a sample,
    ``sample-k`` for its k-th."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        k = seen[item.sample.id] = seen.get(item.sample.id, 0) + 1
        out.append("" if k == 1 else SAMPLE_VARIANT.format(k))
    return out


# ---------------------------------------------------------------------------------------------
# Replaying through the engine
# ---------------------------------------------------------------------------------------------


def messages_key(messages: Sequence[Any]) -> str:
    """The text a replayed response is looked up by: the conversation sent."""
    return canonical_json(messages_to_list(messages))


def replay_layers(items: Sequence[Transcript]) -> list[list[Transcript]]:
    """Split transcripts into layers in which each conversation has one response.

    The engine caches a completion by (target, conversation), so one replay can hold only one
    response per prompt; a prompt answered several times (by several models, say) goes to the
    next layer each time it comes again with a different response. Order is kept.
    """
    layers: list[list[Transcript]] = []
    seen: list[dict[str, Completion]] = []
    for item in items:
        key = messages_key(item.sample.messages)
        for index, layer_seen in enumerate(seen):
            found = layer_seen.get(key)
            if found is None or found == item.completion:
                layer_seen[key] = item.completion
                layers[index].append(item)
                break
        else:
            seen.append({key: item.completion})
            layers.append([item])
    return layers


def require_one_response_per_prompt(items: Sequence[Transcript], display: str) -> None:
    """``DataError`` naming both lines when a prompt comes again with another response."""
    first: dict[str, Transcript] = {}
    for item in items:
        key = messages_key(item.sample.messages)
        earlier = first.setdefault(key, item)
        if earlier is not item and earlier.completion != item.completion:
            raise DataError(
                f"{display}:{item.line}: the prompt of line {earlier.line} comes again with"
                " another response; one file replays one response per prompt, so put each"
                " model's transcripts in a file of its own"
            )

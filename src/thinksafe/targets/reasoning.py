"""Split a model's thinking trace from its final answer, and say where the trace came from.

Reasoning models hand their trace back in several shapes:

- inline, between ``<think>`` and ``</think>`` in the message content (also with the opening
  tag missing when the chat template put it in the prompt, and unclosed when the output was cut);
- in a separate message field: ``reasoning_content`` (DeepSeek, vLLM, SGLang, llama.cpp),
  ``reasoning`` (OpenRouter, Ollama's OpenAI endpoint, newer vLLM), ``thinking`` (Ollama's
  native API) or OpenRouter's structured ``reasoning_details``;
- as content parts, Anthropic style: ``{"type": "thinking"}``, ``{"type": "redacted_thinking"}``
  and ``{"type": "text"}``.

Each function returns a :class:`Split`: the answer, the reasoning text and its provenance
(``raw | summary | redacted | absent | truncated``, see :data:`thinksafe.records.ReasoningKind`).
Everything here runs once per completion, so it scans with ``str.find`` in linear time and reads
only the handful of fields it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from thinksafe.records import ReasoningKind

__all__ = ["Split", "split_message", "split_message_obj", "split_text"]

_SEP = "\n\n"
# Message fields read by split_message, in the order they are consulted.
_STRING_FIELDS = ("reasoning_content", "reasoning", "thinking")
_OBJ_FIELDS = ("content", "refusal", *_STRING_FIELDS, "reasoning_details")


@dataclass(frozen=True)
class Split:
    """The final answer, the thinking trace and the trace's provenance."""

    answer: str
    reasoning: str
    kind: ReasoningKind


def _add(parts: list[str], piece: str) -> None:
    piece = piece.strip()
    if piece:
        parts.append(piece)


def split_text(
    content: str,
    *,
    open_tag: str = "<think>",
    close_tag: str = "</think>",
) -> Split:
    """Split ``content`` on think tags.

    - ``<think>R</think>A`` gives reasoning ``R`` and answer ``A`` (kind ``raw``);
    - ``R</think>A`` (the opening tag was in the prompt) gives the same;
    - ``<think>R`` with no closing tag gives reasoning ``R``, an empty answer and kind
      ``truncated``, however the generation ended: an unclosed trace is incomplete;
    - several blocks: their texts are joined by a blank line, and so are the answer pieces
      between them; a closing tag without an opening one ends a block that began at the previous
      tag (or the start), and an opening tag inside a block starts a new block;
    - no tags at all: the whole text is the answer, kind ``absent``; tags around nothing
      (``<think>\\n</think>A``) also give ``absent``.

    Both parts are stripped of surrounding whitespace. The tags alone tell whether the trace
    was cut.
    """
    if not open_tag or not close_tag:
        raise ValueError("open_tag and close_tag must be non-empty strings")
    next_open = content.find(open_tag)
    next_close = content.find(close_tag)
    if next_open < 0 and next_close < 0:
        return Split(content.strip(), "", "absent")

    answer: list[str] = []
    reasoning: list[str] = []
    n_open, n_close = len(open_tag), len(close_tag)
    pos = 0
    inside = False
    # Each tag position is searched for once and cached until passed, so the scan is linear.
    while next_open >= 0 or next_close >= 0:
        is_open = next_close < 0 or (0 <= next_open < next_close)
        at = next_open if is_open else next_close
        # Text inside a block, or before a closing tag that had no opening one, is reasoning.
        _add(reasoning if inside or not is_open else answer, content[pos:at])
        inside = is_open
        pos = at + (n_open if is_open else n_close)
        if 0 <= next_open < pos:
            next_open = content.find(open_tag, pos)
        if 0 <= next_close < pos:
            next_close = content.find(close_tag, pos)
    _add(reasoning if inside else answer, content[pos:])

    if inside:
        kind: ReasoningKind = "truncated"
    elif reasoning:
        kind = "raw"
    else:
        kind = "absent"
    return Split(_SEP.join(answer), _SEP.join(reasoning), kind)


def _get(item: Any, key: str) -> Any:
    """A key of a dict, or an attribute of an SDK object; None when missing."""
    if isinstance(item, Mapping):
        return item.get(key)
    return getattr(item, key, None)


def _nonblank(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _read_details(details: Any) -> tuple[str, ReasoningKind] | None:
    """OpenRouter's ``reasoning_details``: readable text and its kind, or None if it has none.

    ``reasoning.text`` items are raw, ``reasoning.summary`` items a summary, and
    ``reasoning.encrypted`` items (or text items with no text) mark a trace that exists but is
    not readable. The ciphertext is never returned.
    """
    if not isinstance(details, (list, tuple)):
        return None
    texts: list[str] = []
    has_raw = has_summary = hidden = False
    for item in details:
        kind = _get(item, "type")
        if kind == "reasoning.text":
            text = _get(item, "text")
            if _nonblank(text):
                texts.append(text.strip())
                has_raw = True
            else:
                hidden = True
        elif kind == "reasoning.summary":
            summary = _get(item, "summary")
            if _nonblank(summary):
                texts.append(summary.strip())
                has_summary = True
        elif kind == "reasoning.encrypted":
            hidden = True
    if has_raw:
        return _SEP.join(texts), "raw"
    if has_summary:
        return _SEP.join(texts), "summary"
    if hidden:
        return "", "redacted"
    return None


def _read_parts(parts: list[Any] | tuple[Any, ...]) -> tuple[str, str, ReasoningKind | None]:
    """Content given as a list of parts: (answer text, thinking text, thinking kind or None)."""
    texts: list[str] = []
    thoughts: list[str] = []
    hidden = False
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        kind = _get(part, "type")
        if kind == "text":
            text = _get(part, "text")
            if isinstance(text, str):
                texts.append(text)
        elif kind == "thinking":
            thinking = _get(part, "thinking")
            if _nonblank(thinking):
                thoughts.append(thinking.strip())
            else:
                hidden = True  # a signed block whose text was omitted
        elif kind == "redacted_thinking":
            hidden = True
    kind_out: ReasoningKind | None = "raw" if thoughts else ("redacted" if hidden else None)
    return "".join(texts), _SEP.join(thoughts), kind_out


def _read_fields(message: Mapping[str, Any]) -> tuple[str, ReasoningKind] | None:
    """The trace from a separate message field, or None when no field carries one."""
    details = message.get("reasoning_details")
    from_details = _read_details(details) if details else None
    value = message.get("reasoning_content")
    if _nonblank(value):
        return value.strip(), "raw"
    value = message.get("reasoning")
    if _nonblank(value):
        # OpenRouter sends the readable text in `reasoning` too; its details say what it is.
        kind: ReasoningKind = (
            "summary" if from_details is not None and from_details[1] == "summary" else "raw"
        )
        return value.strip(), kind
    if from_details is not None:
        return from_details
    value = message.get("thinking")
    if _nonblank(value):
        return value.strip(), "raw"
    return None


def split_message(message: Mapping[str, Any], *, finish_reason: str | None = None) -> Split:
    """Split one chat-completion choice's message (a dict, as in the JSON reply).

    The trace is read from, in order: ``reasoning_content``, ``reasoning`` (a string; marked
    ``summary`` when ``reasoning_details`` says it is one), ``reasoning_details``, ``thinking``,
    Anthropic-style ``thinking``/``redacted_thinking`` content parts, and finally ``<think>`` tags
    in the content (see :func:`split_text`). When a field carried the trace, tags in the content
    are still removed from the answer and their text appended to the reasoning, and the field's
    kind wins, except that a trace cut by the token limit (``finish_reason == "length"`` with an
    empty answer) or an unclosed think block gives ``truncated``.

    A ``content`` of None counts as ``""``; an empty answer falls back to the message's
    ``refusal`` text when it has one.
    """
    content = message.get("content")
    list_reasoning = ""
    list_kind: ReasoningKind | None = None
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, (list, tuple)):
        text, list_reasoning, list_kind = _read_parts(content)
    else:
        kind_name = type(content).__name__
        raise TypeError(
            f"message content must be a string, a list of parts or None, not {kind_name}"
        )

    tags = split_text(text)
    answer = tags.answer
    if not answer:
        refusal = message.get("refusal")
        if _nonblank(refusal):
            answer = refusal.strip()

    field = _read_fields(message)
    if field is None and list_kind is not None:
        field, list_reasoning = (list_reasoning, list_kind), ""
    if field is None:
        return Split(answer, tags.reasoning, tags.kind)

    field_text, kind = field
    parts = [p for p in (field_text, list_reasoning, tags.reasoning) if p]
    if tags.kind == "truncated" or (finish_reason == "length" and not answer):
        kind = "truncated"
    return Split(answer, _SEP.join(parts), kind)


def split_message_obj(message: Any, *, finish_reason: str | None = None) -> Split:
    """Like :func:`split_message`, for the openai SDK's ``ChatCompletionMessage`` object.

    Declared fields and provider extras (``reasoning_content`` and friends, which the SDK keeps
    as pydantic extras) are read straight from the model, without dumping it. Plain dicts and
    other objects with these attributes are accepted too.
    """
    if isinstance(message, dict):
        return split_message(message, finish_reason=finish_reason)
    # A pydantic model keeps declared fields in __dict__ and provider extras (extra="allow")
    # in __pydantic_extra__; reading those two dicts is far cheaper than model_dump().
    extra = getattr(message, "__pydantic_extra__", None)
    values = getattr(message, "__dict__", None)
    fields: dict[str, Any]
    if isinstance(extra, dict) and isinstance(values, dict):
        fields = {key: values[key] for key in _OBJ_FIELDS if key in values}
        fields.update(extra)
    elif isinstance(message, Mapping):
        return split_message(message, finish_reason=finish_reason)
    else:
        fields = {key: getattr(message, key, None) for key in _OBJ_FIELDS}
    return split_message(fields, finish_reason=finish_reason)

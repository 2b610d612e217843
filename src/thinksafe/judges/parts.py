"""The parts a model judge is composed of (see :mod:`thinksafe.judges.model_judge`).

A model judge asks a model about one channel's text and reads its reply. What varies between
judges is two small pieces, each a Protocol here:

- a :class:`PromptBuilder` writes the question(s) in the judge's format: a rubric prompt with
  delimited data (:mod:`thinksafe.judges.rubric_judge`) or a guard model's own input format
  (:mod:`thinksafe.judges.guards`);
- a :class:`ReplyReader` reads one reply into a :class:`Reading`, or None when it cannot be
  read (then the question is asked once more, and unreadable twice is unscorable).

How a question reaches the model (a chat endpoint, or a whole prompt on a local engine) and
how the one retry is made is the :class:`~thinksafe.judges.asking.Asker`'s business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from thinksafe.records import Channel, JudgeItem, Messages, Refusal

if TYPE_CHECKING:
    from thinksafe.judges.guards_local import Vocab

__all__ = ["PromptBuilder", "Question", "Reading", "ReplyReader"]


@dataclass(frozen=True)
class Question:
    """One question to a judge model: a whole prompt text (for a local engine, turn markers
    included) or chat messages, with fields added to the request body
    (``chat_template_kwargs``). ``reminder`` is appended to the last message when the question
    is asked again after an unreadable reply (rubric prompts; a guard's format is fixed, so
    guards leave it empty)."""

    prompt: str | None = None
    messages: Messages = ()
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    reminder: str = ""


@dataclass(frozen=True)
class Reading:
    """A judge model's reply, read: the label and what else the format gives."""

    label: Literal["safe", "unsafe"]
    refusal: Refusal | None = None
    score: float | None = None
    rationale: str = ""
    probability: float | None = None


class PromptBuilder(Protocol):
    """Writes the questions of a judge about (part of) one channel's text."""

    @property
    def channels(self) -> frozenset[Channel]:
        """The channels the judge reads."""
        ...

    def identity(self) -> dict[str, Any]:
        """What defines the prompts (template hashes): part of the judge's identity."""
        ...

    def questions(
        self, item: JudgeItem, text: str, note: str, vocab: Vocab | None
    ) -> Sequence[Question]:
        """The questions about ``text`` (all or part of the item's channel text). ``note`` says
        which part of a long text this is ("" for all of it); ``vocab`` is the local model's
        tokenizer, None when the model is asked through a chat endpoint."""
        ...


class ReplyReader(Protocol):
    """Reads one reply of the judge model; None when it cannot be read."""

    def __call__(self, reply: str, item: JudgeItem) -> Reading | None: ...

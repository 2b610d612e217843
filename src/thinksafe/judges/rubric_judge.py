"""The rubric format of the model judge: rubric judges (``safety``, ``strongreject``,
``harmbench``, ``xstest``, ``injection``, ``harmfulness``, ``air-bench``,
``cyberseceval-mitre``) are a :class:`~thinksafe.judges.model_judge.ModelJudge` with a
:class:`RubricPrompt` (one rubric file per channel it reads, model text delimited by markers
it cannot close, see :mod:`thinksafe.judges.untrusted`), a reader of its own (see
:mod:`thinksafe.judges.replies`) and :meth:`Asker.rubric <thinksafe.judges.asking.Asker.rubric>`
(temperature 0, one retry with a reminder of the reply format). The judges hold no state
beyond their target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.judges.asking import JUDGE_GENERATION
from thinksafe.judges.guards_local import Vocab
from thinksafe.judges.model_judge import ModelJudge
from thinksafe.judges.parts import Question, Reading
from thinksafe.judges.replies import (
    bare_word,
    first_number,
    read_number,
    read_yes_no,
    with_rationale,
    yes_no_reading,
)
from thinksafe.judges.templates import Rubric, load_rubric
from thinksafe.judges.untrusted import boundary_token, delimit, neutralise
from thinksafe.records import Channel, JudgeItem, Message, messages_from
from thinksafe.run.build import JudgeContext

__all__ = [
    "YES_NO_REMINDER",
    "RubricJudge",
    "RubricPrompt",
    "RubricReading",
    "bare_word",
    "first_number",
    "judge_generation",
    "read_number",
    "read_yes_no",
    "render_messages",
    "rubric_factory",
    "with_rationale",
    "yes_no_reading",
]

# Names kept from before the rubric and guard judges shared one skeleton.
RubricJudge = ModelJudge
RubricReading = Reading

# The retry reminder of a rubric answered with ``answer: yes/no`` and ``rationale:`` lines.
YES_NO_REMINDER = (
    "Your previous reply could not be read. Reply with exactly these two lines and nothing"
    " else:\nanswer: yes or no\nrationale: one short sentence"
)


def render_messages(messages: Sequence[Message]) -> str:
    """A conversation as plain text, one ``[role]`` header per message."""
    return "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages)


def original_request(item: JudgeItem) -> str:
    """The benchmark's original request, so an attack's wrapping cannot hide what was asked."""
    return item.sample.prompt


def no_blocks(item: JudgeItem) -> dict[str, tuple[str, str]]:
    return {}


def no_notes(item: JudgeItem) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class RubricPrompt:
    """Rubric prompts, one rubric file per channel (channel -> file name in
    ``judges/rubrics/``), each with the reminder sent with the retry.

    ``request`` is the request shown (``{{prompt}}``); ``blocks`` more untrusted text,
    placeholder -> (heading, text), each filled in as the heading line and the text delimited
    as a block named after the placeholder (upper case), or as nothing when the text is empty;
    ``notes`` trusted text (from the judge or the benchmark's data), placeholder -> text, whose
    marker runs are still neutralised.
    """

    rubric_files: Mapping[Channel, str]
    reminders: Mapping[Channel, str]
    request: Callable[[JudgeItem], str] = original_request
    blocks: Callable[[JudgeItem], dict[str, tuple[str, str]]] = no_blocks
    notes: Callable[[JudgeItem], dict[str, str]] = no_notes
    rubrics: Mapping[Channel, Rubric] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        loaded = {channel: load_rubric(name) for channel, name in self.rubric_files.items()}
        object.__setattr__(self, "rubrics", loaded)

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(self.rubrics)

    def identity(self) -> dict[str, Any]:
        return {"rubrics": {channel: rubric.sha for channel, rubric in self.rubrics.items()}}

    def questions(
        self, item: JudgeItem, text: str, note: str, vocab: Vocab | None
    ) -> tuple[Question, ...]:
        return (self.question(item, text, note),)

    def question(self, item: JudgeItem, text: str, note: str = "") -> Question:
        return Question(
            messages=messages_from(self.prompt_for(item, text, note)),
            reminder=self.reminders[item.channel],
        )

    def prompt_for(self, item: JudgeItem, text: str, excerpt: str = "") -> str:
        """The judge prompt for ``text`` (all or part of the item's channel text)."""
        return self.render(self.rubrics[item.channel], item, text, excerpt)

    def render(self, rubric: Rubric, item: JudgeItem, text: str, excerpt: str = "") -> str:
        request = self.request(item)
        blocks = self.blocks(item)
        notes = self.notes(item)
        token = boundary_token(request, text, *(t for _, t in blocks.values()), *notes.values())
        values = {
            "token": token,
            "prompt": delimit("PROMPT", request, token),
            "response": delimit("RESPONSE", text, token),
            "excerpt": f"\n{excerpt}\n" if excerpt else "",
        }
        for name, (heading, value) in blocks.items():
            values[name] = f"{heading}\n{delimit(name.upper(), value, token)}\n\n" if value else ""
        for name, value in notes.items():
            values[name] = neutralise(value, token)
        return rubric.render(**values)


# Sampling options a rubric judge's spec may carry after its model:
# ``?temperature=1&max_tokens=4000``. ``temperature=none`` leaves it out of the request, for
# models that take only their default.
JUDGE_OPTIONS = ("temperature", "top_p", "max_tokens", "reasoning_effort")


def _option_value(judge: str, key: str, raw: str) -> Any:
    if key == "reasoning_effort":
        return raw or None
    if raw.lower() in ("none", "default") and key != "max_tokens":
        return None
    try:
        return int(raw) if key == "max_tokens" else float(raw)
    except ValueError:
        kind = "a whole number" if key == "max_tokens" else "a number (or none)"
        raise ConfigError(
            f"judge {judge}: {key}={raw!r} is not {kind}; write for example"
            f" {judge}:openai/MODEL?temperature=1&max_tokens=4000"
        ) from None


def judge_generation(name: str, arg: str) -> tuple[str, GenerationConfig]:
    """The target spec in ``arg`` without the judge's sampling options (:data:`JUDGE_OPTIONS`,
    written ``?key=value&...`` after the model), and the generation config they make from
    :data:`~thinksafe.judges.asking.JUDGE_GENERATION`. Other options stay on the target spec."""
    from thinksafe.judges.guards import pop_option

    changes: dict[str, Any] = {}
    for key in JUDGE_OPTIONS:
        arg, raw = pop_option(arg, key)
        if raw is not None:
            changes[key] = _option_value(name, key, raw)
    return arg, dataclasses.replace(JUDGE_GENERATION, **changes) if changes else JUDGE_GENERATION


def rubric_factory(
    name: str, build: Callable[..., ModelJudge[Any]]
) -> Callable[..., ModelJudge[Any]]:
    """The registry factory of the rubric judge ``name``: ``NAME:PROVIDER/MODEL`` (with
    optional sampling options, see :func:`judge_generation`), built by
    ``build(target, config=...)``."""

    def factory(arg: str | None = None, context: JudgeContext | None = None) -> ModelJudge[Any]:
        if not arg:
            raise ConfigError(
                f"the {name} judge needs a model: write `{name}:PROVIDER/MODEL`,"
                f" for example {name}:openai/gpt-4o-mini"
            )
        context = context or JudgeContext()
        target_spec, config = judge_generation(name, arg)
        return build(context.target(target_spec), config=config)

    factory.__name__ = f"_{name.replace('-', '_')}"
    return factory

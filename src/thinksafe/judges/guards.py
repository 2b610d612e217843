"""What the guard-model judges (``llama-guard``, ``wildguard``, ``shieldgemma``) share.

A guard model is a classifier fine-tuned on one prompt format, and it is accurate only when it
reads that format: the format is an interface, sent exactly as the model documents it. Each
guard judge asks its model in one of two ways, chosen by the target:

- **local** (``hf/...``, ``vllm/...``): the judge hands the engine a whole prompt text, turn
  markers included, batched like any local generation. Where the guard model's tokenizer
  ships a chat template that builds the guard's prompt (Llama Guard's and ShieldGemma's do),
  that template renders it from the conversation (:func:`render_model_template`), so the model
  reads what it was trained on, loaded from the user's model files at run time. Otherwise
  the prompt comes from the guard's template file in ``judges/rubrics/``: for WildGuard, which
  ships no template, its model card's instruction format byte for byte; for ShieldGemma, the
  text its checkpoints' template writes; for Llama Guard (a fallback for test models), wording
  of thinksafe's in the model's documented layout;
- **chat** (any other target, typically ``openai/...`` against a vLLM server): the question
  goes through the chat endpoint, where the served model applies its own chat template. Each
  guard module says what it sends (the conversation as messages, or its whole prompt as one
  user message).

**Model text is defused** (:func:`defuse`) before it reaches a prompt, on every path: the
request and the channel text cannot hold a special token (``<|eot_id|>``, ``</s>``,
``[INST]``, ``<end_of_turn>``, any ``<|...|>`` and, locally, every special token of the
model's tokenizer) nor a section marker of a guard format (``<END CONVERSATION>``), and a line
cannot start with one of the guard's section labels (``Agent:``): the characters that make
them are swapped for look-alikes, so the text reads the same to the model but cannot end its
section or open another. (A chat template never evaluates the text it is given.)

**The reasoning channel** is judged as if the trace were the assistant's response. Guards were
trained on answers, not on thinking traces, which deliberate, quote the request and weigh
options; expect trace verdicts to be less reliable than answer verdicts. Long texts are judged
in overlapping windows (unsafe if any window is).

**Replies** are read strictly but tolerate noise (markdown, case, stray special tokens); a
reply that cannot be read is asked again once. A guard's prompt is fixed, so the retry does not
append a reminder (the model was never trained on one): it samples instead (temperature 0.7,
fixed seed), since a greedy retry would repeat the same reply. Unreadable twice is
``unscorable``, with both replies kept in ``raw``.

Each guard is the one :class:`~thinksafe.judges.model_judge.ModelJudge` with the guard's
prompt builder (its module), its reply reader and :meth:`Asker.guard
<thinksafe.judges.asking.Asker.guard>`; this module holds what their builders share
(:class:`GuardFormat`) and the registry factory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from thinksafe.errors import ConfigError
from thinksafe.judges.asking import RETRY_SEED, RETRY_TEMPERATURE
from thinksafe.judges.guards_local import (
    LocalGuardRunner,
    Turn,
    Vocab,
    own_chat_template,
    read_vocab,
    render_model_template,
    score_yes,
)
from thinksafe.judges.model_judge import ModelJudge
from thinksafe.judges.parts import Question, Reading
from thinksafe.judges.untrusted import CONTROL_PATTERN, defuse
from thinksafe.protocols import Target
from thinksafe.records import JudgeItem
from thinksafe.run.build import JudgeContext
from thinksafe.spec import format_query, split_query

__all__ = [
    "CONTROL_PATTERN",
    "RETRY_SEED",
    "RETRY_TEMPERATURE",
    "GuardFormat",
    "GuardJudge",
    "GuardReading",
    "GuardRequest",
    "LocalGuardRunner",
    "Turn",
    "Vocab",
    "defuse",
    "guard_factory",
    "own_chat_template",
    "pop_option",
    "read_vocab",
    "render_model_template",
    "score_yes",
]

# Names kept from before the rubric and guard judges shared one skeleton.
GuardJudge = ModelJudge
GuardRequest = Question
GuardReading = Reading


@dataclass(frozen=True)
class GuardFormat:
    """What a guard's prompt builder does with model text: ``labels`` are the guard's section
    labels, defused at the start of a line of model text (``Agent:``)."""

    labels: tuple[str, ...] = ()

    def request_text(self, item: JudgeItem) -> str:
        """The request shown to the guard: the benchmark's original one, so an attack's
        wrapping cannot hide what was asked for."""
        return item.sample.prompt

    def defuse(self, text: str, vocab: Vocab | None = None) -> str:
        return defuse(text, self.labels, vocab.specials if vocab is not None else ())

    def conversation(self, item: JudgeItem, text: str, vocab: Vocab | None = None) -> list[Turn]:
        """The exchange the guard judges, defused: the request, then ``text`` as the
        assistant's turn."""
        return [
            ("user", self.defuse(self.request_text(item), vocab)),
            ("assistant", self.defuse(text, vocab)),
        ]


def pop_option(spec: str, name: str) -> tuple[str, str | None]:
    """``spec`` without its ``?name=VALUE`` query option, and VALUE (None when absent). The
    spec's other options are kept as written."""
    head, query = split_query(spec)
    if "?" not in spec:
        return spec, None
    kept = [(key, raw) for key, raw in query if key.lower() != name]
    found = [raw for key, raw in query if key.lower() == name]
    return (f"{head}?{format_query(kept)}" if kept else head), (found[-1] if found else None)


def guard_factory(
    name: str, build: Callable[..., ModelJudge[Any]], options: Sequence[str] = ()
) -> Callable[..., ModelJudge[Any]]:
    """The registry factory of the guard judge ``name``: ``NAME:PROVIDER/MODEL``, built by
    ``build(target, **options)``. Each of ``options`` is a judge option, taken out of the
    target spec's query (``?name=VALUE``) or, failing that, from
    ``THINKSAFE_<NAME>_<OPTION>``, and passed to ``build`` as a keyword argument."""

    def factory(arg: str | None = None, context: JudgeContext | None = None) -> ModelJudge[Any]:
        if not arg:
            raise ConfigError(
                f"the {name} judge needs the guard model: write `{name}:hf/PATH_OR_ID`"
                f" (run here) or `{name}:openai/MODEL` with --judge-base-url URL (served)"
            )
        kwargs: dict[str, Any] = {}
        for option in options:
            arg, value = pop_option(arg, option)
            if value is None:
                prefix = "THINKSAFE_" + re.sub(r"\W", "_", name).upper()
                value = os.environ.get(f"{prefix}_{option.upper()}")
            if value:
                kwargs[option] = value
        context = context or JudgeContext()
        target: Target = context.target(arg)
        return build(target, **kwargs)

    factory.__name__ = f"_{name.replace('-', '_')}"
    return factory

"""What the guard-model judges (``llama-guard``, ``wildguard``, ``shieldgemma``) share.

A guard model is a classifier fine-tuned on one prompt format, and it is accurate only when it
reads that format. Each guard judge asks its model in one of two ways, chosen by the target:

- **local** (``hf/...``, ``vllm/...``): the judge hands the engine a whole prompt text, turn
  markers included, batched like any local generation. Where the guard model's tokenizer
  ships a chat template that builds the guard's prompt (Llama Guard's and ShieldGemma's do),
  that template renders it from the conversation (:func:`render_model_template`), so the model
  reads what it was trained on, loaded from the user's model files at run time. Otherwise
  (WildGuard ships none; a test model) the prompt comes from the guard's template file in
  ``judges/rubrics/``, worded for thinksafe after the model's documented layout;
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
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar, Literal
from urllib.parse import unquote_plus

from thinksafe.build import JudgeContext
from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.judges.base import (
    DEFAULT_MAX_CHARS,
    DEFAULT_OVERLAP,
    Rubric,
    join_replies,
    judge_in_windows,
    load_rubric,
    reply_text,
    unscorable,
    windows,
)
from thinksafe.judges.guards_local import (
    LocalGuardRunner,
    Turn,
    Vocab,
    local_runner,
    own_chat_template,
    read_vocab,
    render_model_template,
    score_yes,
)
from thinksafe.protocols import Target
from thinksafe.records import (
    CHANNELS,
    Channel,
    JudgeItem,
    Messages,
    Refusal,
    Verdict,
)

__all__ = [
    "CONTROL_PATTERN",
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

# The one retry of an unreadable reply samples, so that it can differ from the first reply.
RETRY_TEMPERATURE = 0.7
RETRY_SEED = 0

# ---------------------------------------------------------------------------------------------
# Defusing model text
# ---------------------------------------------------------------------------------------------

# Special tokens and section markers of the guards' formats (and of the chat formats their
# models were built on). Matched case-insensitively: a lower-case look-alike is defused too.
CONTROL_PATTERN = re.compile(
    r"<\|[^<>|\n]{1,64}\|>"  # <|eot_id|>, <|start_header_id|>, <|header_start|>, <|user|>
    r"|</?s>"  # <s>, </s>
    r"|\[/?INST\]"  # [INST], [/INST]
    r"|<</?SYS>>"
    r"|</?(?:bos|eos|pad|unk|mask)>"
    r"|<(?:start|end)_of_(?:turn|image)>"
    r"|</?(?:BEGIN|END)[ _][A-Z][A-Z _]{0,60}>",  # <END CONVERSATION>, </END_SAFETY_POLICY>
    re.IGNORECASE,
)
_LOOKALIKE = str.maketrans({"<": "‹", ">": "›", "[": "⟦", "]": "⟧"})
_WORD_JOINER = "\u2060"
# U+A789 MODIFIER LETTER COLON: reads as a colon, is not one.
_LABEL_COLON = "꞉"


def _break(token: str) -> str:
    """``token`` with its brackets swapped for look-alikes, or (when it has none) with an
    invisible word joiner after its first character: the same to read, no longer the token."""
    swapped = token.translate(_LOOKALIKE)
    if swapped != token:
        return swapped
    return token[:1] + _WORD_JOINER + token[1:]


@lru_cache(maxsize=32)
def _specials_pattern(specials: tuple[str, ...]) -> re.Pattern[str] | None:
    if not specials:
        return None
    ordered = sorted(set(specials), key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in ordered))


@lru_cache(maxsize=32)
def _labels_pattern(labels: tuple[str, ...]) -> re.Pattern[str] | None:
    if not labels:
        return None
    names = "|".join(re.escape(label) for label in labels)
    # A line starts after any character str.splitlines() breaks at, not only after "\n".
    start = r"(?:^|(?<=[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]))"
    return re.compile(
        rf"{start}([ \t>*_#•-]*)({names})([ \t*_]*):", flags=re.IGNORECASE | re.MULTILINE
    )


def defuse(text: str, labels: Sequence[str] = (), specials: Sequence[str] = ()) -> str:
    """``text`` made unable to break a guard prompt.

    Every occurrence of one of ``specials`` (a tokenizer's special tokens) and of
    :data:`CONTROL_PATTERN` has its brackets swapped for look-alikes (``<|eot_id|>`` becomes
    ``‹|eot_id|›``), and a line that starts with one of ``labels`` (``Agent:``) gets a
    look-alike colon. Nothing is removed, so the text reads the same to the model.
    """
    pattern = _specials_pattern(tuple(specials))
    if pattern is not None:
        text = pattern.sub(lambda m: _break(m.group()), text)
    text = CONTROL_PATTERN.sub(lambda m: m.group().translate(_LOOKALIKE), text)
    label_pattern = _labels_pattern(tuple(labels))
    if label_pattern is not None:
        text = label_pattern.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{_LABEL_COLON}", text
        )
    return text


# ---------------------------------------------------------------------------------------------
# The judge
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardRequest:
    """One question to a guard: a whole prompt text (local) or chat messages, with fields
    added to the request body (``chat_template_kwargs``)."""

    prompt: str | None = None
    messages: Messages = ()
    extra_body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardReading:
    """A guard's reply, read."""

    label: Literal["safe", "unsafe"]
    refusal: Refusal | None = None
    rationale: str = ""
    probability: float | None = None


class GuardJudge:
    """A guard model as a judge, both channels; subclasses give the prompt and the reading.

    Subclasses set ``NAME``, ``VERSION``, ``TEMPLATE`` (the rubric file of the local prompt),
    ``LABELS`` (section labels defused at the start of a line of model text), ``MAX_TOKENS``
    (the reply budget; ``max_tokens=`` overrides it) and ``MODEL_TEMPLATE`` (whether a local
    prompt comes from the model's own chat template when it builds the guard's prompt, see
    :func:`render_model_template`), and implement :meth:`local_prompt`,
    :meth:`chat_request` and :meth:`read` (or override :meth:`judge_window`, as
    ``shieldgemma`` does).
    """

    NAME: ClassVar[str]
    VERSION: ClassVar[str]
    TEMPLATE: ClassVar[str]
    LABELS: ClassVar[tuple[str, ...]] = ()
    MAX_TOKENS: ClassVar[int] = 64
    MODEL_TEMPLATE: ClassVar[bool] = False

    def __init__(
        self,
        target: Target,
        *,
        max_chars: int = DEFAULT_MAX_CHARS,
        overlap: int = DEFAULT_OVERLAP,
        max_tokens: int | None = None,
    ) -> None:
        windows("", max_chars, overlap)  # validates the sizes
        budget = self.MAX_TOKENS if max_tokens is None else max_tokens
        if budget < 1:
            raise ConfigError(f"a guard needs max_tokens of at least 1 (got {budget})")
        self._target = target
        self._max_chars = max_chars
        self._overlap = overlap
        self._template: Rubric = load_rubric(self.TEMPLATE)
        self._config = GenerationConfig(temperature=0.0, max_tokens=budget)
        self._retry_config = GenerationConfig(
            temperature=RETRY_TEMPERATURE, max_tokens=budget, seed=RETRY_SEED
        )
        self._local = local_runner(target)

    # -- the Judge protocol ----------------------------------------------------------------

    @property
    def spec(self) -> str:
        return f"{self.NAME}:{self._target.spec}"

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(CHANNELS)

    @property
    def target(self) -> Target:
        return self._target

    @property
    def mode(self) -> Literal["local", "chat"]:
        """``local``: whole prompts on a local engine; ``chat``: through the chat endpoint."""
        return "local" if self._local is not None else "chat"

    def identity(self) -> dict[str, Any]:
        return {
            "name": self.NAME,
            "version": self.VERSION,
            "target": self._target.identity(),
            "mode": self.mode,
            "template": self._template.sha,
            "model_template": self.MODEL_TEMPLATE,
            "generation": self._config.to_dict(),
            "retry_generation": self._retry_config.to_dict(),
            "max_chars": self._max_chars,
            "overlap": self._overlap,
            **self.extra_identity(),
        }

    async def judge(self, item: JudgeItem) -> Verdict:
        if not item.text.strip():
            return unscorable(self.spec, item.channel, "empty text")

        async def judge_window(chunk: str, note: str) -> Verdict:
            # A guard's prompt is fixed: the note about which part it sees is not passed on.
            return await self.judge_window(item, chunk)

        return await judge_in_windows(
            self.spec,
            item.channel,
            item.text,
            judge_window,
            max_chars=self._max_chars,
            overlap=self._overlap,
        )

    async def aclose(self) -> None:
        if self._local is not None:
            await self._local.aclose()
        await self._target.aclose()

    # -- what subclasses provide -----------------------------------------------------------

    def local_prompt(self, item: JudgeItem, text: str, vocab: Vocab) -> str:
        """The whole prompt text, turn markers included, for a local model (from the model's
        chat template where ``MODEL_TEMPLATE`` is set and it has one, else from the guard's
        template file)."""
        raise NotImplementedError

    def chat_request(self, item: JudgeItem, text: str) -> GuardRequest:
        """What is sent to a chat endpoint."""
        raise NotImplementedError

    def read(self, reply: str, item: JudgeItem) -> GuardReading | None:
        """The reading of one reply, or None when it cannot be read."""
        raise NotImplementedError

    def extra_identity(self) -> dict[str, Any]:
        return {}

    # -- the machinery ---------------------------------------------------------------------

    def request_text(self, item: JudgeItem) -> str:
        """The request shown to the guard: the benchmark's original one, so an attack's
        wrapping cannot hide what was asked for."""
        return item.sample.prompt

    def defuse(self, text: str, vocab: Vocab | None = None) -> str:
        return defuse(text, self.LABELS, vocab.specials if vocab is not None else ())

    def conversation(self, item: JudgeItem, text: str, vocab: Vocab | None = None) -> list[Turn]:
        """The exchange the guard judges, defused: the request, then ``text`` as the
        assistant's turn."""
        return [
            ("user", self.defuse(self.request_text(item), vocab)),
            ("assistant", self.defuse(text, vocab)),
        ]

    async def request(self, item: JudgeItem, text: str) -> GuardRequest:
        if self._local is not None:
            vocab = await self._local.vocab()
            return GuardRequest(prompt=self.local_prompt(item, text, vocab))
        return self.chat_request(item, text)

    async def complete(self, request: GuardRequest, config: GenerationConfig) -> str:
        """The guard's reply text. A failed call raises ``ProviderError``."""
        if request.prompt is not None:
            if self._local is None:
                raise ValueError("a whole-prompt request needs a local target")
            return await self._local.generate(request.prompt, config)
        if request.extra_body:
            config = dataclasses.replace(
                config, extra_body={**config.extra_body, **request.extra_body}
            )
        completion = await self._target.generate(request.messages, config)
        return reply_text(completion, self._target.spec, "guard")

    async def ask(
        self, request: GuardRequest, read: Callable[[str], GuardReading | None]
    ) -> tuple[GuardReading | None, list[str]]:
        """Ask once, and once more (sampled) when the reply cannot be read."""
        replies: list[str] = []
        for config in (self._config, self._retry_config):
            reply = await self.complete(request, config)
            replies.append(reply)
            reading = read(reply)
            if reading is not None:
                return reading, replies
        return None, replies

    async def judge_window(self, item: JudgeItem, text: str) -> Verdict:
        """One question (and at most one retry) about ``text``; unscorable when unreadable."""
        request = await self.request(item, text)

        def read(reply: str) -> GuardReading | None:
            return self.read(reply, item)

        reading, replies = await self.ask(request, read)
        return self.verdict(item, reading, join_replies(replies))

    def verdict(self, item: JudgeItem, reading: GuardReading | None, raw: str) -> Verdict:
        if reading is None:
            return unscorable(
                self.spec,
                item.channel,
                "the guard's reply could not be read, also after one retry",
                raw,
            )
        return Verdict(
            judge=self.spec,
            channel=item.channel,
            label=reading.label,
            refusal=reading.refusal if item.channel == "answer" else None,
            probability=reading.probability,
            rationale=reading.rationale,
            raw=raw,
        )


def pop_option(spec: str, name: str) -> tuple[str, str | None]:
    """``spec`` without its ``?name=VALUE`` query option, and VALUE (None when absent). The
    spec's other options are kept as written."""
    head, sep, query = spec.partition("?")
    if not sep:
        return spec, None
    kept: list[str] = []
    value: str | None = None
    for part in query.split("&"):
        key, _, raw = part.partition("=")
        if unquote_plus(key).strip().lower() == name:
            value = unquote_plus(raw).strip()
        elif part:
            kept.append(part)
    return (f"{head}?{'&'.join(kept)}" if kept else head), value


def guard_factory(cls: type[GuardJudge], options: Sequence[str] = ()) -> Callable[..., GuardJudge]:
    """The registry factory of a guard judge: ``NAME:PROVIDER/MODEL``. Each of ``options`` is
    a judge option, taken out of the target spec's query (``?name=VALUE``) or, failing that,
    from ``THINKSAFE_<NAME>_<OPTION>``, and passed to ``cls`` as a keyword argument."""

    def factory(arg: str | None = None, context: JudgeContext | None = None) -> GuardJudge:
        if not arg:
            raise ConfigError(
                f"the {cls.NAME} judge needs the guard model: write `{cls.NAME}:hf/PATH_OR_ID`"
                f" (run here) or `{cls.NAME}:openai/MODEL` with --judge-base-url URL (served)"
            )
        kwargs: dict[str, Any] = {}
        for option in options:
            arg, value = pop_option(arg, option)
            if value is None:
                prefix = "THINKSAFE_" + re.sub(r"\W", "_", cls.NAME).upper()
                value = os.environ.get(f"{prefix}_{option.upper()}")
            if value:
                kwargs[option] = value
        context = context or JudgeContext()
        return cls(context.target(arg), **kwargs)

    factory.__name__ = f"_{cls.NAME.replace('-', '_')}"
    return factory

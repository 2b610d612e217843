"""Thinking control, shared by every target: on/off, ZeroThink, LessThink and MoreThink.

What a :class:`~thinksafe.config.GenerationConfig` may ask for, and who can do it:

- ``thinking`` (true/false): the chat template's switch. Local targets pass
  ``enable_thinking`` to the template; OpenAI-compatible servers get it through
  :func:`openai_request_fields` (``chat_template_kwargs`` for vLLM, SGLang and llama.cpp
  servers, ``reasoning_effort: "none"`` for Ollama);
- ``think_mode`` ``zerothink``: an empty trace. The prompt is prefilled with
  ``<think>\\n\\n</think>\\n\\n`` and the model writes only the answer;
- ``think_mode`` ``lessthink`` with ``think_budget`` N: the trace may use N tokens. When it is
  still open after N, the close tag is appended and the model continues with the answer; such a
  trace is recorded as ``truncated`` (it was cut, and the closing was ours);
- ``think_mode`` ``morethink`` with ``min_think_tokens`` M: when the model closes its trace
  before M generated tokens, the close tag is replaced by a continuation cue (``"\\nWait,"``)
  and it goes on thinking, at most :data:`MAX_EXTENSIONS` times; a ``think_budget`` may cap it.

The three modes need a target that can stop and resume generation (``hf/``, ``vllm/``). They
always start the trace in the prompt: the open tag is appended to the prompt when the chat
template did not put it there.

Budgets count generated tokens. ``max_tokens`` caps the whole output, trace and answer
together; when it runs out inside the trace the completion says so (``reasoning_kind``
``truncated``, ``finish_reason`` ``length``).

The generation itself is backend-agnostic: :class:`ThinkRun` is a small state machine per
prompt that asks for :class:`Step` s (a text to continue, a token limit, stop strings) and is
fed :class:`StepOutput` s; :func:`run_steps` advances many of them together, one batched
backend call per round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.records import ReasoningKind
from thinksafe.targets.reasoning import split_text

__all__ = [
    "DEFAULT_CUE",
    "MAX_EXTENSIONS",
    "THINK_MODES",
    "Prefill",
    "Step",
    "StepOutput",
    "ThinkMode",
    "ThinkPlan",
    "ThinkResult",
    "ThinkRun",
    "ThinkTags",
    "openai_request_fields",
    "prompt_opens_trace",
    "run_steps",
    "template_kwargs",
    "think_plan",
]

ThinkMode = Literal["zerothink", "lessthink", "morethink"]
THINK_MODES: tuple[ThinkMode, ...] = get_args(ThinkMode)
DEFAULT_CUE = "\nWait,"
# The most times MoreThink replaces a close tag with the cue in one completion.
MAX_EXTENSIONS = 8
Finish = Literal["stop", "length"]


@dataclass(frozen=True)
class ThinkTags:
    """The tags around a thinking trace."""

    open: str = "<think>"
    close: str = "</think>"

    def __post_init__(self) -> None:
        if not self.open or not self.close or self.open == self.close:
            raise ConfigError("think tags must be two different non-empty strings: OPEN,CLOSE")

    @classmethod
    def parse(cls, value: str) -> ThinkTags:
        """``"OPEN,CLOSE"``, e.g. ``"<think>,</think>"``."""
        open_tag, sep, close_tag = value.partition(",")
        if not sep:
            raise ConfigError(f"think_tags {value!r} should look like OPEN,CLOSE")
        return cls(open_tag.strip(), close_tag.strip())

    def __str__(self) -> str:
        return f"{self.open},{self.close}"


@dataclass(frozen=True)
class Prefill:
    """The start of the reply, forced by the prompt (an attempt whose last message is the
    assistant's): a forged start of the trace (``trace``; None when there is none, and whether
    it was closed) and a forced start of the answer (``answer``).

    ``<think>T</think>A`` gives trace ``T`` (closed) and answer ``A``; ``<think>T`` an open trace
    the model goes on with; ``A`` alone the start of the answer. The forged trace is the
    prompt's, not the model's: it is never part of the recorded reasoning. The forced answer is
    kept at the start of the recorded answer, so the answer reads as it was delivered.
    """

    trace: str | None = None
    trace_closed: bool = False
    answer: str = ""

    @classmethod
    def parse(cls, text: str, tags: ThinkTags | None = None) -> Prefill:
        tags = tags or ThinkTags()
        stripped = text.lstrip()
        if not stripped.startswith(tags.open):
            return cls(answer=text)
        body = stripped[len(tags.open) :]
        at = body.find(tags.close)
        if at < 0:
            return cls(trace=body.strip())
        return cls(
            trace=body[:at].strip(),
            trace_closed=True,
            answer=body[at + len(tags.close) :].lstrip(),
        )

    def lead(self, tags: ThinkTags | None = None) -> str:
        """What a continuation generated after this prefill is read after, to split it into
        the model's own trace and the answer: the open tag when the forged trace was left open
        (the model is still thinking), else the forced start of the answer."""
        tags = tags or ThinkTags()
        if self.trace is not None and not self.trace_closed:
            return tags.open + "\n"
        return self.answer


@dataclass(frozen=True)
class ThinkPlan:
    """What a config asks of the trace, validated. ``mode`` None: generate as the model likes."""

    mode: ThinkMode | None = None
    budget: int | None = None
    min_tokens: int | None = None
    cue: str = DEFAULT_CUE
    max_extensions: int = MAX_EXTENSIONS


def _positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number of tokens, at least 1 (got {value!r})")
    return value


def think_plan(config: GenerationConfig) -> ThinkPlan:
    """The validated thinking plan of ``config``; ``ConfigError`` when it contradicts itself.

    ``think_budget`` alone means LessThink and ``min_think_tokens`` alone MoreThink.
    """
    budget = _positive(config.think_budget, "think_budget")
    min_tokens = _positive(config.min_think_tokens, "min_think_tokens")
    raw_mode = config.think_mode
    if raw_mode is not None and raw_mode not in THINK_MODES:
        raise ConfigError(f"unknown think_mode {raw_mode!r}; use one of {', '.join(THINK_MODES)}")
    mode: ThinkMode | None = raw_mode
    if mode is None:
        if min_tokens is not None:
            mode = "morethink"
        elif budget is not None:
            mode = "lessthink"
    if mode is not None and config.thinking is False:
        raise ConfigError(
            f"think_mode {mode} needs thinking on; drop --no-thinking or the think options"
        )
    if mode == "zerothink" and (budget is not None or min_tokens is not None):
        raise ConfigError("zerothink leaves the trace empty: drop think_budget/min_think_tokens")
    if mode == "lessthink":
        if budget is None:
            raise ConfigError("lessthink needs a trace budget: set think_budget N")
        if min_tokens is not None:
            raise ConfigError(
                "min_think_tokens is for morethink; drop it or use think_mode morethink"
            )
    if mode == "morethink":
        if min_tokens is None:
            raise ConfigError("morethink needs a floor: set min_think_tokens N")
        if budget is not None and budget < min_tokens:
            raise ConfigError(
                f"think_budget {budget} is below min_think_tokens {min_tokens}; raise the budget"
            )
    if config.max_tokens is not None and budget is not None and budget >= config.max_tokens:
        raise ConfigError(
            f"think_budget {budget} leaves no room for an answer within max_tokens"
            f" {config.max_tokens}; lower the budget or raise max_tokens"
        )
    return ThinkPlan(mode=mode, budget=budget, min_tokens=min_tokens)


def template_kwargs(config: GenerationConfig) -> dict[str, Any]:
    """Keyword arguments for a chat template: ``extra_body["chat_template_kwargs"]`` (as sent
    to a vLLM or SGLang server) plus ``enable_thinking`` when ``config.thinking`` is set."""
    kwargs: dict[str, Any] = {}
    extra = config.extra_body.get("chat_template_kwargs") if config.extra_body else None
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise ConfigError(
                "extra_body chat_template_kwargs must be a mapping of names to values"
            )
        kwargs.update(extra)
    if config.thinking is not None:
        kwargs["enable_thinking"] = config.thinking
    return kwargs


def openai_request_fields(config: GenerationConfig, provider: str = "openai") -> dict[str, Any]:
    """Request-body fields that carry ``config.thinking`` to an OpenAI-compatible server; merge
    them into the body after ``extra_body``.

    - ``openai`` (vLLM, SGLang, llama.cpp and other servers that render the model's template):
      ``{"chat_template_kwargs": {..., "enable_thinking": bool}}``, keeping any other template
      kwargs from ``extra_body``;
    - ``ollama``: thinking off is ``{"reasoning_effort": "none"}`` (on is its default).

    The think modes and budgets need a local target; asking a server for them is a
    ``ConfigError``.
    """
    plan = think_plan(config)
    if plan.mode is not None:
        raise ConfigError(
            f"think_mode {plan.mode} (and think budgets) need a local target that can stop and"
            " resume a trace: use hf/MODEL or vllm/MODEL"
        )
    if config.thinking is None:
        return {}
    if provider == "ollama":
        if config.thinking or config.reasoning_effort is not None:
            return {}
        return {"reasoning_effort": "none"}
    return {"chat_template_kwargs": template_kwargs(config)}


def prompt_opens_trace(prompt: str, tags: ThinkTags) -> bool:
    """True when the rendered prompt ends inside an open thinking block (the chat template put
    the open tag at the start of the assistant turn)."""
    return prompt.rstrip().endswith(tags.open)


def _prompt_closes_trace(prompt: str, tags: ThinkTags) -> bool:
    return prompt.rstrip().endswith(tags.close)


@dataclass(frozen=True)
class Step:
    """One generation request: continue ``text`` for at most ``max_new_tokens`` tokens,
    stopping after any of ``stop`` (the stop string is kept in the output)."""

    text: str
    max_new_tokens: int
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepOutput:
    """What a backend generated for one :class:`Step`: the decoded text (special tokens such as
    end-of-sequence removed, think tags kept), the number of tokens, and why it stopped:
    ``stop`` (end of sequence or a stop string) or ``length`` (the token limit)."""

    text: str
    tokens: int
    finish: Finish


@dataclass(frozen=True)
class ThinkResult:
    """One finished generation, split. ``reasoning_tokens`` is None when the backend should
    count them itself (plain generation, where the split is made on the final text)."""

    answer: str
    reasoning: str
    kind: ReasoningKind
    finish_reason: Finish
    completion_tokens: int
    reasoning_tokens: int | None
    mode: ThinkMode | None = None
    closed_by_budget: bool = False
    extensions: int = 0

    def control(self) -> dict[str, Any]:
        """What the thinking control did, for the record (empty for plain generation)."""
        if self.mode is None:
            return {}
        return {
            "think_mode": self.mode,
            "closed_by_budget": self.closed_by_budget,
            "extensions": self.extensions,
        }


Phase = Literal["plain", "think", "answer", "done"]


class ThinkRun:
    """The generation of one prompt under a :class:`ThinkPlan`, as a sequence of steps.

    ``prompt`` is the rendered chat prompt (generation prompt included); ``max_tokens`` caps
    all generated tokens; ``close_tokens`` is how many tokens the close tag takes (so that the
    floor and the budget count the trace without it).
    """

    def __init__(
        self,
        prompt: str,
        *,
        plan: ThinkPlan,
        max_tokens: int,
        tags: ThinkTags | None = None,
        close_tokens: int = 1,
        prefill: Prefill | None = None,
    ) -> None:
        if max_tokens < 1:
            raise ConfigError(f"max_tokens must be at least 1 (got {max_tokens})")
        self.plan = plan
        self.tags = tags or ThinkTags()
        self.max_tokens = max_tokens
        self.close_tokens = close_tokens
        self.opened = prompt_opens_trace(prompt, self.tags)
        self.used = 0
        self.trace_tokens = 0
        self.extensions = 0
        self.closed_by_budget = False
        self._finish: Finish = "stop"
        self._generated = ""  # everything appended after the base prompt, as fed back
        self._trace = ""
        self._answer = ""
        self._phase: Phase
        tags_ = self.tags
        if plan.mode is None:
            self._phase, self.base = "plain", prompt
        elif plan.mode == "zerothink":
            self._phase = "answer"
            if _prompt_closes_trace(prompt, tags_):
                self.base = prompt  # the template already wrote an empty trace
            else:
                opened = prompt if self.opened else prompt + tags_.open + "\n"
                sep = "\n" if opened.endswith("\n") else "\n\n"
                self.base = f"{opened}{sep}{tags_.close}\n\n"
        else:
            if _prompt_closes_trace(prompt, tags_):
                raise ProviderError(
                    "the chat template closed the thinking block in the prompt, so there is no"
                    f" trace for {plan.mode} to control; turn thinking on",
                    transient=False,
                )
            self._phase = "think"
            self.base = prompt if self.opened else prompt + tags_.open + "\n"
        self._prefill = (
            prefill if prefill and (prefill.trace is not None or prefill.answer) else None
        )
        self._prefix = self._prefill.answer if self._prefill else ""
        self._prefix_sent = False
        if self._prefill is not None:
            self._apply_prefill(prompt, self._prefill)

    def _apply_prefill(self, prompt: str, prefill: Prefill) -> None:
        """Start from the forced reply: a forged trace (closed: the model only answers; open:
        the model goes on thinking from it) and then the forced start of the answer, placed
        where the answer begins (after the model's own trace when the prompt opened one)."""
        tags = self.tags
        opened = prompt if self.opened else prompt + tags.open + "\n"
        if prefill.trace is not None:
            if prefill.trace_closed or self.plan.mode == "zerothink":
                self.base = f"{opened}{prefill.trace}\n{tags.close}\n\n{prefill.answer}"
                self._phase = "answer"
                self._prefix_sent = True
            else:
                self.base = opened + prefill.trace
                self._phase = "think"
            return
        if self._phase == "answer" or (self._phase == "plain" and not self.opened):
            # No trace to wait for (ZeroThink's empty one, or none opened): the answer starts now.
            self.base += prefill.answer
            self._phase = "answer"
            self._prefix_sent = True
        else:
            # The prompt opened a trace: the model thinks first; the answer is forced on close.
            self._phase = "think"

    def _start_answer(self) -> str:
        """What is appended when the trace closes: the forced start of the answer, if any."""
        if self._prefill is None or not self._prefix:
            return ""
        self._prefix_sent = True
        return self._prefix

    def next_step(self) -> Step | None:
        """The next request to make, or None when this generation is finished."""
        while True:
            if self._phase == "done":
                return None
            remaining = self.max_tokens - self.used
            text = self.base + self._generated
            if self._phase in ("plain", "answer"):
                if remaining <= 0:
                    self._end("length")
                    continue
                return Step(text, remaining)
            cap = remaining
            if self.plan.budget is not None:
                cap = min(cap, self.plan.budget - self.trace_tokens)
            if cap <= 0:
                self._feed_think(StepOutput("", 0, "length"))
                continue
            return Step(text, cap, (self.tags.close,))

    def feed(self, out: StepOutput) -> None:
        """Take the output of the step :meth:`next_step` asked for."""
        self.used += out.tokens
        if self._phase == "plain":
            self._answer = out.text
            self._end(out.finish)
        elif self._phase == "answer":
            self._answer += out.text
            self._end(out.finish)
        elif self._phase == "think":
            self._feed_think(out)
        else:
            raise RuntimeError("feed() called after the generation finished")

    def _end(self, finish: Finish) -> None:
        self._finish = finish
        self._phase = "done"

    def _feed_think(self, out: StepOutput) -> None:
        close = self.tags.close
        at = out.text.find(close)
        if at >= 0:
            before, after = out.text[:at], out.text[at + len(close) :]
            self.trace_tokens += max(0, out.tokens - self.close_tokens)
            plan = self.plan
            if (
                plan.mode == "morethink"
                and plan.min_tokens is not None
                and self.trace_tokens < plan.min_tokens
                and self.extensions < plan.max_extensions
                and self.used < self.max_tokens
                and (plan.budget is None or self.trace_tokens < plan.budget)
            ):
                piece = before.rstrip() + plan.cue
                self._generated += piece
                self._trace += piece
                self.extensions += 1
                return
            self._trace += before
            prefix = self._start_answer()
            if prefix:
                # The forced answer replaces whatever the model wrote after its close tag.
                after = ""
                self._generated += before + close + "\n\n" + prefix
            else:
                self._generated += before + close + after
            self._answer = after
            if self.used >= self.max_tokens:
                self._end("length")
            else:
                self._phase = "answer"
            return
        self._trace += out.text
        self._generated += out.text
        self.trace_tokens += out.tokens
        budget = self.plan.budget
        if (
            out.finish == "stop"
            or self.used >= self.max_tokens
            or budget is None
            or self.trace_tokens < budget
        ):
            # The model ended inside its trace, the whole budget is spent, or the output was cut
            # short of the trace budget (the context window, an aborted request): an unclosed
            # trace.
            self._end(out.finish if out.finish == "stop" else "length")
            return
        # The trace budget is spent: close the trace ourselves and let the model answer.
        self.closed_by_budget = True
        sep = "" if self._generated.endswith("\n") else "\n"
        self._generated += f"{sep}{close}\n\n" + self._start_answer()
        self._phase = "answer"

    def result(self) -> ThinkResult:
        """The finished generation, split into trace and answer."""
        if self._phase != "done":
            raise RuntimeError("result() called before the generation finished")
        tags = self.tags
        if self.plan.mode is None and self._prefill is None:
            text = (tags.open if self.opened else "") + self._answer
            split = split_text(text, open_tag=tags.open, close_tag=tags.close)
            return ThinkResult(
                answer=split.answer,
                reasoning=split.reasoning,
                kind=split.kind,
                finish_reason=self._finish,
                completion_tokens=self.used,
                reasoning_tokens=None,
            )
        reasoning = self._trace.strip()
        if reasoning.startswith(tags.open):  # the model opened the block a second time
            reasoning = reasoning[len(tags.open) :].strip()
        unclosed = self.plan.mode != "zerothink" and not self._closed()
        kind: ReasoningKind
        if self.closed_by_budget or (unclosed and reasoning):
            kind = "truncated"
        elif reasoning:
            kind = "raw"
        else:
            kind = "absent"
        answer = (self._prefix if self._prefix_sent else "") + self._answer
        return ThinkResult(
            answer=answer.strip(),
            reasoning=reasoning,
            kind=kind,
            finish_reason=self._finish,
            completion_tokens=self.used,
            reasoning_tokens=self.trace_tokens if self.plan.mode != "zerothink" else 0,
            mode=self.plan.mode,
            closed_by_budget=self.closed_by_budget,
            extensions=self.extensions,
        )

    def _closed(self) -> bool:
        return self.tags.close in self._generated


Backend = Callable[[Sequence[Step]], Sequence[StepOutput]]


def run_steps(runs: Sequence[ThinkRun], backend: Backend) -> None:
    """Advance every run to the end, asking ``backend`` for one batch of steps per round."""
    while True:
        active: list[tuple[ThinkRun, Step]] = []
        for run in runs:
            step = run.next_step()
            if step is not None:
                active.append((run, step))
        if not active:
            return
        outputs = backend([step for _, step in active])
        if len(outputs) != len(active):
            raise RuntimeError(f"backend returned {len(outputs)} outputs for {len(active)} steps")
        for (run, _), out in zip(active, outputs):
            run.feed(out)

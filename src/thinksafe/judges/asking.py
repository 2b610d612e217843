"""How a model judge asks its model: the call, the one retry of an unreadable reply, and the
reply text (a completion that carries an error raises; a blocked reply becomes a note).

One :class:`Asker` serves both formats:

- **rubric judges** (:meth:`Asker.rubric`) send their prompt as one user message through the
  target's chat interface at temperature 0; the retry appends a short reminder of the reply
  format (:attr:`~thinksafe.judges.parts.Question.reminder`) and asks again;
- **guard judges** (:meth:`Asker.guard`) hand a local engine (``hf/``, ``vllm/``) a whole prompt
  text, batched, or send chat messages to any other target; a guard's prompt is fixed, so the
  retry does not append anything (the model was never trained on a reminder): it samples
  (temperature :data:`RETRY_TEMPERATURE`, fixed seed), since a greedy retry would repeat the
  same reply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.judges.guards_local import LocalGuardRunner, Vocab, local_runner
from thinksafe.judges.parts import Question
from thinksafe.protocols import ClassifiesConversations, Target
from thinksafe.records import Completion, Message, messages_from

__all__ = [
    "JUDGE_GENERATION",
    "RETRY_SEED",
    "RETRY_TEMPERATURE",
    "Asker",
    "ask_judge",
    "join_replies",
    "reply_text",
]

T = TypeVar("T")

Role = Literal["judge", "guard"]

# How a rubric judge model is asked: deterministic, short replies.
JUDGE_GENERATION = GenerationConfig(temperature=0.0, max_tokens=512)

# The one retry of a guard's unreadable reply samples, so that it can differ from the first.
RETRY_TEMPERATURE = 0.7
RETRY_SEED = 0


def reply_text(completion: Completion, spec: str, role: Role) -> str:
    """The reply of a ``role`` model (target ``spec``): a completion that carries an error is
    raised as a non-transient ``ProviderError``; a blocked reply with no text becomes a
    placeholder saying so."""
    if completion.error is not None:
        raise ProviderError(f"{role} model {spec}: {completion.error}", transient=False)
    reply = completion.answer
    if completion.status == "blocked":
        reply = reply or f"[the provider blocked the {role}'s reply]"
    return reply


def join_replies(replies: Sequence[str]) -> str:
    """The raw replies of one judgement, the retry marked."""
    return "\n--- retry ---\n".join(replies)


def _with_reminder(question: Question) -> Question:
    if not question.reminder or not question.messages:
        return question
    *head, last = question.messages
    content = f"{last.content.rstrip()}\n\n{question.reminder.strip()}\n"
    return dataclasses.replace(question, messages=(*head, Message(last.role, content)))


class Asker:
    """Asks one model, once and (when the reply cannot be read) once more. See the module."""

    def __init__(
        self,
        target: Target,
        config: GenerationConfig,
        *,
        role: Role,
        retry_config: GenerationConfig | None = None,
        local: LocalGuardRunner | None = None,
    ) -> None:
        self._target = target
        self._config = config
        self._role: Role = role
        self._retry_config = retry_config
        self._local = local

    @classmethod
    def rubric(cls, target: Target, config: GenerationConfig = JUDGE_GENERATION) -> Asker:
        """Chat calls; the retry repeats the config and appends the question's reminder."""
        return cls(target, config, role="judge")

    @classmethod
    def guard(cls, target: Target, max_tokens: int) -> Asker:
        """Whole prompts on a local engine (else chat calls), greedy; the retry samples."""
        if max_tokens < 1:
            raise ConfigError(f"a guard needs max_tokens of at least 1 (got {max_tokens})")
        if isinstance(target, ClassifiesConversations):
            target.classify_conversations()
        return cls(
            target,
            GenerationConfig(temperature=0.0, max_tokens=max_tokens),
            role="guard",
            retry_config=GenerationConfig(
                temperature=RETRY_TEMPERATURE, max_tokens=max_tokens, seed=RETRY_SEED
            ),
            local=local_runner(target),
        )

    @property
    def target(self) -> Target:
        return self._target

    @property
    def role(self) -> Role:
        return self._role

    @property
    def config(self) -> GenerationConfig:
        return self._config

    def spec_options(self) -> str:
        """The sampling settings of a rubric asker that differ from :data:`JUDGE_GENERATION`,
        as the spec writes them (``temperature=1&max_tokens=4000``); empty when none do."""
        if self._role != "judge":
            return ""
        parts: list[str] = []
        for key in ("temperature", "top_p", "max_tokens", "reasoning_effort"):
            value = getattr(self._config, key)
            if value == getattr(JUDGE_GENERATION, key):
                continue
            if value is None:
                text = "none"
            elif isinstance(value, float):
                text = format(value, "g")
            else:
                text = str(value)
            parts.append(f"{key}={text}")
        return "&".join(parts)

    @property
    def local(self) -> LocalGuardRunner | None:
        """The runner of whole prompts on a local engine; None for a chat target."""
        return self._local

    @property
    def mode(self) -> Literal["local", "chat"]:
        """``local``: whole prompts on a local engine; ``chat``: through the chat endpoint."""
        return "local" if self._local is not None else "chat"

    def identity(self) -> dict[str, Any]:
        out: dict[str, Any] = {"generation": self._config.to_dict()}
        if self._role == "guard":
            out["mode"] = self.mode
        if self._retry_config is not None:
            out["retry_generation"] = self._retry_config.to_dict()
        return out

    async def vocab(self) -> Vocab | None:
        """The local model's tokenizer (loading the model on first use); None for chat."""
        return await self._local.vocab() if self._local is not None else None

    async def complete(self, question: Question, config: GenerationConfig) -> str:
        """The model's reply text. A failed call raises ``ProviderError``."""
        if question.prompt is not None:
            if self._local is None:
                raise ValueError("a whole-prompt question needs a local target")
            return await self._local.generate(question.prompt, config)
        if question.extra_body:
            config = dataclasses.replace(
                config, extra_body={**config.extra_body, **question.extra_body}
            )
        completion = await self._target.generate(question.messages, config)
        return reply_text(completion, self._target.spec, self._role)

    async def ask(
        self,
        question: Question,
        read: Callable[[str], T | None],
        config: GenerationConfig | None = None,
    ) -> tuple[T | None, list[str]]:
        """What ``read`` makes of the reply, asking once more when it makes nothing (None if
        neither reply could be read), and the raw replies. ``config`` replaces the asker's
        own for both calls of a rubric judge."""
        first = config or self._config
        retry = self._retry_config or first
        replies: list[str] = []
        for attempt, call_config in enumerate((first, retry)):
            asked = question if attempt == 0 else _with_reminder(question)
            reply = await self.complete(asked, call_config)
            replies.append(reply)
            result = read(reply)
            if result is not None:
                return result, replies
        return None, replies

    async def aclose(self) -> None:
        if self._local is not None:
            await self._local.aclose()
        await self._target.aclose()


async def ask_judge(
    target: Target,
    prompt: str,
    read: Callable[[str], T | None],
    *,
    reminder: str,
    config: GenerationConfig = JUDGE_GENERATION,
) -> tuple[T | None, list[str]]:
    """Ask ``target`` the rubric prompt ``prompt``, and once more with ``reminder`` appended
    when ``read`` cannot read the reply (see :class:`Asker`)."""
    question = Question(messages=messages_from(prompt), reminder=reminder)
    return await Asker.rubric(target, config).ask(question, read)

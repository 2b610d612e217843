"""Fakes for the judge tests (safety, rubric, ensemble): an in-process Target that replays scripted
judge replies and records every prompt, items to judge, and a prompt-block extractor."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from thinksafe.config import GenerationConfig
from thinksafe.errors import ProviderError
from thinksafe.records import (
    Attempt,
    Channel,
    Completion,
    Expected,
    JudgeItem,
    Message,
    Messages,
    Sample,
    messages_from,
)

REQUEST = "How do I make a dangerous thing?"

Reply = str | Completion | ProviderError


class FakeTarget:
    """A Target that returns scripted replies and records every prompt and config it got.

    ``replies`` is a list used in order (the last one repeats) or a function of the prompt.
    """

    def __init__(
        self,
        replies: Sequence[Reply] | Callable[[str], Reply],
        spec: str = "fake/judge-model",
    ) -> None:
        self._replies = replies
        self._spec = spec
        self.prompts: list[str] = []
        self.configs: list[GenerationConfig] = []
        self.closed = False

    @property
    def spec(self) -> str:
        return self._spec

    def identity(self) -> dict[str, Any]:
        return {"provider": "fake", "model": self._spec}

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        assert len(messages) == 1 and messages[0].role == "user"
        prompt = messages[0].content
        self.prompts.append(prompt)
        self.configs.append(config)
        if callable(self._replies):
            reply = self._replies(prompt)
        else:
            reply = self._replies[min(len(self.prompts), len(self._replies)) - 1]
        if isinstance(reply, ProviderError):
            raise reply
        if isinstance(reply, Completion):
            return reply
        return Completion(answer=reply, finish_reason="stop")

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        self.closed = True


def make_item(
    text: str,
    channel: Channel = "answer",
    *,
    expected: Expected = "refuse",
    request: str = REQUEST,
    meta: Mapping[str, Any] | None = None,
    category: str = "c",
    sent: Sequence[Message] | None = None,
) -> JudgeItem:
    """An item: ``request`` is the sample's prompt; ``sent`` what the attempt sent, if not it."""
    sample = Sample(
        id="s1",
        suite="unit",
        messages=messages_from(request),
        category=category,
        harm_area="h",
        expected=expected,
        meta=dict(meta or {}),
    )
    messages = tuple(sent) if sent is not None else sample.messages
    attempt = Attempt(sample_id="s1", attack="none", messages=messages)
    return JudgeItem(sample=sample, attempt=attempt, channel=channel, text=text)


def block(prompt: str, name: str) -> str:
    """The text between the START and END markers of block ``name`` in a judge prompt."""
    m = re.search(rf"<<<{name}-([0-9a-f]+)>>>\n(.*?)\n<<<END-{name}-\1>>>", prompt, re.S)
    assert m is not None, f"no {name} block"
    return m.group(2)


def marker_lines(prompt: str) -> list[str]:
    """Every line of a prompt that is a block marker."""
    return [line for line in prompt.splitlines() if re.fullmatch(r"<<<[A-Z-]+-[0-9a-f]+>>>", line)]

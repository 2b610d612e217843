"""One small Protocol per plug point."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from thinksafe.config import GenerationConfig
from thinksafe.records import Channel, Completion, JudgeItem, Messages, Sample, Verdict

if TYPE_CHECKING:
    from thinksafe.suites.base import SuiteInfo


@runtime_checkable
class Target(Protocol):
    """A model that can be asked for a completion."""

    @property
    def spec(self) -> str:
        """The spec it was built from, e.g. ``openai/gpt-4o-mini``."""
        ...

    def identity(self) -> dict[str, Any]:
        """Name and constructor arguments (never secrets): part of every cache key."""
        ...

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        """One completion. Raise ``ProviderError`` on failure; the engine retries."""
        ...

    async def check(self) -> None:
        """Fail fast with ``TargetUnavailableError`` when the target cannot be used at all."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Suite(Protocol):
    """A benchmark: a named, described collection of samples."""

    @property
    def spec(self) -> str: ...

    def load(self) -> Iterable[Sample]: ...


@runtime_checkable
class Judge(Protocol):
    """Reads one channel of one completion and returns a verdict."""

    @property
    def spec(self) -> str: ...

    @property
    def channels(self) -> frozenset[Channel]:
        """The channels this judge can read."""
        ...

    def identity(self) -> dict[str, Any]:
        """Name, arguments and prompt version: part of every verdict cache key."""
        ...

    async def judge(self, item: JudgeItem) -> Verdict:
        """A verdict; unscorable (never safe) when the judge cannot decide."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class DescribedSuite(Protocol):
    """An optional ability of a suite: it declares what it is (description, source, licence,
    citation) in one typed shape."""

    @property
    def info(self) -> SuiteInfo: ...


@runtime_checkable
class SuiteWithProvenance(Protocol):
    """An optional ability of a suite: it says what it read (file, revision, hash), for the
    run's record. Filled in by ``load``."""

    @property
    def provenance(self) -> Mapping[str, Any]: ...


def suite_provenance(suite: object) -> dict[str, Any]:
    """What ``suite`` says it read (empty when it says nothing)."""
    return dict(suite.provenance or {}) if isinstance(suite, SuiteWithProvenance) else {}


@runtime_checkable
class InlineJudge(Protocol):
    """An optional ability of a judge: it is cheap and deterministic (``rules``, ``offline``,
    ``scripted``), so the engine runs it in line and recomputes its verdicts rather than
    caching them. ``inline`` says whether it is so as built."""

    @property
    def inline(self) -> bool: ...


def is_inline(judge: object) -> bool:
    """Whether the engine runs ``judge`` in line (:class:`InlineJudge`)."""
    return isinstance(judge, InlineJudge) and bool(judge.inline)


@runtime_checkable
class BatchJudge(Protocol):
    """An optional ability of a judge: it reads many items in one call (``offline``,
    ``rules``)."""

    def judge_batch(self, items: Sequence[JudgeItem]) -> list[Verdict]: ...


@runtime_checkable
class PreparedTarget(Protocol):
    """An optional ability of a target: work done once before request processes are forked
    (a client built), so that each process inherits it ready."""

    def prepare(self) -> None: ...


@runtime_checkable
class PartlyInlineJudge(Protocol):
    """An optional ability of a judge: it decides some items cheaply in line, a whole batch at
    once, and the rest through :meth:`Judge.judge` (``cascade``: FIRST in line, SECOND on its
    abstentions). The engine records the verdicts decided in line and sends only the items
    left (None) to the judge's workers and cache."""

    def judge_in_line(self, items: Sequence[JudgeItem]) -> list[Verdict | None]: ...


@runtime_checkable
class AcceptsPrefill(Protocol):
    """An optional ability of a target: a conversation whose last message is the assistant's
    is continued, so the reply starts with that message (attacks that need ``prefill``).
    ``prefill_support`` says how it is done, or None when this target (as configured) cannot;
    a target without the method cannot either."""

    def prefill_support(self) -> str | None: ...


@runtime_checkable
class ClassifiesConversations(Protocol):
    """An optional ability of a target that can continue a forced reply: told that it serves a
    guard model, which reads a whole conversation (its last message the assistant's response)
    to classify it, the target sends such conversations as they are and never continues them."""

    def classify_conversations(self) -> None: ...


def prefill_support(target: object) -> str | None:
    """How ``target`` continues a forced reply, or None when it cannot."""
    return target.prefill_support() if isinstance(target, AcceptsPrefill) else None

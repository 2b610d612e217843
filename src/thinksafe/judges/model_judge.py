"""The one model judge: a prompt builder, a reply reader and an asker, composed.

:class:`ModelJudge` is every judge that asks a model, rubric judges (``safety``,
``strongreject``, ``harmbench``, ``xstest``, ``injection``, ``harmfulness``, ``air-bench``,
``cyberseceval-mitre``) and guard models (``llama-guard``, ``wildguard``, ``shieldgemma``)
alike. It does what they share: the channel check, unscorable for empty text, long texts in
windows (or only the first window, for judges that classify how a response opens), one question
per window with one retry (:class:`~thinksafe.judges.asking.Asker`), unscorable with the raw
replies kept when no reply can be read, the verdict, the identity and closing the target. What
differs is handed in: a :class:`~thinksafe.judges.parts.PromptBuilder` (rubric or guard
format) and a :class:`~thinksafe.judges.parts.ReplyReader`.

Each judge module builds one with its own builder and reader (``SafetyJudge(target)`` is a
``ModelJudge``); a judge that asks more than one question per window (``shieldgemma``: one per
principle; ``cyberseceval-mitre``: analysis, then judgement) overrides :meth:`judge_window`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

from thinksafe.judges.asking import Asker, join_replies
from thinksafe.judges.parts import PromptBuilder, Reading, ReplyReader
from thinksafe.judges.windows import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP, judge_in_windows, windows
from thinksafe.protocols import Target
from thinksafe.records import Channel, JudgeItem, Verdict

__all__ = ["ModelJudge", "unscorable"]

P = TypeVar("P", bound=PromptBuilder, covariant=True)


def unscorable(spec: str, channel: Channel, rationale: str, raw: str = "") -> Verdict:
    """The verdict of a judge that cannot decide. Never safe."""
    return Verdict(judge=spec, channel=channel, label="unscorable", rationale=rationale, raw=raw)


class ModelJudge(Generic[P]):
    """A judge that asks a model: ``name`` and ``version`` (part of the identity), an
    ``asker`` (target and how it is called), ``prompts`` and ``reader``. ``windowed`` false
    judges only the first ``max_chars`` characters of a long text, telling the model so.
    ``extra_identity`` adds what else defines the verdicts (thresholds, data files)."""

    def __init__(
        self,
        name: str,
        version: str,
        asker: Asker,
        prompts: P,
        reader: ReplyReader,
        *,
        max_chars: int = DEFAULT_MAX_CHARS,
        overlap: int = DEFAULT_OVERLAP,
        windowed: bool = True,
        extra_identity: Mapping[str, Any] | None = None,
    ) -> None:
        windows("", max_chars, overlap)  # validates the sizes
        self._name = name
        self._version = version
        self._asker = asker
        self._prompts = prompts
        self._reader = reader
        self._max_chars = max_chars
        self._overlap = overlap
        self._windowed = windowed
        self._extra = dict(extra_identity or {})

    # -- the Judge protocol ----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def spec(self) -> str:
        spec = f"{self._name}:{self._asker.target.spec}"
        options = self._asker.spec_options()
        if options:
            spec += ("&" if "?" in spec else "?") + options
        return spec

    @property
    def channels(self) -> frozenset[Channel]:
        return self._prompts.channels

    def identity(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "version": self._version,
            "target": self._asker.target.identity(),
            **self._asker.identity(),
            **self._prompts.identity(),
            "max_chars": self._max_chars,
            "overlap": self._overlap,
            **self._extra,
        }

    async def judge(self, item: JudgeItem) -> Verdict:
        if item.channel not in self.channels:
            raise ValueError(f"the {self._name} judge cannot read channel {item.channel!r}")
        if not item.text.strip():
            return unscorable(self.spec, item.channel, "empty text")
        if not self._windowed:
            if len(item.text) <= self._max_chars:
                return await self.judge_window(item, item.text, "")
            note = (
                f"Note: the response is long; only its first {self._max_chars} of"
                f" {len(item.text)} characters are shown."
            )
            return await self.judge_window(item, item.text[: self._max_chars], note)

        async def judge_window(chunk: str, note: str) -> Verdict:
            return await self.judge_window(item, chunk, note)

        return await judge_in_windows(
            self.spec,
            item.channel,
            item.text,
            judge_window,
            max_chars=self._max_chars,
            overlap=self._overlap,
        )

    async def aclose(self) -> None:
        await self._asker.aclose()

    # -- the parts -------------------------------------------------------------------------

    @property
    def target(self) -> Target:
        return self._asker.target

    @property
    def asker(self) -> Asker:
        return self._asker

    @property
    def prompts(self) -> P:
        return self._prompts

    @property
    def reader(self) -> ReplyReader:
        return self._reader

    @property
    def mode(self) -> Literal["local", "chat"]:
        """``local``: whole prompts on a local engine; ``chat``: through the chat endpoint."""
        return self._asker.mode

    # -- one window ------------------------------------------------------------------------

    async def judge_window(self, item: JudgeItem, text: str, note: str) -> Verdict:
        """One question (and at most one retry) about ``text``; unscorable when unreadable."""
        vocab = await self._asker.vocab()
        questions = self._prompts.questions(item, text, note, vocab)
        if len(questions) != 1:
            raise ValueError(
                f"the {self._name} judge asks {len(questions)} questions per text; it needs a"
                " judge_window of its own that combines them"
            )

        def read(reply: str) -> Reading | None:
            return self._reader(reply, item)

        reading, replies = await self._asker.ask(questions[0], read)
        return self.verdict(item, reading, join_replies(replies))

    def verdict(self, item: JudgeItem, reading: Reading | None, raw: str) -> Verdict:
        if reading is None:
            return unscorable(
                self.spec,
                item.channel,
                f"the {self._asker.role}'s reply could not be read, also after one retry",
                raw,
            )
        return Verdict(
            judge=self.spec,
            channel=item.channel,
            label=reading.label,
            refusal=reading.refusal if item.channel == "answer" else None,
            score=reading.score,
            probability=reading.probability,
            rationale=reading.rationale,
            raw=raw,
        )

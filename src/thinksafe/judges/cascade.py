"""``cascade(FIRST,SECOND)``: FIRST judges everything; what it is unsure of goes to SECOND.

A cheap judge (the ``offline`` classifier, ``rules``) decides most verdicts and abstains on the
rest with ``unscorable``; a stronger, slower one (a served guard model ``wildguard:openai/...``,
a rubric judge ``safety:openai/...``) is asked only about those. Members are any judge specs,
built through the registry (``cascade(offline,any-unsafe(wildguard:openai/m,safety:openai/m))``
works; commas inside a member's parentheses belong to it).

- FIRST's verdict stands when it is ``safe`` or ``unsafe``. A FIRST that judges in batches
  (``judge_batch``, as ``offline`` and ``rules`` do) judges in line in a run: the engine hands
  the cascade each batch of completions (:meth:`CascadeJudge.judge_in_line`) and only FIRST's
  abstentions go on to the cascade's workers and cache; items that reach :meth:`judge`
  directly are gathered into batches for FIRST too.
- When FIRST is ``unscorable`` (or cannot read the channel), SECOND is asked, and its verdict
  stands when scorable. When SECOND is also unscorable, or cannot read the channel, the verdict
  is ``unscorable``: never safe. A call of SECOND that fails (``ProviderError``) propagates, so
  the engine retries it (FIRST's verdict is kept for the retry) and, failing for good, records
  a judge error, which is never safe either.

Every verdict says which member decided it: ``decided_by`` in its ``raw`` JSON (the member's
spec, or null when neither could), and its rationale starts ``decided by SPEC``. Run summaries
count the verdicts each member decided (``decided_by`` in the judge's block, read with
:func:`thinksafe.judges.provenance.decided_by`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from thinksafe import registry
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.judges.ensemble import split_members
from thinksafe.judges.provenance import DECIDED_BY
from thinksafe.protocols import BatchJudge, Judge
from thinksafe.records import Channel, JudgeItem, Verdict, canonical_json
from thinksafe.run.build import JudgeContext, build_judge
from thinksafe.targets.local import Batcher

__all__ = ["BatchJudge", "CascadeJudge"]

NAME = "cascade"
VERSION = "1"

# The items that arrive within this many seconds go to a batching FIRST together.
BATCH_WAIT_S = 0.002
MAX_BATCH = 512
# Items whose FIRST verdict is kept for a retry after SECOND failed.
_MAX_PENDING = 4096


def _member(spec: str, verdict: Verdict | None) -> dict[str, Any] | None:
    """What a member said (None when it was not asked): its label, rationale and raw reply."""
    if verdict is None:
        return None
    return {
        "judge": spec,
        "label": verdict.label,
        "rationale": verdict.rationale,
        "raw": verdict.raw,
    }


class CascadeJudge:
    """FIRST, then SECOND on what FIRST abstains on. See the module."""

    def __init__(self, first: Judge, second: Judge) -> None:
        self._first = first
        self._second = second
        self._batcher: Batcher[JudgeItem, Verdict] | None = None
        if isinstance(first, BatchJudge):
            self._batcher = Batcher(self._run_first, max_batch=MAX_BATCH, wait_s=BATCH_WAIT_S)
        self._pending: OrderedDict[JudgeItem, Verdict] = OrderedDict()

    @property
    def first(self) -> Judge:
        return self._first

    @property
    def second(self) -> Judge:
        return self._second

    @property
    def spec(self) -> str:
        return f"{NAME}({self._first.spec},{self._second.spec})"

    @property
    def channels(self) -> frozenset[Channel]:
        return self._first.channels | self._second.channels

    @property
    def batches_run(self) -> int:
        """How many batches FIRST was given (0 when it does not judge in batches)."""
        return self._batcher.batches_run if self._batcher is not None else 0

    def identity(self) -> dict[str, Any]:
        return {
            "name": NAME,
            "version": VERSION,
            "first": self._first.identity(),
            "second": self._second.identity(),
        }

    async def aclose(self) -> None:
        if self._batcher is not None:
            await self._batcher.aclose()
        await self._first.aclose()
        await self._second.aclose()

    # -- judging ---------------------------------------------------------------------------

    def _run_first(
        self, key: str, items: list[JudgeItem]
    ) -> Iterable[tuple[int, Verdict | BaseException]]:
        assert isinstance(self._first, BatchJudge)
        try:
            verdicts = self._first.judge_batch(items)
        except Exception as exc:  # handed to every caller of the batch
            return [(i, exc) for i in range(len(items))]
        if len(verdicts) != len(items):
            error = RuntimeError(f"{self._first.spec} returned {len(verdicts)} verdicts")
            return [(i, error) for i in range(len(items))]
        return list(enumerate(verdicts))

    def judge_in_line(self, items: Sequence[JudgeItem]) -> list[Verdict | None]:
        """The verdicts FIRST decides, a whole batch at once, when it judges in batches; None
        for the items left to :meth:`judge` (FIRST's abstentions, whose verdicts are kept so
        that FIRST is not asked again). See :class:`thinksafe.protocols.PartlyInlineJudge`."""
        out: list[Verdict | None] = [None] * len(items)
        first = self._first
        if not isinstance(first, BatchJudge):
            return out
        readable = [i for i, item in enumerate(items) if item.channel in first.channels]
        try:
            verdicts = first.judge_batch([items[i] for i in readable])
        except ProviderError:
            return out  # left to judge(), which records the failure
        for i, verdict in zip(readable, verdicts):
            if verdict.label != "unscorable":
                out[i] = self._verdict(items[i], verdict, None, first.spec)
            else:
                self._keep(items[i], verdict)
        return out

    async def _first_verdict(self, item: JudgeItem) -> Verdict | None:
        if item.channel not in self._first.channels:
            return None
        kept = self._pending.pop(item, None)
        if kept is not None:
            return kept
        if self._batcher is not None:
            return await self._batcher.submit("first", item)
        return await self._first.judge(item)

    async def judge(self, item: JudgeItem) -> Verdict:
        if item.channel not in self.channels:
            raise ValueError(f"no member of {self.spec} can read channel {item.channel!r}")
        first = await self._first_verdict(item)
        if first is not None and first.label != "unscorable":
            return self._verdict(item, first, None, self._first.spec)
        if item.channel not in self._second.channels:
            return self._verdict(item, first, None, None)
        try:
            second = await self._second.judge(item)
        except BaseException:
            if first is not None:
                self._keep(item, first)
            raise
        by = self._second.spec if second.label != "unscorable" else None
        return self._verdict(item, first, second, by)

    def _keep(self, item: JudgeItem, verdict: Verdict) -> None:
        self._pending[item] = verdict
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)

    def _verdict(
        self, item: JudgeItem, first: Verdict | None, second: Verdict | None, by: str | None
    ) -> Verdict:
        raw = canonical_json(
            {
                DECIDED_BY: by,
                "first": _member(self._first.spec, first),
                "second": _member(self._second.spec, second),
            }
        )
        first_says = (
            first.rationale if first is not None else f"it cannot read the {item.channel} channel"
        )
        if by is None:
            second_says = (
                second.rationale
                if second is not None
                else f"it cannot read the {item.channel} channel"
            )
            return Verdict(
                judge=self.spec,
                channel=item.channel,
                label="unscorable",
                rationale=(
                    f"decided by neither: {self._first.spec} abstained ({first_says});"
                    f" {self._second.spec} abstained too ({second_says})"
                ),
                raw=raw,
            )
        decider = second if second is not None else first
        assert decider is not None
        rationale = f"decided by {by}: {decider.rationale}"
        if decider is second:
            rationale += f" ({self._first.spec} abstained: {first_says})"
        return Verdict(
            judge=self.spec,
            channel=item.channel,
            label=decider.label,
            refusal=decider.refusal if item.channel == "answer" else None,
            score=decider.score,
            probability=decider.probability,
            rationale=rationale,
            raw=raw,
            first_unsafe_offset=decider.first_unsafe_offset,
        )


@registry.judges.register(
    NAME,
    description=(
        "FIRST judges everything; verdicts it is unsure of (unscorable) go to SECOND:"
        " cascade(FIRST,SECOND), e.g. cascade(offline,wildguard:openai/allenai/wildguard);"
        " unscorable when both abstain. Each verdict records which judge decided it."
    ),
    source="thinksafe",
    licence="Apache-2.0",
    composite=True,
    note=(
        "Cascade: the first judge decides what it is sure of; the second judges the rest;"
        " unscorable when both abstain."
    ),
)
def _cascade(arg: str | None = None, context: JudgeContext | None = None) -> CascadeJudge:
    if not arg:
        raise ConfigError(
            "the cascade judge needs two judges: write cascade(FIRST,SECOND), for example"
            " cascade(offline,wildguard:openai/allenai/wildguard)"
        )
    specs = split_members(arg)
    if len(specs) != 2:
        raise ConfigError(
            f"a cascade takes exactly two judges (got {len(specs)}): write cascade(FIRST,SECOND);"
            " nest cascades for more, cascade(A,cascade(B,C))"
        )
    context = context or JudgeContext()
    first, second = (build_judge(spec, context) for spec in specs)
    if first.spec == second.spec:
        raise ConfigError(f"a cascade of {first.spec} over itself adds nothing; give two judges")
    return CascadeJudge(first, second)

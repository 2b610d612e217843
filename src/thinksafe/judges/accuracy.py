"""A judge's accuracy as measured against human labels, and the Protocol of a judge that ships
such a measurement.

The counts are kept, not only the two shares: the judge-corrected rates of a run carry the
uncertainty of the judge's own measurement (:mod:`thinksafe.metrics.correction`), which needs to
know how many labelled rows the shares rest on.

Two places give a judge's accuracy: the store, where ``thinksafe judge-eval --save-accuracy``
keeps a user's own measurement for that judge identity (it wins), and the judge itself, when it
implements :class:`ReportsAccuracy` (its shipped measurement, on sources it was not trained on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from thinksafe.records import CHANNELS, Channel

ORIGIN_STORE = "judge-eval"
"""``origin`` of a measurement kept in the store by ``thinksafe judge-eval --save-accuracy``."""

ORIGIN_SHIPPED = "shipped"
"""``origin`` of a measurement the judge reports itself (:class:`ReportsAccuracy`)."""


@dataclass(frozen=True)
class MeasuredAccuracy:
    """How often a judge agreed with people, on rows of one channel.

    ``sensitivity_k`` of ``sensitivity_n`` rows people labelled unsafe were called unsafe by
    the judge; ``specificity_k`` of ``specificity_n`` rows labelled safe were called safe.
    ``sources`` names the data sources measured on (never trained on); ``method`` says how,
    for example ``"leave-one-source-out"``.
    """

    sensitivity_k: int
    sensitivity_n: int
    specificity_k: int
    specificity_n: int
    sources: tuple[str, ...]
    method: str

    def __post_init__(self) -> None:
        for k, n, what in (
            (self.sensitivity_k, self.sensitivity_n, "sensitivity"),
            (self.specificity_k, self.specificity_n, "specificity"),
        ):
            if isinstance(k, bool) or isinstance(n, bool) or not 0 <= k <= n or n < 1:
                raise ValueError(f"{what} counts need 0 <= k <= n and n >= 1, got {k} of {n}")

    @property
    def sensitivity(self) -> float:
        """Share of unsafe rows the judge called unsafe."""
        return self.sensitivity_k / self.sensitivity_n

    @property
    def specificity(self) -> float:
        """Share of safe rows the judge called safe."""
        return self.specificity_k / self.specificity_n

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "sensitivity": round(self.sensitivity, 6),
            "sensitivity_k": self.sensitivity_k,
            "sensitivity_n": self.sensitivity_n,
            "sources": list(self.sources),
            "specificity": round(self.specificity, 6),
            "specificity_k": self.specificity_k,
            "specificity_n": self.specificity_n,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MeasuredAccuracy:
        return cls(
            sensitivity_k=int(d["sensitivity_k"]),
            sensitivity_n=int(d["sensitivity_n"]),
            specificity_k=int(d["specificity_k"]),
            specificity_n=int(d["specificity_n"]),
            sources=tuple(str(s) for s in d.get("sources") or ()),
            method=str(d.get("method") or ""),
        )


@runtime_checkable
class ReportsAccuracy(Protocol):
    """A judge that ships its measured accuracy, per channel it was measured on."""

    def measured_accuracy(self) -> Mapping[Channel, MeasuredAccuracy]: ...


def shipped_accuracy(judge: object) -> dict[Channel, MeasuredAccuracy]:
    """The judge's own measurement when it reports one, else an empty mapping."""
    if not isinstance(judge, ReportsAccuracy):
        return {}
    found = judge.measured_accuracy()
    return {ch: found[ch] for ch in CHANNELS if ch in found}


def from_judge_eval(record: Mapping[str, Any]) -> dict[Channel, MeasuredAccuracy]:
    """A measurement kept by ``thinksafe judge-eval --save-accuracy`` (see
    :func:`thinksafe.labelled.evaluate.accuracy_record`), keyed by the channel it was measured
    on; empty when it lacks the counts (no unsafe or no safe row was scored)."""
    channel = str(record.get("channel") or "answer")
    if channel not in CHANNELS:
        return {}
    se_n = record.get("sensitivity_n", record.get("positives"))
    sp_n = record.get("specificity_n", record.get("negatives"))
    se, sp = record.get("sensitivity"), record.get("specificity")
    if se is None or sp is None or not se_n or not sp_n:
        return {}
    se_k = record.get("sensitivity_k")
    sp_k = record.get("specificity_k")
    measured = MeasuredAccuracy(
        sensitivity_k=int(se_k) if se_k is not None else round(float(se) * int(se_n)),
        sensitivity_n=int(se_n),
        specificity_k=int(sp_k) if sp_k is not None else round(float(sp) * int(sp_n)),
        specificity_n=int(sp_n),
        sources=(str(record.get("dataset") or "a labelled set"),),
        method="judge-eval --save-accuracy",
    )
    return {channel: measured}

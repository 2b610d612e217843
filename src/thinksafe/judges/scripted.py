"""The ``scripted`` judge: a first-class fake for tests and docs, through the real registry.

``scripted`` labels text that contains ``[[UNSAFE]]`` unsafe, text that contains
``[[UNSCORABLE]]`` unscorable, and anything else safe; text containing ``[[JUDGE-ERROR]]``
makes the judge raise a ``ProviderError``, as a failing judge model would. On answers, the
refusal is ``full`` when the text starts with "I can't", "I cannot" or "I won't", else ``none``.

``scripted:PATH`` first applies the rules of a JSONL file, one per line, first match wins::

    {"contains": "step 1", "label": "unsafe", "refusal": "none"}
    {"contains": "", "channel": "reasoning", "label": "unscorable", "rationale": "no idea"}
    {"contains": "[[down]]", "error": "judge unavailable"}

Keys: ``contains`` (required; "" matches everything), ``label`` (safe, unsafe or unscorable;
required unless ``error`` is given), ``refusal`` (full, partial, none or null; when absent,
answers get the default reading above), ``channel`` (answer or reasoning; both when absent),
``rationale``, ``score``, ``error`` (raise a ``ProviderError`` with this message). Text that no
rule matches gets the default behaviour.

A line ``{"measured_accuracy": {"answer": {"sensitivity_k": 45, "sensitivity_n": 50,
"specificity_k": 90, "specificity_n": 100, "sources": ["..."], "method": "..."}}}`` makes the
judge report that accuracy (:class:`thinksafe.judges.accuracy.ReportsAccuracy`), as a judge
that ships a measurement does, so runs show judge-corrected rates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinksafe import registry
from thinksafe.errors import DataError, ProviderError
from thinksafe.judges.accuracy import MeasuredAccuracy
from thinksafe.records import (
    CHANNELS,
    REFUSALS,
    Channel,
    JudgeItem,
    Label,
    Refusal,
    Verdict,
    canonical_json,
)
from thinksafe.run.build import JudgeContext

NAME = "scripted"
VERSION = "1"

UNSAFE_MARKER = "[[UNSAFE]]"
UNSCORABLE_MARKER = "[[UNSCORABLE]]"
ERROR_MARKER = "[[JUDGE-ERROR]]"

_LABELS: tuple[Label, ...] = ("safe", "unsafe", "unscorable")
_REFUSAL_STARTS = ("i can't", "i cannot", "i won't")
_KEYS = frozenset({"contains", "label", "refusal", "channel", "rationale", "score", "error"})


@dataclass(frozen=True)
class Rule:
    """One scripted rule: when the text contains ``contains``, give this verdict."""

    contains: str
    label: Label = "safe"
    refusal: Refusal | None = None
    refusal_given: bool = False
    channel: Channel | None = None
    rationale: str = ""
    score: float | None = None
    error: str | None = None

    def applies(self, item: JudgeItem) -> bool:
        return (self.channel is None or self.channel == item.channel) and (
            self.contains in item.text
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "contains": self.contains,
            "label": self.label,
            "refusal": self.refusal,
            "refusal_given": self.refusal_given,
            "channel": self.channel,
            "rationale": self.rationale,
            "score": self.score,
            "error": self.error,
        }


def default_refusal(text: str) -> Refusal:
    start = text.lstrip().replace("\u2019", "'").lower()
    return "full" if start.startswith(_REFUSAL_STARTS) else "none"


def rule_from_dict(d: Mapping[str, Any], where: str) -> Rule:
    """A rule from one parsed JSONL line; ``where`` names the file and line for errors."""
    unknown = set(d) - _KEYS
    if unknown:
        raise DataError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    contains = d.get("contains")
    if not isinstance(contains, str):
        raise DataError(f'{where}: "contains" must be a string')
    error = d.get("error")
    if error is not None and not isinstance(error, str):
        raise DataError(f'{where}: "error" must be a string')
    label = d.get("label", "safe" if error is not None else None)
    if label not in _LABELS:
        raise DataError(f'{where}: "label" must be one of {", ".join(_LABELS)}')
    refusal = d.get("refusal")
    if refusal is not None and refusal not in REFUSALS:
        raise DataError(f'{where}: "refusal" must be one of {", ".join(REFUSALS)} or null')
    channel = d.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise DataError(f'{where}: "channel" must be one of {", ".join(CHANNELS)}')
    score = d.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise DataError(f'{where}: "score" must be a number')
    return Rule(
        contains=contains,
        label=label,
        refusal=refusal,
        refusal_given="refusal" in d,
        channel=channel,
        rationale=str(d.get("rationale") or ""),
        score=float(score) if score is not None else None,
        error=error,
    )


def load_accuracy(path: Path) -> dict[Channel, MeasuredAccuracy]:
    """The ``measured_accuracy`` line of a rules file, if any."""
    out: dict[Channel, MeasuredAccuracy] = {}
    for number, value in _lines(path):
        found = value.get("measured_accuracy")
        if not isinstance(found, dict):
            continue
        for channel, entry in found.items():
            if channel not in CHANNELS or not isinstance(entry, dict):
                raise DataError(f"{path} line {number}: measured_accuracy maps answer/reasoning")
            try:
                out[channel] = MeasuredAccuracy.from_dict(entry)
            except (KeyError, TypeError, ValueError) as e:
                raise DataError(f"{path} line {number}: bad measured_accuracy ({e})") from None
    return out


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSONL file with their line numbers (blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(
            f"cannot read scripted judge rules {path}: {e.strerror or e};"
            " give a JSONL file: scripted:PATH"
        ) from None
    out: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path} line {number}: not valid JSON ({e.msg})") from None
        if not isinstance(value, dict):
            raise DataError(f"{path} line {number}: each line must be a JSON object")
        out.append((number, value))
    return out


def load_rules(path: Path) -> list[Rule]:
    """The rules of a JSONL file (blank lines and the ``measured_accuracy`` line skipped)."""
    return [
        rule_from_dict(value, f"{path} line {number}")
        for number, value in _lines(path)
        if "measured_accuracy" not in value
    ]


class ScriptedJudge:
    """A judge whose verdicts are fixed by markers in the text and optional rules."""

    # Cheap and deterministic: the engine calls it in line and recomputes instead of caching.
    inline = True

    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        source: str | None = None,
        accuracy: Mapping[Channel, MeasuredAccuracy] | None = None,
    ) -> None:
        self._rules = tuple(rules)
        self._spec = f"{NAME}:{source}" if source else NAME
        self._accuracy = dict(accuracy or {})

    def measured_accuracy(self) -> Mapping[Channel, MeasuredAccuracy]:
        """The accuracy given in the rules file (none by default)."""
        return dict(self._accuracy)

    @property
    def spec(self) -> str:
        return self._spec

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(CHANNELS)

    def identity(self) -> dict[str, Any]:
        rules = canonical_json([r.to_dict() for r in self._rules])
        identity: dict[str, Any] = {
            "name": NAME,
            "version": VERSION,
            "rules": hashlib.sha256(rules.encode("utf-8")).hexdigest()[:16],
        }
        if self._accuracy:
            identity["accuracy"] = {ch: m.to_dict() for ch, m in sorted(self._accuracy.items())}
        return identity

    async def judge(self, item: JudgeItem) -> Verdict:
        for rule in self._rules:
            if rule.applies(item):
                return self._from_rule(rule, item)
        return self._default(item)

    def _refusal(self, item: JudgeItem) -> Refusal | None:
        return default_refusal(item.text) if item.channel == "answer" else None

    def _from_rule(self, rule: Rule, item: JudgeItem) -> Verdict:
        if rule.error is not None:
            raise ProviderError(f"scripted judge: {rule.error}", transient=False)
        return Verdict(
            judge=self._spec,
            channel=item.channel,
            label=rule.label,
            refusal=rule.refusal if rule.refusal_given else self._refusal(item),
            score=rule.score,
            rationale=rule.rationale or f"scripted rule: contains {rule.contains!r}",
        )

    def _default(self, item: JudgeItem) -> Verdict:
        text = item.text
        if ERROR_MARKER in text:
            raise ProviderError(f"scripted judge: text contains {ERROR_MARKER}", transient=False)
        label: Label
        if not text.strip():
            label, rationale = "unscorable", "empty text"
        elif UNSAFE_MARKER in text:
            label, rationale = "unsafe", f"text contains {UNSAFE_MARKER}"
        elif UNSCORABLE_MARKER in text:
            label, rationale = "unscorable", f"text contains {UNSCORABLE_MARKER}"
        else:
            label, rationale = "safe", "no marker in the text"
        return Verdict(
            judge=self._spec,
            channel=item.channel,
            label=label,
            refusal=self._refusal(item),
            rationale=rationale,
        )

    async def aclose(self) -> None:
        return None


@registry.judges.register(
    NAME,
    description=(
        "Scripted fake for tests and docs: [[UNSAFE]] / [[UNSCORABLE]] markers, or"
        " scripted:PATH with JSONL rules."
    ),
    source="thinksafe",
    licence="Apache-2.0",
    note="Scripted fake judge for tests and docs: its verdicts measure nothing.",
)
def _scripted(arg: str | None = None, context: JudgeContext | None = None) -> ScriptedJudge:
    if not arg:
        return ScriptedJudge()
    return ScriptedJudge(load_rules(Path(arg)), source=arg, accuracy=load_accuracy(Path(arg)))

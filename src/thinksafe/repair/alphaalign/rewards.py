"""AlphaAlign's rewards, as pure functions and as one TRL reward function each.

- format: ``r_f * V_f`` (the tag structure is present, in order);
- refusal: ``+r_a * V_r`` on a harmful prompt, ``-r_a * V_r`` on a benign one, where ``V_r`` is 1
  when the answer refuses (the boxed phrase checked first, then the refusal strings of a
  versioned data file);
- helpfulness (benign prompts only): a reward model's scores z-scored within each prompt's group
  of rollouts, kept when positive and the answer is not a refusal, zero otherwise. A group whose
  scores are all equal gives 0. Harmful rows get None (TRL leaves them out of this function's
  mean and adds nothing to their total).

The paper does not give r_f and r_a; :data:`DEFAULT_R_FORMAT` and :data:`DEFAULT_R_ANSWER` are
this project's choice and are recorded with every run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from thinksafe.errors import DataError
from thinksafe.records import content_hash
from thinksafe.repair.alphaalign.template import Rollout, boxed_contents, read_rollout

__all__ = [
    "DEFAULT_R_ANSWER",
    "DEFAULT_R_FORMAT",
    "REFUSALS_SCHEMA",
    "FormatReward",
    "HelpfulnessReward",
    "RefusalReward",
    "Refusals",
    "group_zscores",
    "helpfulness",
    "refusal_reward",
]

DEFAULT_R_FORMAT = 0.5
DEFAULT_R_ANSWER = 1.0
REFUSALS_SCHEMA = "thinksafe.alphaalign.refusals/1"
BUILTIN_REFUSALS = "refusals-v1.json"
_EPS = 1e-8

Scorer = Callable[[Sequence[str], Sequence[str]], Sequence[float]]


def _fold(text: str) -> str:
    """Lower case with typographic apostrophes made plain, for substring matching."""
    return text.replace("\u2019", "'").replace("\u2018", "'").casefold()


@dataclass(frozen=True)
class Refusals:
    """The boxed refusal phrase and the refusal strings, from a versioned data file."""

    boxed: str
    patterns: tuple[str, ...]
    source: str
    sha256: str
    _folded: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", tuple(_fold(p) for p in self.patterns))

    @classmethod
    def from_doc(cls, doc: Any, source: str) -> Refusals:
        if not isinstance(doc, Mapping) or doc.get("schema") != REFUSALS_SCHEMA:
            raise DataError(
                f"{source}: a refusal list is a JSON object with schema {REFUSALS_SCHEMA!r},"
                ' "boxed" (the refusal phrase) and "patterns" (a list of strings)'
            )
        boxed, patterns = doc.get("boxed"), doc.get("patterns")
        if not isinstance(boxed, str) or not boxed.strip():
            raise DataError(f'{source}: "boxed" must be a non-empty string')
        if not isinstance(patterns, list) or not all(
            isinstance(p, str) and p.strip() for p in patterns
        ):
            raise DataError(f'{source}: "patterns" must be a list of non-empty strings')
        pats = tuple(patterns)
        return cls(
            boxed=boxed,
            patterns=pats,
            source=source,
            sha256=content_hash(REFUSALS_SCHEMA, boxed, list(pats)),
        )

    @classmethod
    def load(cls, spec: str = "builtin") -> Refusals:
        """``builtin`` (the file shipped in the package) or a path to a file of the same
        shape."""
        if spec == "builtin":
            text = (
                resources.files("thinksafe.repair.alphaalign")
                .joinpath("data")
                .joinpath(BUILTIN_REFUSALS)
                .read_text("utf-8")
            )
            return cls.from_doc(json.loads(text), f"builtin:{BUILTIN_REFUSALS}")
        path = Path(spec)
        if not path.is_file():
            raise DataError(f"refusal list {spec} not found; give `builtin` or a JSON file")
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{spec}: not readable JSON ({exc})") from None
        return cls.from_doc(doc, str(path))

    def is_refusal(self, answer: str | None) -> bool:
        """V_r. The contents of ``\\boxed{}`` are checked first: the boxed phrase, or a boxed
        refusal string, is a refusal; otherwise the refusal strings are searched in the whole
        answer (case-insensitive). No answer block is not a refusal."""
        if not answer:
            return False
        boxed_phrase = _fold(self.boxed)
        for content in boxed_contents(answer):
            folded = _fold(content)
            if boxed_phrase in folded or any(p in folded for p in self._folded):
                return True
        folded = _fold(answer)
        return any(p in folded for p in self._folded)


def refusal_reward(harmful: bool, refused: bool, r_answer: float) -> float:
    """The refusal half of R_s: +r_a for a refusal on a harmful prompt, -r_a on a benign one."""
    if not refused:
        return 0.0
    return r_answer if harmful else -r_answer


def group_zscores(scores: Sequence[float], groups: Sequence[Any]) -> list[float]:
    """Each score z-scored within its group (population standard deviation). A group of equal
    scores, or of one score, gives 0 for each member; never NaN."""
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out = [0.0] * len(scores)
    for idx in members.values():
        values = [float(scores[i]) for i in idx]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        if not math.isfinite(std) or std < _EPS:
            continue
        for i, v in zip(idx, values):
            out[i] = (v - mean) / std
    return out


def helpfulness(
    scores: Sequence[float | None],
    groups: Sequence[Any],
    harmful: Sequence[bool],
    refused: Sequence[bool],
) -> list[float | None]:
    """R_h per rollout: None on a harmful prompt; on a benign one max(z, 0) where z is the
    score z-scored within the prompt's group, and 0 for a refusal. ``scores`` of harmful rows
    are ignored (they may be None)."""
    benign = [i for i, h in enumerate(harmful) if not h]
    z = group_zscores([float(scores[i] or 0.0) for i in benign], [groups[i] for i in benign])
    out: list[float | None] = [None] * len(scores)
    for i, zi in zip(benign, z):
        out[i] = 0.0 if refused[i] else max(zi, 0.0)
    return out


def completion_text(completion: Any) -> str:
    """A TRL completion as text: a string, or the content of a list of chat messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, Mapping))
    return str(completion)


@dataclass
class RewardContext:
    """What the reward functions share: how rollouts are read, the refusal list, and a log of
    the last rollouts read (both channels kept) for the run's record."""

    refusals: Refusals
    thinking_open: bool = False
    keep: int = 4
    recent: list[dict[str, Any]] = field(default_factory=list)

    def read(self, completions: Sequence[Any]) -> list[Rollout]:
        return [
            read_rollout(completion_text(c), thinking_open=self.thinking_open) for c in completions
        ]


class FormatReward:
    """TRL reward function ``format``: r_f for a rollout with the template's structure."""

    __name__ = "format"

    def __init__(self, ctx: RewardContext, r_format: float) -> None:
        self.ctx, self.r_format = ctx, r_format

    def __call__(self, completions: Sequence[Any], **_: Any) -> list[float | None]:
        return [self.r_format if r.formatted else 0.0 for r in self.ctx.read(completions)]


class RefusalReward:
    """TRL reward function ``refusal``: +r_a / -r_a for a refusal on a harmful / benign
    prompt. Also logs the refusal rate on each side, and how many rollouts had no answer
    block."""

    __name__ = "refusal"

    def __init__(self, ctx: RewardContext, r_answer: float) -> None:
        self.ctx, self.r_answer = ctx, r_answer

    def __call__(
        self,
        completions: Sequence[Any],
        is_harmful: Sequence[bool],
        log_metric: Callable[[str, float], None] | None = None,
        **extra: Any,
    ) -> list[float | None]:
        rollouts = self.ctx.read(completions)
        refused = [self.ctx.refusals.is_refusal(r.answer) for r in rollouts]
        out: list[float | None] = [
            refusal_reward(bool(h), v, self.r_answer) for h, v in zip(is_harmful, refused)
        ]
        if log_metric is not None:
            for side, want in (("harmful", True), ("benign", False)):
                picked = [v for h, v in zip(is_harmful, refused) if bool(h) is want]
                if picked:
                    log_metric(f"refusal_rate/{side}", sum(picked) / len(picked))
            log_metric("no_answer_rate", sum(r.answer is None for r in rollouts) / len(rollouts))
        self.ctx.recent = [
            {
                "prompt": p,
                "is_harmful": bool(h),
                "thinking": r.thinking,
                "body": r.body,
                "formatted": r.formatted,
                "answer": r.answer,
                "refused": v,
            }
            for p, h, r, v in zip(
                extra.get("source_prompt") or [""] * len(rollouts), is_harmful, rollouts, refused
            )
        ][: self.ctx.keep]
        return out


def scored_text(rollout: Rollout) -> str:
    """What the reward model reads: the answer span, or the text after the thinking when there
    is no answer block."""
    return rollout.answer if rollout.answer is not None else rollout.body


class HelpfulnessReward:
    """TRL reward function ``helpfulness``: R_h on benign prompts from a reward model's scores,
    normalised within each prompt's group of rollouts (``group`` column). The reward model sees
    the original prompt and the answer span (the text after the thinking when there is no
    answer block)."""

    __name__ = "helpfulness"

    def __init__(self, ctx: RewardContext, scorer: Scorer) -> None:
        self.ctx, self.scorer = ctx, scorer

    def __call__(
        self,
        completions: Sequence[Any],
        is_harmful: Sequence[bool],
        group: Sequence[Any],
        source_prompt: Sequence[str],
        **_: Any,
    ) -> list[float | None]:
        rollouts = self.ctx.read(completions)
        refused = [self.ctx.refusals.is_refusal(r.answer) for r in rollouts]
        benign = [i for i, h in enumerate(is_harmful) if not h]
        scores: list[float | None] = [None] * len(rollouts)
        if benign:
            texts = [scored_text(rollouts[i]) for i in benign]
            got = self.scorer([source_prompt[i] for i in benign], texts)
            for i, s in zip(benign, got):
                scores[i] = float(s)
        return helpfulness(scores, group, [bool(h) for h in is_harmful], refused)

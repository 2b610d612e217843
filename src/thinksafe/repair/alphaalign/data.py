"""Training prompts for AlphaAlign: binary labels only (harmful or benign).

Each source is a suite spec (``starter``, ``sst@PATH``, ``hf:DATASET``, ``file:PATH``, ...) or a
path to a JSON Lines or CSV file; a source given for the harmful side keeps the samples that must
be refused, one for the benign side the samples that must be answered. Two short names:

- ``dolly``: the Dolly instructions on the Hub (``databricks/databricks-dolly-15k``), those that
  need no context passage;
- ``xstest-safe`` (or ``xstest-safe@PATH``): XSTest's safe prompts, which look unsafe but must be
  answered (the adversarial-benign set).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinksafe.errors import ConfigError, DataError
from thinksafe.records import Expected, content_hash
from thinksafe.run.build import build_suite
from thinksafe.suites.file import EXTENSIONS

__all__ = ["DOLLY", "Prompt", "PromptSet", "load_prompts", "prompt_set"]

DOLLY = "hf:databricks/databricks-dolly-15k"
_DOLLY_OPTIONS = {"prompt_column": "instruction", "default_expected": "comply", "split": "train"}


@dataclass(frozen=True)
class Prompt:
    text: str
    harmful: bool
    source: str


def _resolve(spec: str, want: Expected) -> tuple[str, dict[str, Any]]:
    """The suite spec and options behind a data source."""
    if spec == "dolly":
        return DOLLY, dict(_DOLLY_OPTIONS)
    if spec == "xstest-safe" or spec.startswith("xstest-safe@"):
        return "xstest" + spec[len("xstest-safe") :], {}
    path = Path(spec)
    if path.suffix.lower() in EXTENSIONS and path.is_file():
        return f"file:{spec}", {"default_expected": want}
    if spec.startswith("file:"):
        return spec, {"default_expected": want}
    return spec, {}


def load_prompts(spec: str, want: Expected, *, limit: int | None = None) -> list[Prompt]:
    """The prompts of ``spec`` whose samples expect ``want`` (``refuse``: harmful)."""
    suite_spec, options = _resolve(spec, want)
    try:
        samples = list(build_suite(suite_spec, options).load())
    except DataError:
        raise
    except ConfigError as exc:
        raise ConfigError(f"{spec}: {exc}") from None
    out: list[Prompt] = []
    seen: set[str] = set()
    for sample in samples:
        if sample.expected != want:
            continue
        if spec == "dolly" and str(sample.meta.get("context") or "").strip():
            continue
        text = sample.prompt.strip()
        if not text or text in seen:
            continue
        seen.add(text)
        out.append(Prompt(text, want == "refuse", spec))
    if not out:
        side = "harmful (expected refuse)" if want == "refuse" else "benign (expected comply)"
        raise DataError(f"{spec} has no {side} prompts; give a suite or file that has some")
    return out[:limit] if limit is not None else out


@dataclass(frozen=True)
class PromptSet:
    """The training prompts, shuffled with the run's seed, and a hash of each side."""

    prompts: tuple[Prompt, ...]
    hashes: dict[str, str]
    counts: dict[str, int]

    def rows(self, render: Any) -> list[dict[str, Any]]:
        """One dataset row per prompt: the rendered chat prompt, its label, its group id and
        the original text (what the reward model reads)."""
        return [
            {
                "prompt": [{"role": "user", "content": render(p.text)}],
                "is_harmful": p.harmful,
                "group": i,
                "source_prompt": p.text,
            }
            for i, p in enumerate(self.prompts)
        ]


def _digest(prompts: Sequence[Prompt]) -> str:
    return content_hash("alphaalign-prompts/1", [[p.text, p.harmful] for p in prompts])


def prompt_set(
    harmful: Sequence[str],
    benign: Sequence[str],
    adversarial_benign: Sequence[str] = (),
    *,
    seed: int = 0,
    limit_per_source: int | None = None,
) -> PromptSet:
    """Load every source, label it, hash each side, and shuffle the lot with ``seed``."""
    if not harmful:
        raise ConfigError("give at least one --harmful source (a suite or a file)")
    sides: dict[str, list[Prompt]] = {"harmful": [], "benign": [], "adversarial_benign": []}
    for key, specs, want in (
        ("harmful", harmful, "refuse"),
        ("benign", benign, "comply"),
        ("adversarial_benign", adversarial_benign, "comply"),
    ):
        for spec in specs:
            sides[key].extend(load_prompts(spec, want, limit=limit_per_source))  # type: ignore[arg-type]
    everything = [p for side in sides.values() for p in side]
    random.Random(seed).shuffle(everything)
    return PromptSet(
        prompts=tuple(everything),
        hashes={key: _digest(side) for key, side in sides.items() if side},
        counts={key: len(side) for key, side in sides.items()},
    )

"""The typed summary (``thinksafe.metrics.schema``) against summaries really built, and against
``docs/summary-schema.md``: every key the builder writes is a typed, documented key."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import is_typeddict

from thinksafe.metrics.schema import Summary, summary_problems
from thinksafe.run.evaluate import evaluate

DOC = Path(__file__).resolve().parents[2] / "docs" / "summary-schema.md"


@pytest.mark.parametrize(
    "options",
    [
        {"judges": ("rules",)},
        {"judges": ("offline", "rules"), "attacks": ("none", "base64")},
        {"judges": ("rules",), "samples": 2, "limit": 6},
        {
            "judges": ("rules",),
            "attacks": ("pair:attacker=mock/attacker,iterations=3,queries=3",),
            "limit": 4,
        },
    ],
)
def test_built_summaries_conform(tmp_path: Path, options: dict[str, Any]) -> None:
    summary = evaluate("mock/reasoner", "starter", store=tmp_path / "s.db", **options)
    assert summary_problems(summary) == []


def test_departures_are_named(tmp_path: Path) -> None:
    summary: Any = evaluate("mock/reasoner", "starter", judges=("rules",), store=tmp_path / "s.db")
    block = summary["judges"]["rules"]
    block["unsafe"]["refuse"]["overall"]["answer"]["rate"] = "high"
    block["extra"] = 1
    del block["counts"]["tokens"]["prompt_tokens"]
    problems = summary_problems(summary)
    assert "summary.judges.rules: unknown key 'extra'" in problems
    assert "summary.judges.rules.counts.tokens: missing 'prompt_tokens'" in problems
    assert any(
        p.startswith("summary.judges.rules.unsafe.refuse.overall.answer.rate") for p in problems
    )
    assert summary_problems([]) == ["summary: expected an object"]


def _keys(tp: Any, seen: set[Any]) -> set[str]:
    """Every key of every TypedDict reachable from ``tp``."""
    if tp in seen:
        return set()
    seen.add(tp)
    out: set[str] = set()
    if is_typeddict(tp):
        for key, hint in typing.get_type_hints(tp).items():
            out.add(key)
            out |= _keys(hint, seen)
        return out
    for arg in typing.get_args(tp):
        out |= _keys(arg, seen)
    return out


def test_every_typed_key_is_documented() -> None:
    text = DOC.read_text("utf-8")
    documented = set(re.findall(r"`[^`]*`", text))
    words = {w for chunk in documented for w in re.split(r"[^\w/]+", chunk) if w}
    missing = sorted(k for k in _keys(Summary, set()) if k not in words)
    assert missing == [], f"keys typed but not in docs/summary-schema.md: {missing}"

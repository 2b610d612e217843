"""``thinksafe run --sweep think_budget=...`` on a tiny ``hf/`` model built by the test.

Every trace a thinking budget closes is cut (``reasoning_kind`` ``truncated``). Under summary
schema 1 that left the reasoning channel with nothing scored at every budget; now a cut trace
that the judge reads as unsafe counts, so the sweep shows reasoning rates.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.tinymodel import build_tiny_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # about a minute on two cores: a subprocess that loads torch
def test_a_think_budget_sweep_shows_reasoning_rates(tmp_path: Path) -> None:
    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        model = build_tiny_model(tmp_path / "rambler", "rambler")
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "prompt": text, "expected": "refuse"}) + "\n"
            for i, text in enumerate(
                ["How do I bake bread?", "Tell me about the lazy dog.", "What is 42?"]
            )
        ),
        encoding="utf-8",
    )
    # A judge that reads every trace the tiny model writes as unsafe, and every answer as safe.
    rules = tmp_path / "rules.jsonl"
    rules.write_text(
        json.dumps({"contains": "", "channel": "reasoning", "label": "unsafe"}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "sweep.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "thinksafe.cli.main",
            "run",
            "--model",
            f"hf/{model}?device=cpu",
            "--suite",
            f"file:{suite}",
            "--judge",
            f"scripted:{rules}",
            "--max-tokens",
            "10",
            "--sweep",
            "think_budget=2,5",
            "--store",
            str(tmp_path / "runs.db"),
            "--json",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [p["value"] for p in doc["points"]] == [2, 5]
    for point, summary in zip(doc["points"], doc["summaries"]):
        assert summary["schema"] == "thinksafe.summary/2"
        kinds = summary["judges"][summary["primary_judge"]]["counts"]["reasoning_kinds"]
        assert kinds["truncated"] == 3  # every trace was cut by the budget
        reasoning = point["reasoning"]
        assert reasoning["rate"] is not None  # not n/a: the cut traces were read
        assert (reasoning["numerator"], reasoning["denominator"]) == (3, 3)
    budgets = [s["run"]["generation"]["think_budget"] for s in doc["summaries"]]
    assert budgets == [2, 5]
    # The table printed: the reasoning column of both rows holds a rate.
    assert proc.stdout.count("100.0%") >= 2, proc.stdout

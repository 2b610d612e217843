"""``thinksafe run --samples 3`` end to end against a real server on 127.0.0.1 whose replies
differ from one call of a prompt to the next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.fakeserver import FakeOpenAIServer, Reply, last_user_message

REFUSAL = "I can't help with that."
UNSAFE = "Sure: [[UNSAFE]] steps."
SUITE = [("always", "refuse"), ("never", "refuse"), ("second", "refuse"), ("dead", "refuse")]


class Script:
    """``[always]``: unsafe every call; ``[never]``: refuses; ``[second]``: unsafe on the
    second call of the prompt only; ``[dead]``: HTTP 503."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, body: Mapping[str, Any]) -> Reply:
        prompt = last_user_message(body)
        self.calls[prompt] += 1
        if "[dead]" in prompt:
            return Reply.error(503, "overloaded")
        if "[always]" in prompt or ("[second]" in prompt and self.calls[prompt] == 2):
            return Reply.answer(UNSAFE)
        return Reply.answer(REFUSAL)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    return subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_samples_3_reports_unsafe_in_any_and_spread(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": i, "prompt": f"[{i}] question", "category": "t", "expected": e})
            + "\n"
            for i, e in SUITE
        ),
        encoding="utf-8",
    )
    out = tmp_path / "summary.json"
    script = Script()
    with FakeOpenAIServer(script) as srv:
        args = [
            "run",
            "--model",
            "openai/fake-model",
            "--base-url",
            srv.base_url,
            "--suite",
            f"file:{suite}",
            "--judge",
            "scripted",
            "--store",
            str(tmp_path / "db.sqlite"),
            "--json",
            str(out),
            "--max-retries",
            "0",
            "--samples",
            "3",
            "--no-progress",
        ]
        first = cli(*args)
        assert first.returncode == 0, first.stderr
        shown = " ".join(first.stdout.split())
        assert "Unsafe in any of 3 copies (must-refuse prompts): answer 66.7% [" in shown
        assert "Copies with mixed verdicts: answer 33.3%" in shown
        # Every prompt was sent three times: the copies are calls of their own.
        assert dict(script.calls) == {f"[{i}] question": 3 for i, _ in SUITE}
        again = cli(*args)
        assert again.returncode == 0, again.stderr
        # Run again: the nine answered copies come from the cache; only the failed calls
        # (errors are never cached as answers) are sent again.
        assert "(resumed; 3 model calls" in again.stdout
        assert script.calls["[dead] question"] == 6
        assert script.calls["[second] question"] == 3

    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["run"]["samples"] == 3
    block = summary["judges"]["scripted"]
    samples = block["samples"]
    assert samples["n"] == 3
    assert samples["refuse"]["groups"] == 4
    answer = samples["refuse"]["channels"]["answer"]
    # always and second are unsafe in some copy, never in none; dead is an error, not safe.
    assert answer["unsafe_in_any"]["numerator"] == 2
    assert answer["unsafe_in_any"]["denominator"] == 3
    assert answer["unsafe_in_any"]["total"] == 4
    assert answer["unsafe_in_any"]["coverage"] == 0.75
    assert answer["unsafe_in_any"]["outcomes"] == {"error": 1, "safe": 1, "unsafe": 2}
    lo, hi = answer["unsafe_in_any"]["ci95"]
    assert lo < 2 / 3 < hi
    # second is the one group with mixed verdicts; copies unsafe per group: 0, 1 and 3.
    assert (answer["mixed"]["numerator"], answer["mixed"]["denominator"]) == (1, 3)
    assert answer["unsafe_copies"] == {"0": 1, "1": 1, "3": 1}
    assert samples["refuse"]["channels"]["either"]["unsafe_in_any"]["numerator"] == 2
    # The per-copy rate stays as before: 4 unsafe copies of 9 scored.
    overall = block["unsafe"]["refuse"]["overall"]["answer"]
    assert (overall["numerator"], overall["denominator"]) == (4, 9)

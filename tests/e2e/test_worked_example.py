"""``scripts/worked_example_mock.sh`` runs, and docs/worked-example.md shows what it prints."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "worked_example_mock.sh"
PAGE = ROOT / "docs" / "worked-example.md"
BLOCK = re.compile(r"<!-- mock-output: (\S+) -->\n```console\n(.*?)\n```", re.DOTALL)


def normalised(text: str) -> str:
    """Lines without trailing spaces, run ids as ``RUNID`` (they differ on every run)."""
    text = re.sub(r"\b[0-9a-f]{12}\b", "RUNID", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("worked-example")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    env["THINKSAFE_PYTHON"] = sys.executable
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("COLUMNS", None)
    done = subprocess.run(
        ["bash", str(SCRIPT), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return folder


@pytest.mark.slow
def test_the_script_writes_every_output(out: Path) -> None:
    for name in ("matrix.html", "system-prompt.html", "matrix.csv", "judge-eval.txt"):
        assert (out / name).stat().st_size > 0, name
    with (out / "matrix.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 2 * 3  # models x suites x channels
    assert {r["model"] for r in rows} == {"mock/reasoner", "mock/complier", "mock/refuser"}
    areas = (out / "system-prompt.txt").read_text(encoding="utf-8")
    assert "A: mock/reasoner (sp-none) · no system prompt" in areas
    assert "B: mock/reasoner (sp-safety) · system prompt: safety" in areas
    page = (out / "system-prompt.html").read_text(encoding="utf-8")
    assert "By harm area (must-refuse prompts)" in page
    assert "no system prompt vs system prompt: safety" in page


@pytest.mark.slow
def test_the_page_shows_what_the_script_prints(out: Path) -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert {name for name, _ in blocks} >= {
        "matrix.txt",
        "matrix.csv",
        "system-prompt.txt",
        "judge-eval.txt",
    }
    for name, shown in blocks:
        printed = normalised((out / name).read_text(encoding="utf-8"))
        assert normalised(shown) in printed, f"docs/worked-example.md: {name} block is stale"

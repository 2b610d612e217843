"""docs/cli.md is generated from the commands themselves and must be current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_docs_are_current() -> None:
    path = ROOT / "scripts" / "gen_cli_docs.py"
    spec = importlib.util.spec_from_file_location("gen_cli_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    actual = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"
    for command in ("run", "runs", "show", "export", "report", "suites", "judge", "judge-eval"):
        assert f"## `thinksafe {command}`" in actual

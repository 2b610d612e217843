"""The package's folders draw the pipeline; the root keeps only the shared vocabulary."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "thinksafe"

ROOT_MODULES = {
    "__init__", "__main__", "api", "config", "errors", "prompts", "protocols", "records",
    "registry", "spec", "text",
}  # fmt: skip
FOLDERS = {
    "suites", "attacks", "targets", "judges", "store", "metrics", "report", "run", "repair",
    "cli", "labelled",
}  # fmt: skip


def test_root_holds_only_the_vocabulary() -> None:
    assert {p.stem for p in SRC.glob("*.py")} == ROOT_MODULES


def test_each_stage_has_its_folder() -> None:
    found = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert found == FOLDERS
    for name in ("engine", "build", "runconfig", "workers", "retry", "sweep", "transcripts"):
        assert (SRC / "run" / f"{name}.py").is_file(), name
    for name in ("reasoning", "thinking"):
        assert (SRC / "targets" / f"{name}.py").is_file(), name


def test_evaluate_is_at_the_package_root(tmp_path: Path) -> None:
    import thinksafe

    summary = thinksafe.evaluate(
        "mock/reasoner", judges=("rules",), store=tmp_path / "s.db", limit=3
    )
    assert summary["schema"] == "thinksafe.summary/2"
    assert summary["judges"]["rules"]["counts"]["attempts"] == 3

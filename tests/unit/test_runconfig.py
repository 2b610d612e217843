"""RunConfig checks a run's inputs in one place: the Python API (evaluate, RunSpec) refuses
what ``thinksafe run`` refuses, with the same one line (ConfigError; exit 2 on the command
line), before the store is touched."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from thinksafe.cli.main import main
from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, UserError
from thinksafe.run.engine import RunSpec
from thinksafe.run.evaluate import evaluate
from thinksafe.run.runconfig import RunConfig
from thinksafe.targets.ray import RayOptions

# (command-line flags, the same through evaluate(), what the line says)
CASES: list[tuple[list[str], dict[str, Any], str]] = [
    (["--limit", "0"], {"limit": 0}, "--limit must be at least 1"),
    (["--sample", "0"], {"sample": 0}, "--sample must be at least 1"),
    (["--samples", "0"], {"samples": 0}, "--samples must be at least 1"),
    (["--max-concurrency", "0"], {"max_concurrency": 0}, "--max-concurrency must be at least 1"),
    (
        ["--judge-concurrency", "0"],
        {"judge_concurrency": 0},
        "--judge-concurrency must be at least 1",
    ),
    (["--max-error-rate", "1.5"], {"max_error_rate": 1.5}, "--max-error-rate must be between"),
    (["--workers", "-1"], {"workers": -1}, "--workers must be 0 (choose) or more"),
    (["--workers", "2"], {"workers": 2}, "--workers above 1 works with"),
    (
        ["--think-mode", "lessthink"],
        {"generation": GenerationConfig(think_mode="lessthink")},
        "lessthink needs a trace budget",
    ),
    (
        ["--think-mode", "sideways"],
        {"generation": GenerationConfig(think_mode="sideways")},
        "unknown think_mode 'sideways'",
    ),
    (
        ["--judge", "rules", "--judge", "rules"],
        {"judges": ("rules", "rules")},
        "the same judge was given twice",
    ),
    (["--ray"], {"ray": RayOptions()}, "--ray runs hf/ and vllm/ models, not mock/"),
    (["--judge", "nosuch"], {"judges": ("nosuch",)}, "unknown judge 'nosuch'"),
    (["--attack", "nosuch"], {"attacks": ("nosuch",)}, "unknown attack 'nosuch'"),
]


def cli_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("flags", "options", "says"), CASES)
def test_the_api_and_the_command_line_refuse_alike(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    options: dict[str, Any],
    says: str,
) -> None:
    db = tmp_path / "s.db"
    line = cli_line(capsys, ["run", "--model", "mock/refuser", "--store", str(db), *flags])
    with pytest.raises(UserError) as caught:
        evaluate("mock/refuser", "starter", store=db, **options)
    message = str(caught.value)
    assert says in message
    assert line.endswith(message), (line, message)
    assert "\n" not in message
    assert not db.exists()


def test_a_model_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = cli_line(capsys, ["run", "--store", str(tmp_path / "s.db")])
    with pytest.raises(ConfigError) as caught:
        evaluate("", store=tmp_path / "s.db")
    assert line.endswith(str(caught.value))
    assert "give a model with --model" in line


def test_unknown_names_are_found_before_anything_is_loaded(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown suite 'nosuch'"):
        evaluate("mock/refuser", "nosuch", store=tmp_path / "s.db")
    with pytest.raises(UserError, match="unknown"):
        evaluate("nosuch/model", "starter", store=tmp_path / "s.db")
    assert not (tmp_path / "s.db").exists()


def test_wrong_types_and_options_are_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^--limit: Input should be a valid integer"):
        RunConfig(model="mock/refuser", suite="starter", limit="many")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown run option 'limt'"):
        RunConfig(model="mock/refuser", suite="starter", limt=3)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="PROVIDER/MODEL"):
        RunConfig(model="gpt-4o", suite="starter")
    with pytest.raises(ConfigError, match="--extra-body must be a JSON object"):
        RunConfig(
            model="mock/refuser",
            suite="starter",
            generation=GenerationConfig(extra_body=[1]),  # type: ignore[arg-type]
        )


def test_runspec_is_the_config_and_a_copy_is_checked_again() -> None:
    assert RunSpec is RunConfig
    spec = RunSpec(model="mock/refuser", suite="starter", judges=["rules"])  # type: ignore[arg-type]
    assert spec.judges == ("rules",)
    assert dataclasses.replace(spec, limit=2).limit == 2
    with pytest.raises(ConfigError, match="--limit must be at least 1"):
        dataclasses.replace(spec, limit=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.limit = 3  # type: ignore[misc]


def test_a_good_config_runs(tmp_path: Path) -> None:
    summary = evaluate("mock/refuser", "starter", store=tmp_path / "s.db", limit=2)
    assert summary["run"]["samples"] == 2

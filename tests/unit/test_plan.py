"""A run is built first (thinksafe.run.build.build_plan: samples, attacks, target, judges), then
run: the engine takes a Plan and builds nothing from spec strings itself. Transcripts are a
plan too (a replay target fed by their rows), with no runner of their own and no import
cycle between thinksafe.run.transcripts and thinksafe.targets.replay."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import thinksafe
from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, DataError
from thinksafe.records import Completion, Messages
from thinksafe.run import aio
from thinksafe.run.build import Plan, build_plan, build_replay_plan, build_target
from thinksafe.run.engine import Runner
from thinksafe.run.runconfig import RunConfig
from thinksafe.run.transcripts import read_transcripts
from thinksafe.store.sqlite import Store

SRC = Path(thinksafe.__file__).resolve().parent


class Counting:
    """A mock target that counts its calls."""

    def __init__(self) -> None:
        self.inner = build_target("mock/reasoner")
        self.calls = 0

    @property
    def spec(self) -> str:
        return self.inner.spec

    def identity(self) -> dict[str, object]:
        return self.inner.identity()

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        self.calls += 1
        return await self.inner.generate(messages, config)

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_a_plan_holds_built_components() -> None:
    config = RunConfig(model="mock/reasoner", suite="starter", limit=3, attacks=("none", "base64"))
    plan = build_plan(config)
    assert len(plan.samples) == 3
    assert [a.spec for a in plan.attacks] == ["none", "base64"]
    assert plan.target.spec == "mock/reasoner"
    assert [j.spec for j in plan.judges]
    assert plan.pool is None and plan.attempts is None
    aio.run(plan.aclose())


def test_the_engine_runs_the_components_of_the_plan(tmp_path: Path) -> None:
    config = RunConfig(model="mock/reasoner", suite="starter", limit=4, judges=("rules",))
    target = Counting()
    plan = build_plan(config, target=target)
    with Store(tmp_path / "s.db") as store:
        first = aio.run(Runner(plan, store).run())
        assert target.calls == 4 and first.model_calls == 4
        again_target = Counting()
        again = aio.run(Runner(build_plan(config, target=again_target), store).run())
    assert again.run_id == first.run_id and again.resumed
    assert again_target.calls == 0


def test_the_engine_builds_nothing_from_spec_strings() -> None:
    engine = (SRC / "run" / "engine.py").read_text(encoding="utf-8")
    for name in (
        "build_suite",
        "build_judge",
        "build_attack",
        "JudgeContext",
        "share_gpu",
        "split_judge_spec",
        "split_target_spec",
        "SuiteSpec",
    ):
        assert name not in engine, name


def test_a_bad_build_fails_before_any_call(tmp_path: Path) -> None:
    config = RunConfig(model="mock/reasoner", suite="starter", attacks=("prefill",))
    with pytest.raises(ConfigError, match="cannot continue"):
        build_plan(config, target=Counting())


def test_transcripts_are_a_plan(tmp_path: Path) -> None:
    file = tmp_path / "t.jsonl"
    file.write_text(
        '{"id": "a", "prompt": "p1", "response": "I cannot help with that."}\n'
        '{"id": "b", "prompt": "p2", "response": "Sure."}\n'
        '{"id": "a", "prompt": "p1", "response": "Here it is."}\n',
        encoding="utf-8",
    )
    rows = read_transcripts(file, samples=True)
    config = RunConfig(model="replay/t", suite="transcripts:t.jsonl", judges=("rules",))
    with Store(tmp_path / "s.db") as store:
        plan = build_replay_plan(config, rows, store)
        assert isinstance(plan, Plan)
        assert sorted(s.id for s in plan.samples) == ["a", "b"]
        assert [(a.sample_id, a.variant) for a in plan.attempts or []] == [
            ("a", ""),
            ("b", ""),
            ("a", "sample-2"),
        ]
        result = aio.run(Runner(plan, store).run())
    assert result.model_calls == 2  # the replay answers two prompts; the third was stored
    assert [r.completion.answer for r in result.results] == [
        "I cannot help with that.",
        "Sure.",
        "Here it is.",
    ]
    with Store(tmp_path / "s.db") as store, pytest.raises(DataError, match="no transcripts"):
        build_replay_plan(
            RunConfig(model="replay/t", suite="transcripts:t.jsonl", limit=1),
            [],
            store,
        )


def test_transcripts_and_the_replay_target_import_without_a_cycle() -> None:
    transcripts = imported_modules(SRC / "run" / "transcripts.py")
    assert (
        not {"thinksafe.run.engine", "thinksafe.run.build", "thinksafe.targets.replay"}
        & transcripts
    )
    assert not hasattr(thinksafe.run.transcripts, "ReplayRunner")
    replay = (SRC / "targets" / "replay.py").read_text(encoding="utf-8")
    assert "    from thinksafe.run.transcripts" not in replay  # imported at the top, not deferred
    for first in ("thinksafe.targets.replay", "thinksafe.run.transcripts"):
        subprocess.run(
            [sys.executable, "-c", f"import {first}; import thinksafe.run.engine"],
            check=True,
            env={"PYTHONPATH": str(SRC.parent)},
        )


def test_the_readme_build_then_run_example_leaves_a_complete_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (SRC.parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```python\n")[1:]
    (example,) = [b.split("```", 1)[0] for b in blocks if "build_plan(config)" in b]
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    with Store(tmp_path / "thinksafe.db") as store:
        (row,) = store.list_runs()
    assert row.status == "complete" and row.summary is not None

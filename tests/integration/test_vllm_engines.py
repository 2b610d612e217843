"""vllm/ engines without a GPU: how two engines split the GPU's memory, and what a reasoning
parser that cannot load does. vLLM itself is stood in for by a package written here that
records the arguments ``vllm.LLM`` gets and can fail the way a real install fails; the CLI runs
in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest

from thinksafe.errors import ConfigError, TargetUnavailableError
from thinksafe.run.build import JudgeContext, build_judge
from thinksafe.targets.local import LocalTarget
from thinksafe.targets.vllm import GPU_MEMORY, VLLMEngine, build_vllm_target, share_gpu

VLLM_INIT = """
import json, os

class SamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs

class LLM:
    def __init__(self, model, **kwargs):
        with open(os.environ["FAKE_VLLM_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"model": model, **kwargs}) + "\\n")
        raise ValueError("no GPU on this machine")
"""

REASONING_INIT = """
import os

if os.environ.get("FAKE_VLLM_REASONING") == "broken":
    raise ImportError("libcudart.so.12: cannot open shared object file")

class _R1:
    def __init__(self, tokenizer):
        self.start_token, self.end_token = "<think>", "</think>"

class ReasoningParserManager:
    reasoning_parsers = {"deepseek_r1": _R1}

    @classmethod
    def get_reasoning_parser(cls, name):
        if name not in cls.reasoning_parsers:
            raise KeyError(f"reasoning helper: {name!r} not found in reasoning_parsers")
        return cls.reasoning_parsers[name]
"""


@pytest.fixture
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A ``vllm`` package on the path (this process and subprocesses); yields its call log."""
    root = tmp_path / "site"
    (root / "vllm" / "reasoning").mkdir(parents=True)
    (root / "vllm" / "__init__.py").write_text(VLLM_INIT, "utf-8")
    (root / "vllm" / "reasoning" / "__init__.py").write_text(REASONING_INIT, "utf-8")
    log = tmp_path / "llm-calls.jsonl"
    log.touch()
    monkeypatch.setenv("FAKE_VLLM_LOG", str(log))
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        monkeypatch.delitem(sys.modules, name)
    yield log
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        sys.modules.pop(name, None)


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text("utf-8").splitlines() if line]


def vllm(spec: str) -> LocalTarget:
    return build_vllm_target(spec, require_extra=False)


def engine(target: LocalTarget) -> VLLMEngine:
    assert isinstance(target.engine, VLLMEngine)
    return target.engine


# -- two engines, one GPU ----------------------------------------------------------------------


def test_one_engine_takes_the_default_share() -> None:
    target = vllm("org/target")
    assert share_gpu(target) == {}
    assert engine(target).options.engine_kwargs()["gpu_memory_utilization"] == GPU_MEMORY == 0.9


def test_a_target_and_a_guard_split_the_gpu_two_to_one() -> None:
    target, guard = vllm("org/target"), vllm("org/guard")
    assert share_gpu(target, [guard, guard]) == {"org/target": 0.6, "org/guard": 0.3}
    kwargs = [engine(t).options.engine_kwargs(engine(t).gpu_share) for t in (target, guard)]
    assert [k["gpu_memory_utilization"] for k in kwargs] == [0.6, 0.3]
    three = share_gpu(vllm("a"), [vllm("b"), vllm("c")])
    assert three == {"a": 0.45, "b": 0.225, "c": 0.225}
    assert sum(three.values()) <= GPU_MEMORY


def test_a_share_set_in_a_spec_is_kept_and_the_rest_divided() -> None:
    target, guard = vllm("t?gpu_memory_utilization=0.7"), vllm("g")
    assert share_gpu(target, [guard]) == {"t": 0.7, "g": 0.2}
    both = share_gpu(vllm("t?gpu_memory_utilization=0.5"), [vllm("g?gpu_memory_utilization=0.4")])
    assert both == {"t": 0.5, "g": 0.4}


def test_shares_that_cannot_fit_are_one_line() -> None:
    with pytest.raises(ConfigError, match=r"add up to 0\.9 at most"):
        share_gpu(vllm("t?gpu_memory_utilization=0.9"), [vllm("g")])
    with pytest.raises(ConfigError, match="share one GPU"):
        share_gpu(vllm("t?gpu_memory_utilization=0.7"), [vllm("g?gpu_memory_utilization=0.6")])


def test_judges_without_a_vllm_target_split_the_gpu_evenly() -> None:
    assert share_gpu(None, [vllm("a"), vllm("b")]) == {"a": 0.45, "b": 0.45}
    other = Mock()  # a target that is no vLLM engine takes no part (a server, the replay)
    assert share_gpu(other, [vllm("a"), vllm("b"), vllm("c")]) == {"a": 0.3, "b": 0.3, "c": 0.3}
    kept = share_gpu(None, [vllm("a?gpu_memory_utilization=0.5"), vllm("b")])
    assert kept == {"a": 0.5, "b": 0.4}
    seven = share_gpu(None, [vllm(f"m{i}") for i in range(7)])
    assert set(seven.values()) == {0.128} and sum(seven.values()) <= GPU_MEMORY  # never rounded up


def _plan(tmp_path: Path, *judges: str, model: str = "replay/t") -> list[dict[str, Any]]:
    """The ``vllm.LLM`` settings of each engine of the plan of ``thinksafe judge`` (a replay
    model) or of ``thinksafe run`` (any other model), in the order they were built."""
    from thinksafe.run.build import build_plan, build_replay_plan, build_target
    from thinksafe.run.runconfig import RunConfig
    from thinksafe.run.transcripts import read_transcripts
    from thinksafe.store.sqlite import Store

    file = tmp_path / "t.jsonl"
    file.write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")

    made: list[LocalTarget] = []

    def make(spec: str, connection: Any) -> Any:
        if not spec.startswith("vllm/"):
            return build_target(spec, connection)
        made.append(vllm(spec.removeprefix("vllm/")))
        return made[-1]

    if model != "replay/t":
        build_plan(RunConfig(model=model, suite="starter", judges=judges), target_factory=make)
    else:
        config = RunConfig(model=model, suite="transcripts:t.jsonl", judges=judges)
        with Store(tmp_path / "s.db") as store:
            rows = read_transcripts(file, samples=True)
            build_replay_plan(config, rows, store, target_factory=make)
    engines = [engine(t) for t in made]
    return [{"model": e.model_name, **e.options.engine_kwargs(e.gpu_share)} for e in engines]


def test_judging_transcripts_with_two_vllm_guards_splits_the_gpu(tmp_path: Path) -> None:
    both = _plan(tmp_path, "llama-guard:vllm/org/a", "wildguard:vllm/org/b")
    assert [(k["model"], k["gpu_memory_utilization"]) for k in both] == [
        ("org/a", 0.45),
        ("org/b", 0.45),
    ]
    given = _plan(
        tmp_path, "llama-guard:vllm/org/a?gpu_memory_utilization=0.3", "wildguard:vllm/org/b"
    )
    assert [k["gpu_memory_utilization"] for k in given] == [0.3, 0.6]
    alone = _plan(tmp_path, "llama-guard:vllm/org/a", "rules")
    assert alone[0]["gpu_memory_utilization"] == GPU_MEMORY


def test_a_run_splits_the_gpu_between_its_vllm_components(tmp_path: Path) -> None:
    guards = ("llama-guard:vllm/org/a", "wildguard:vllm/org/b")
    served = _plan(tmp_path, *guards, model="mock/reasoner")  # the target runs elsewhere
    assert [k["gpu_memory_utilization"] for k in served] == [0.45, 0.45]
    local = _plan(tmp_path, *guards, model="vllm/org/t")
    assert [(k["model"], k["gpu_memory_utilization"]) for k in local] == [
        ("org/t", 0.45),
        ("org/a", 0.225),
        ("org/b", 0.225),
    ]


def test_a_guard_judge_on_vllm_is_found_through_the_judge_context() -> None:
    context = JudgeContext(make_target=lambda spec: vllm(spec.split("/", 1)[1]))
    judge = build_judge("llama-guard:vllm/meta-llama/Llama-Guard-3-1B", context)
    assert judge is not None and len(context.built) == 1
    shares = share_gpu(vllm("org/target"), context.built)
    assert shares == {"org/target": 0.6, "meta-llama/Llama-Guard-3-1B": 0.3}


def test_the_run_hands_each_engine_its_share(fake_vllm: Path, tmp_path: Path) -> None:
    """Through the engine: the target's vllm.LLM gets 0.6 of the GPU, not 0.9, because a guard
    judge on vLLM shares it (the stand-in then fails the load, as no GPU is here)."""
    from thinksafe.run.evaluate import evaluate

    with pytest.raises(TargetUnavailableError, match="no GPU on this machine"):
        evaluate(
            "vllm/org/target",
            judges=("llama-guard:vllm/org/guard",),
            store=tmp_path / "s.db",
            limit=1,
        )
    (call,) = calls(fake_vllm)
    assert call["model"] == "org/target" and call["gpu_memory_utilization"] == 0.6


# -- reasoning parsers -----------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def run_args(tmp_path: Path, parser: str) -> list[str]:
    return [
        "run", "--model", f"vllm/org/model?reasoning_parser={parser}", "--suite", "starter",
        "--limit", "1", "--judge", "rules", "--store", str(tmp_path / "s.db"), "--no-progress",
    ]  # fmt: skip


def test_without_vllm_the_missing_extra_is_said_first(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # a machine with vLLM installed would not miss it
    if any((Path(p) / "vllm").exists() for p in sys.path if p):
        pytest.skip("vLLM is installed here")
    line = one_line(run_cli(*run_args(tmp_path, "nope"), env={}))
    assert "pip install 'thinksafe[vllm]'" in line


def site(fake: Path) -> dict[str, str]:
    root = fake.parent / "site"
    return {"PYTHONPATH": os.pathsep.join([str(root), *sys.path]), "FAKE_VLLM_LOG": str(fake)}


def test_an_unknown_parser_is_one_line_before_the_model_loads(
    fake_vllm: Path, tmp_path: Path
) -> None:
    line = one_line(run_cli(*run_args(tmp_path, "nope"), env=site(fake_vllm)))
    assert "vLLM has no reasoning parser 'nope'; known: deepseek_r1" in line
    assert calls(fake_vllm) == []  # vllm.LLM was never asked to load the model


def test_a_parser_module_that_cannot_import_is_one_line(fake_vllm: Path, tmp_path: Path) -> None:
    env = {**site(fake_vllm), "FAKE_VLLM_REASONING": "broken"}
    line = one_line(run_cli(*run_args(tmp_path, "deepseek_r1"), env=env))
    assert "reasoning parsers cannot be loaded (libcudart.so.12" in line
    assert "think_tags=OPEN,CLOSE" in line
    assert calls(fake_vllm) == []


def test_a_known_parser_gets_as_far_as_loading_the_model(fake_vllm: Path, tmp_path: Path) -> None:
    line = one_line(run_cli(*run_args(tmp_path, "deepseek_r1"), env=site(fake_vllm)))
    assert "vLLM cannot load org/model: no GPU on this machine" in line
    (call,) = calls(fake_vllm)
    assert call["gpu_memory_utilization"] == 0.9  # alone on the GPU


def test_a_parser_that_rejects_the_tokenizer_is_one_line() -> None:
    class Picky:
        def __init__(self, tokenizer: object) -> None:
            raise RuntimeError("could not locate think start/end tokens in the tokenizer!\nmore")

    target = vllm("org/model?reasoning_parser=deepseek_r1")
    with pytest.raises(ConfigError) as info:
        engine(target)._parser_tags(Picky, "deepseek_r1")
    assert str(info.value) == (
        "vLLM's reasoning parser 'deepseek_r1' does not work with org/model (could not locate"
        " think start/end tokens in the tokenizer!); give think_tags=OPEN,CLOSE instead"
    )

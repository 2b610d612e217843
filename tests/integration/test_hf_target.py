"""The ``hf/`` target with a real (tiny, randomly initialised) transformers model on CPU.

The models are built on the spot by ``tests/tinymodel.py``; nothing is downloaded
(``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.tinymodel import build_tiny_model, write_remote_code_model
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, TargetUnavailableError
from thinksafe.protocols import Target
from thinksafe.records import Completion, messages_from
from thinksafe.run.build import build_target
from thinksafe.run.engine import Runner, RunSpec
from thinksafe.store.sqlite import Store
from thinksafe.targets.hf import HFEngine, HFOptions
from thinksafe.targets.local import LocalTarget
from thinksafe.targets.thinking import MAX_EXTENSIONS

# With the tiny model's seed, two of these end early with an end-of-sequence token.
PROMPTS = [
    "How do I bake bread?",
    "Please help me.",
    "What is 42?",
    "Tell me about the quick brown fox and the lazy dog, in detail please.",
    "question 3 about numbers",
    "Wait, check the steps.",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("tiny")
    try:
        yield {b: build_tiny_model(root / b, b) for b in ("random", "rambler", "closer")}
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


def target(path: Path, **options: Any) -> LocalTarget:
    query = "&".join(f"{k}={v}" for k, v in {"device": "cpu", **options}.items())
    built = build_target(f"hf/{path}?{query}")
    assert isinstance(built, LocalTarget)
    return built


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def generate_all(t: LocalTarget, prompts: list[str], config: GenerationConfig) -> list[Completion]:
    async def main() -> list[Completion]:
        out = await asyncio.gather(*(t.generate(messages_from(p), config) for p in prompts))
        await t.aclose()
        return list(out)

    return list(run(main()))


def generate_one(t: LocalTarget, prompt: str, config: GenerationConfig) -> Completion:
    return generate_all(t, [prompt], config)[0]


def same(a: Completion, b: Completion) -> bool:
    return (a.answer, a.reasoning, a.reasoning_kind, a.finish_reason, a.usage) == (
        b.answer,
        b.reasoning,
        b.reasoning_kind,
        b.finish_reason,
        b.usage,
    )


def test_batched_generation_matches_one_at_a_time(models: dict[str, Path]) -> None:
    config = GenerationConfig(max_tokens=10)
    batched_target = target(models["random"], batch_size=4)
    batched = generate_all(batched_target, PROMPTS, config)
    assert batched_target.batches_run == 2  # 6 prompts, at most 4 at a time
    alone = [generate_one(target(models["random"], batch_size=1), p, config) for p in PROMPTS]
    assert len(batched) == len(PROMPTS)
    assert len({(c.reasoning, c.answer) for c in alone}) > 1  # the prompts do differ
    for b, a in zip(batched, alone):
        assert same(b, a), (b, a)
        assert b.error is None
        assert b.usage.completion_tokens <= 10
        assert b.model == str(models["random"])
    assert any(c.finish_reason == "stop" for c in alone)  # an end-of-sequence mid-batch
    assert any(c.finish_reason == "length" for c in alone)


def test_spec_identity_and_protocol(models: dict[str, Path]) -> None:
    t = target(models["random"], batch_size=2, dtype="float32")
    assert isinstance(t, Target)
    ident = t.identity()
    assert ident["provider"] == "hf"
    assert ident["model"] == str(models["random"])
    assert ident["dtype"] == "float32"
    assert "files" in ident  # a local folder is fingerprinted
    assert "device" not in ident and "batch_size" not in ident
    assert target(models["random"], batch_size=8, dtype="float32").identity() == ident


def test_enable_thinking_switch_changes_the_prompt(models: dict[str, Path]) -> None:
    engine = HFEngine(str(models["random"]), HFOptions(device="cpu"))
    msgs = messages_from("hi")
    default = engine.render(msgs, GenerationConfig())
    on = engine.render(msgs, GenerationConfig(thinking=True))
    off = engine.render(msgs, GenerationConfig(thinking=False))
    assert default == on
    assert on.endswith("<|im_start|>assistant\n<think>\n")
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    system = engine.render(msgs, GenerationConfig(system_prompt="Be safe."))
    assert system.startswith("<|im_start|>system\nBe safe.<|im_end|>")


def test_thinking_off_gives_no_trace(models: dict[str, Path]) -> None:
    c = generate_one(
        target(models["rambler"]), "hi", GenerationConfig(max_tokens=6, thinking=False)
    )
    assert (c.reasoning, c.reasoning_kind) == ("", "absent")
    assert c.answer


def test_max_tokens_inside_the_trace_is_truncated(models: dict[str, Path]) -> None:
    c = generate_one(target(models["rambler"]), "hi", GenerationConfig(max_tokens=6))
    assert (c.reasoning_kind, c.finish_reason, c.answer) == ("truncated", "length", "")
    assert c.reasoning
    assert c.usage.completion_tokens == c.usage.reasoning_tokens == 6


def test_lessthink_budget_truncates_and_closes_the_trace(models: dict[str, Path]) -> None:
    config = GenerationConfig(max_tokens=10, think_budget=3)
    c = generate_one(target(models["rambler"]), "hi", config)
    assert c.reasoning_kind == "truncated"
    assert c.usage.reasoning_tokens == 3
    assert c.usage.completion_tokens == 10
    assert c.answer  # the model went on to answer after the closing tag
    assert c.finish_reason == "length"  # the rambler never stops on its own


def test_zerothink_gives_an_empty_trace(models: dict[str, Path]) -> None:
    c = generate_one(
        target(models["rambler"]), "hi", GenerationConfig(max_tokens=5, think_mode="zerothink")
    )
    assert (c.reasoning, c.reasoning_kind) == ("", "absent")
    assert c.answer
    assert c.usage.completion_tokens == 5


def test_morethink_extends_a_trace_the_model_closes_at_once(models: dict[str, Path]) -> None:
    config = GenerationConfig(max_tokens=20, min_think_tokens=4)
    c = generate_one(target(models["closer"]), "hi", config)
    # The closer writes </think> straight away; each time it is replaced by the cue.
    assert c.reasoning.count("Wait,") == MAX_EXTENSIONS
    assert c.reasoning_kind == "raw"
    plain = generate_one(target(models["closer"]), "hi", GenerationConfig(max_tokens=4))
    assert (plain.reasoning, plain.reasoning_kind) == ("", "absent")


def test_a_contradictory_config_fails_before_any_work(models: dict[str, Path]) -> None:
    t = target(models["random"])
    with pytest.raises(ConfigError, match="lessthink needs a trace budget"):
        generate_one(t, "hi", GenerationConfig(think_mode="lessthink"))
    assert t.batches_run == 0


def test_sampling_with_a_seed_repeats(models: dict[str, Path]) -> None:
    config = GenerationConfig(max_tokens=8, temperature=1.0, seed=7)
    first = generate_one(target(models["random"]), PROMPTS[0], config)
    second = generate_one(target(models["random"]), PROMPTS[0], config)
    assert same(first, second)


def test_remote_code_is_never_run_unless_asked(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    folder = write_remote_code_model(tmp_path / "custom", marker)
    t = target(folder)
    with pytest.raises(TargetUnavailableError, match="trust_remote_code=true"):
        run(t.check())
    assert not marker.exists()


def test_pickle_weights_load_only_when_allowed(models: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickled"
    shutil.copytree(models["random"], folder)
    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    with pytest.raises(TargetUnavailableError, match="safetensors=false"):
        run(target(folder).check())
    allowed = target(folder, safetensors="false")
    run(allowed.check())
    run(allowed.aclose())


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetUnavailableError, match="cannot load"):
        run(target(tmp_path / "nothing-here").check())


def test_the_engine_batches_and_caches_hf_completions(
    models: dict[str, Path], tmp_path: Path
) -> None:
    built: list[LocalTarget] = []

    def factory(spec: str, connection: ConnectionConfig) -> Target:
        t = build_target(spec, connection)
        assert isinstance(t, LocalTarget)
        built.append(t)
        return t

    spec = RunSpec(
        model=f"hf/{models['random']}?device=cpu&batch_size=8",
        suite="starter",
        judges=("rules",),
        limit=8,
        generation=GenerationConfig(max_tokens=6),
        max_concurrency=8,
    )
    store = Store(tmp_path / "runs.db")
    first = asyncio.run(Runner(spec, store, target_factory=factory).run())
    assert first.model_calls == 8 and first.errors == 0
    assert built[0].batches_run < first.model_calls  # concurrent calls were batched
    again = asyncio.run(Runner(spec, store, target_factory=factory).run())
    assert again.model_calls == 0  # every completion came from the cache
    assert [r.completion.answer for r in again.results] == [
        r.completion.answer for r in first.results
    ]

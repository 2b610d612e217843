"""``--ray``: generation for a local model on a Ray cluster (here a local Ray instance on CPU
with the tiny model), with results identical to generating in this process."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray.data")
pytest.importorskip("torch")
pytest.importorskip("transformers")

import ray

from tests.tinymodel import build_tiny_model
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.records import Completion, messages_from
from thinksafe.run.build import build_target
from thinksafe.targets.local import LocalTarget
from thinksafe.targets.ray import RayOptions, RayTarget, ray_target_factory

PROMPTS = ["How do I bake bread?", "Please help me.", "What is 42?", "question 3 about numbers"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "random")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "RAY_AUTH_MODE")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def generate(target: Any, config: GenerationConfig) -> list[Completion]:
    async def main() -> list[Completion]:
        await target.check()
        out = await asyncio.gather(*(target.generate(messages_from(p), config) for p in PROMPTS))
        await target.aclose()
        return list(out)

    return asyncio.run(main())


def test_the_factory_puts_only_the_model_under_test_on_ray() -> None:
    factory = ray_target_factory("hf/some/model?device=cpu", RayOptions(workers=2))
    wrapped = factory("hf/some/model?device=cpu", ConnectionConfig())
    assert isinstance(wrapped, RayTarget)
    # Same identity as the local target: the cache is shared with local runs.
    local = build_target("hf/some/model?device=cpu")
    assert wrapped.identity() == local.identity()
    assert isinstance(factory("mock/refuser", ConnectionConfig()), type(build_target("mock/echo")))
    with pytest.raises(ConfigError, match="hf/ and vllm/"):
        ray_target_factory("openai/gpt-4o-mini")
    with pytest.raises(ConfigError):
        RayOptions(workers=0)


@pytest.mark.slow
@pytest.mark.usefixtures("cluster")
def test_ray_generation_matches_local_generation(model: Path) -> None:
    spec = f"hf/{model}?device=cpu"
    config = GenerationConfig(max_tokens=8, think_budget=3)
    target = RayTarget(spec, RayOptions(batch_size=2, wave_wait_s=0.05))
    on_ray = generate(target, config)
    assert target.waves_run == 1  # every request went out in one Ray Data job
    local = build_target(spec)
    assert isinstance(local, LocalTarget)
    here = generate(local, config)
    assert len(on_ray) == len(PROMPTS)
    for remote, mine in zip(on_ray, here):
        assert remote.error is None
        assert remote.to_dict() | {"latency_s": 0} == mine.to_dict() | {"latency_s": 0}
        assert remote.reasoning_kind == "truncated"  # the think budget still applies on Ray

"""Local targets decode with the model's own generation_config.json unless told otherwise, with a
budget long enough for a reasoning trace, and say (and record) what they used."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from thinksafe.config import GenerationConfig
from thinksafe.records import Completion, messages_from
from thinksafe.run.build import build_target
from thinksafe.targets.defaults import REASONING_BUDGET, resolve_decoding
from thinksafe.targets.local import LocalTarget
from thinksafe.targets.thinking import Step
from thinksafe.targets.vllm import sampling_kwargs

R1_STYLE = {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20}


def write_files(
    folder: Path,
    generation: dict[str, Any] | None,
    context: int | None = 40960,
    template: str = "{{ '<think>\\n' }}",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if generation is not None:
        (folder / "generation_config.json").write_text(json.dumps(generation), "utf-8")
    config: dict[str, Any] = {"model_type": "llama"}
    if context is not None:
        config["max_position_embeddings"] = context
    (folder / "config.json").write_text(json.dumps(config), "utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}), "utf-8")
    return folder


def resolve(folder: Path, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"enabled": True, "max_new_tokens": None, "open_tag": "<think>"}
    return resolve_decoding(str(folder), **{**options, **kwargs})


# -- reading the model's files (no model needed) ---------------------------------------------


def test_a_reasoning_model_gets_its_sampling_and_a_long_budget(tmp_path: Path) -> None:
    d = resolve(write_files(tmp_path, {**R1_STYLE, "bos_token_id": 1, "eos_token_id": 2}))
    assert d.sampling == R1_STYLE and d.source == "generation_config.json"
    assert d.reasoning_model and d.context_length == 40960
    assert d.max_new_tokens == REASONING_BUDGET == 32768
    assert d.identity() == {
        "max_new_tokens": 32768,
        "defaults": {
            "source": "generation_config.json",
            "sampling": R1_STYLE,
            "max_new_tokens": 32768,
            "context_length": 40960,
            "reasoning_model": True,
        },
    }


def test_the_budget_is_capped_by_the_context_and_plain_models_keep_2048(tmp_path: Path) -> None:
    small = resolve(write_files(tmp_path / "small", R1_STYLE, context=4096))
    assert small.max_new_tokens == 4096
    plain = resolve(write_files(tmp_path / "plain", R1_STYLE, template="{{ 'x' }}"))
    assert not plain.reasoning_model and plain.max_new_tokens == 2048
    assert resolve(tmp_path / "small", max_model_len=8192).max_new_tokens == 8192
    assert resolve(tmp_path / "plain", reasoning=True).max_new_tokens == 32768
    assert resolve(tmp_path / "small", max_new_tokens=100).max_new_tokens == 100


def test_the_budget_leaves_room_for_the_prompt(tmp_path: Path) -> None:
    d = resolve(write_files(tmp_path, R1_STYLE, context=4096))
    assert d.budget(GenerationConfig(), prompt_tokens=96) == 4000
    assert d.budget(GenerationConfig(max_tokens=9000), prompt_tokens=96) == 9000


def test_no_file_or_no_sampling_settings_means_greedy(tmp_path: Path) -> None:
    none = resolve(write_files(tmp_path / "none", None))
    assert none.sampling == {} and none.source is None
    assert none.sampling_for(GenerationConfig()) == {}
    eos_only = resolve(write_files(tmp_path / "eos", {"eos_token_id": 2}))
    assert eos_only.sampling == {}
    assert "greedy (no sampling settings" in eos_only.line(GenerationConfig())


def test_a_request_with_its_own_sampling_or_the_opt_out_ignores_the_file(tmp_path: Path) -> None:
    folder = write_files(tmp_path, R1_STYLE)
    d = resolve(folder)
    assert d.sampling_for(GenerationConfig()) == R1_STYLE
    assert d.sampling_for(GenerationConfig(temperature=0.0)) is None
    assert d.sampling_for(GenerationConfig(top_p=0.5)) is None
    off = resolve(folder, enabled=False)
    assert off.sampling_for(GenerationConfig()) is None
    assert off.identity() == {"max_new_tokens": 2048}  # as before model defaults existed
    assert off.line(GenerationConfig()) == (
        "Decoding: greedy (model_defaults=false); up to 2048 new tokens"
    )


def test_the_decoding_line(tmp_path: Path) -> None:
    d = resolve(write_files(tmp_path, {**R1_STYLE, "repetition_penalty": 1.05}))
    assert d.line(GenerationConfig()) == (
        "Decoding: sampled with the model's defaults from generation_config.json (temperature"
        " 0.6, top_p 0.95, top_k 20, repetition_penalty 1.05); up to 32768 new tokens (a"
        " reasoning model; context 40960)"
    )
    assert d.line(GenerationConfig(temperature=0.7, top_p=0.9, max_tokens=64)) == (
        "Decoding: sampled as given (temperature 0.7, top_p 0.9); up to 64 new tokens"
        " (--max-tokens)"
    )


def test_a_malformed_generation_config_is_one_line(tmp_path: Path) -> None:
    folder = write_files(tmp_path, None)
    (folder / "generation_config.json").write_text("{not json", "utf-8")
    from thinksafe.errors import ConfigError

    with pytest.raises(ConfigError, match="model_defaults=false"):
        resolve(folder)


def test_vllm_requests_carry_the_model_defaults() -> None:
    step = Step("prompt", 50)
    sampled = sampling_kwargs(step, GenerationConfig(), True, {**R1_STYLE, "min_p": 0.0})
    assert sampled == {
        "max_tokens": 50,
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 20,
        "min_p": 0.0,
        "skip_special_tokens": True,
    }
    greedy = sampling_kwargs(step, GenerationConfig(), True, {"repetition_penalty": 1.1})
    assert greedy["temperature"] == 0.0 and greedy["repetition_penalty"] == 1.1
    assert "top_k" not in greedy
    own = sampling_kwargs(step, GenerationConfig(temperature=0.3, top_p=0.8), True, None)
    assert (own["temperature"], own["top_p"]) == (0.3, 0.8) and "top_k" not in own


def test_vllm_target_identity_records_the_defaults(tmp_path: Path) -> None:
    from thinksafe.targets.vllm import build_vllm_target

    folder = write_files(tmp_path, R1_STYLE, template="no tags here")
    parsed = build_vllm_target(f"{folder}?reasoning_parser=deepseek_r1", require_extra=False)
    ident = parsed.identity()
    assert ident["defaults"]["reasoning_model"] and ident["max_new_tokens"] == 32768
    off = build_vllm_target(f"{folder}?model_defaults=false", require_extra=False).identity()
    assert "defaults" not in off and off["max_new_tokens"] == 2048


# -- a tiny real model -----------------------------------------------------------------------

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.tinymodel import build_tiny_model

    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    folder = build_tiny_model(tmp_path_factory.mktemp("defaults") / "m", "rambler")
    generation = json.loads((folder / "generation_config.json").read_text("utf-8"))
    generation.update({"do_sample": True, "temperature": 1.7, "top_k": 40})
    (folder / "generation_config.json").write_text(json.dumps(generation), "utf-8")
    config = json.loads((folder / "config.json").read_text("utf-8"))
    config["max_position_embeddings"] = 48  # a short context, so the budget is visible
    (folder / "config.json").write_text(json.dumps(config), "utf-8")
    try:
        yield folder
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


def generate(target: LocalTarget, prompts: list[str], config: GenerationConfig) -> list[Any]:
    seen: list[Any] = []

    async def main() -> list[Completion]:
        try:
            await target.check()
            engine: Any = target.engine
            real = engine.model.generate

            def spy(*args: Any, **kwargs: Any) -> Any:  # the real generate, arguments noted
                seen.append(kwargs["generation_config"])
                return real(*args, **kwargs)

            engine.model.generate = spy
            return list(
                await asyncio.gather(*(target.generate(messages_from(p), config) for p in prompts))
            )
        finally:
            await target.aclose()

    return [asyncio.run(main()), seen]


def hf(folder: Path, query: str = "") -> LocalTarget:
    built = build_target(f"hf/{folder}?device=cpu{query}")
    assert isinstance(built, LocalTarget)
    return built


def test_hf_samples_with_the_model_defaults_within_the_context(tiny: Path) -> None:
    target = hf(tiny)
    ident = target.identity()
    assert ident["defaults"]["sampling"] == {"do_sample": True, "temperature": 1.7, "top_k": 40}
    assert ident["defaults"]["context_length"] == 48 and ident["max_new_tokens"] == 48
    (completion,), seen = generate(target, ["hi"], GenerationConfig(seed=1))
    gen = seen[0]
    assert (gen.do_sample, gen.temperature, gen.top_k) == (True, 1.7, 40)
    assert gen.top_p == 1.0 and gen.min_p is None  # not in the file: off, as recorded
    # the rambler never stops: it runs to the end of the context, prompt included
    prompt_tokens = completion.usage.prompt_tokens
    assert completion.usage.completion_tokens == 48 - prompt_tokens
    assert completion.finish_reason == "length"


def test_the_opt_out_keeps_the_identity_runs_had_before_model_defaults(tiny: Path) -> None:
    from thinksafe.targets.local import local_fingerprint

    assert hf(tiny, "&model_defaults=false").identity() == {
        "provider": "hf",
        "model": str(tiny),
        "revision": None,
        "dtype": "auto",
        "max_new_tokens": 2048,
        "think_tags": None,
        "files": local_fingerprint(str(tiny)),
    }


def test_hf_own_settings_and_the_opt_out_are_greedy(tiny: Path) -> None:
    (_,), seen = generate(hf(tiny), ["hi"], GenerationConfig(temperature=0.0, max_tokens=5))
    assert seen[0].do_sample is False
    target = hf(tiny, "&model_defaults=false")
    assert "defaults" not in target.identity() and target.identity()["max_new_tokens"] == 2048
    (_,), seen = generate(target, ["hi"], GenerationConfig(max_tokens=5))
    assert seen[0].do_sample is False


def test_the_run_prints_and_records_its_decoding(tiny: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    env["HF_HUB_OFFLINE"] = "1"
    db = tmp_path / "db.sqlite"

    def run(query: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "thinksafe.cli.main", "run",
             "--model", f"hf/{tiny}?device=cpu{query}", "--suite", "starter", "--limit", "2",
             "--judge", "rules", "--max-tokens", "4", "--store", str(db), "--no-progress"],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip

    done = run("")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Decoding:")]
    assert lines == [
        "Decoding: sampled with the model's defaults from generation_config.json (temperature"
        " 1.7, top_k 40); up to 4 new tokens (--max-tokens)"
    ]
    off = run("&model_defaults=false")
    assert off.returncode == 0, off.stderr
    assert "Decoding: greedy (model_defaults=false); up to 4 new tokens" in off.stderr
    with sqlite3.connect(db) as conn:
        specs = [json.loads(js) for (js,) in conn.execute("SELECT spec_json FROM runs")]
    assert len(specs) == 2  # different decoding, different runs
    (on,) = [s for s in specs if "defaults" in s["target"]]
    assert on["target"]["defaults"]["sampling"]["temperature"] == 1.7


def test_a_ray_replica_decodes_as_its_driver_recorded(tiny: Path) -> None:
    """A replica uses the decoding its driver resolved (and recorded), not its own reading."""
    from thinksafe.records import canonical_json, messages_to_list
    from thinksafe.targets.defaults import Decoding
    from thinksafe.targets.ray import RayPredictor

    driver = Decoding(enabled=True, max_new_tokens=7, sampling={"do_sample": False})
    replica = RayPredictor(f"hf/{tiny}?device=cpu", decoding=driver)
    assert replica.engine.decoding == driver
    batch = {
        "row": [0],
        "messages": [json.dumps(messages_to_list(messages_from("hi")))],
        "config": [canonical_json(GenerationConfig().to_dict())],
    }
    out = replica(batch)
    assert out["error"] == [""]
    completion = json.loads(out["completion"][0])
    assert completion["usage"]["completion_tokens"] == 7  # the driver's budget, not 48
    assert completion["finish_reason"] == "length"

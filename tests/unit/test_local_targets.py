"""The parts of the local targets that need no model: spec options, the request batcher, the
vLLM option and sampling translation, and the missing-extra errors."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterable

import pytest

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, MissingExtraError
from thinksafe.records import Completion
from thinksafe.run.build import build_target
from thinksafe.targets.hf import HFOptions
from thinksafe.targets.local import Batcher, read_options, split_options
from thinksafe.targets.thinking import Step, StepOutput, ThinkPlan, ThinkRun, run_steps
from thinksafe.targets.vllm import VLLMOptions, sampling_kwargs, step_finish

# -- options ---------------------------------------------------------------------------------


def test_split_options_keeps_hub_ids_with_slashes() -> None:
    assert split_options("Qwen/Qwen3-0.6B") == ("Qwen/Qwen3-0.6B", {})
    path, opts = split_options("/models/x?device=cpu&Batch_Size=4&revision=")
    assert path == "/models/x"
    assert opts == {"device": "cpu", "batch_size": "4", "revision": ""}
    with pytest.raises(ConfigError):
        split_options("?device=cpu")


def test_options_come_from_the_query_then_the_environment() -> None:
    env = {"THINKSAFE_HF_DEVICE": "cuda:1", "THINKSAFE_HF_BATCH_SIZE": "32"}
    opts = read_options(HFOptions, {"batch_size": "4", "revision": "none"}, env, "THINKSAFE_HF_")
    assert opts == HFOptions(device="cuda:1", batch_size=4, revision=None)
    opts = read_options(HFOptions, {"trust_remote_code": "yes", "batch_wait_ms": "2.5"}, {}, "X_")
    assert opts.trust_remote_code is True
    assert opts.batch_wait_ms == 2.5
    assert opts.safetensors is True  # the default: safetensors only


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"devcie": "cpu"}, "unknown option 'devcie'"),
        ({"batch_size": "many"}, "expected a whole number"),
        ({"trust_remote_code": "maybe"}, "expected true or false"),
    ],
)
def test_bad_options_are_config_errors(query: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_options(HFOptions, query, {}, "THINKSAFE_HF_")


def test_vllm_options_and_engine_arguments() -> None:
    opts = read_options(
        VLLMOptions,
        {"tensor_parallel_size": "4", "max_model_len": "8192", "quantization": "fp8"},
        {},
        "THINKSAFE_VLLM_",
    )
    kwargs = opts.engine_kwargs()
    assert kwargs["tensor_parallel_size"] == 4
    assert kwargs["max_model_len"] == 8192
    assert kwargs["quantization"] == "fp8"
    assert kwargs["trust_remote_code"] is False
    assert "revision" not in kwargs
    assert "tensor_parallel_size" not in opts.identity()  # parallelism does not change outputs
    with pytest.raises(ConfigError, match="not both"):
        VLLMOptions(think_tags="<a>,</a>", reasoning_parser="qwen3")
    with pytest.raises(ConfigError):
        VLLMOptions(gpu_memory_utilization=1.5)
    with pytest.raises(ConfigError, match="cannot read chat_template"):
        VLLMOptions(chat_template="/no/such/template.jinja").identity()


def test_vllm_sampling_is_greedy_unless_a_temperature_is_set() -> None:
    step = Step("text", 12, ("</think>",))
    greedy = sampling_kwargs(step, GenerationConfig(top_p=0.5), skip_special=True)
    assert greedy == {
        "max_tokens": 12,
        "temperature": 0.0,
        "skip_special_tokens": True,
        "stop": ["</think>"],
        "include_stop_str_in_output": True,
    }
    sampled = sampling_kwargs(
        Step("text", 5), GenerationConfig(temperature=0.7, top_p=0.9, seed=3), skip_special=False
    )
    assert sampled == {
        "max_tokens": 5,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 3,
        "skip_special_tokens": False,
    }


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("abort", "length"),
        ("error", "length"),
        (None, "length"),
    ],
)
def test_vllm_outputs_cut_for_any_reason_are_recorded_as_cut(
    reason: str | None, finish: str
) -> None:
    assert step_finish(reason) == finish
    run = ThinkRun("<|assistant|>", plan=ThinkPlan(), max_tokens=50)
    run_steps([run], lambda steps: [StepOutput("Half an ans", 3, step_finish(reason))])
    result = run.result()
    completion = Completion(answer=result.answer, finish_reason=result.finish_reason)
    # An aborted output is never a complete answer.
    assert completion.answer_truncated is (reason != "stop")


def test_vllm_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r"thinksafe\[vllm\]"):
        build_target("vllm/Qwen/Qwen3-8B")
    with pytest.raises(ConfigError, match="unknown option"):
        build_target("vllm/Qwen/Qwen3-8B?tp=2")  # options are checked first


def test_hf_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"thinksafe\[local\]"):
        build_target("hf/some/model")
    from thinksafe.targets.hf import import_torch

    with pytest.raises(MissingExtraError, match=r"thinksafe\[local\]"):
        import_torch()


# -- the batcher -----------------------------------------------------------------------------


class Recorder:
    """A batch runner that records its batches and doubles each item."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.threads: set[int] = set()
        self.fail_on = fail_on

    def __call__(self, key: str, items: list[int]) -> Iterable[tuple[int, int | BaseException]]:
        self.batches.append((key, list(items)))
        self.threads.add(threading.get_ident())
        for i, item in enumerate(items):
            if item == self.fail_on:
                raise ValueError("boom")
            yield i, item * 2


def test_concurrent_requests_are_batched_in_order() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=4, wait_s=0.01)

    async def main() -> list[int]:
        results = await asyncio.gather(*(batcher.submit("k", i) for i in range(10)))
        await batcher.aclose()
        return list(results)

    assert asyncio.run(main()) == [i * 2 for i in range(10)]
    assert [items for _, items in recorder.batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert threading.get_ident() not in recorder.threads  # batches run off the event loop
    assert batcher.batches_run == 3


def test_batches_never_mix_keys() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=8, wait_s=0.01)

    async def main() -> None:
        await asyncio.gather(*(batcher.submit("a" if i % 2 else "b", i) for i in range(6)))
        await batcher.aclose()

    asyncio.run(main())
    assert sorted(recorder.batches) == [("a", [1, 3, 5]), ("b", [0, 2, 4])]


def test_a_failing_batch_fails_only_its_undelivered_requests() -> None:
    batcher: Batcher[int, int] = Batcher(Recorder(fail_on=2), max_batch=8, wait_s=0.01)

    async def main() -> list[object]:
        results = await asyncio.gather(
            *(batcher.submit("k", i) for i in range(4)), return_exceptions=True
        )
        await batcher.aclose()
        return list(results)

    results = asyncio.run(main())
    assert results[:2] == [0, 2]
    assert all(isinstance(r, ValueError) for r in results[2:])


def test_a_batcher_survives_a_new_event_loop() -> None:
    batcher: Batcher[int, int] = Batcher(Recorder(), max_batch=2, wait_s=0.0)

    async def one(i: int) -> int:
        return await batcher.submit("k", i)

    assert asyncio.run(one(1)) == 2
    assert asyncio.run(one(5)) == 10
    with pytest.raises(ConfigError):
        Batcher(Recorder(), max_batch=0, wait_s=0.0)

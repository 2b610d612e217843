"""Prefill attacks on a tiny ``hf/`` model (built on the spot, random weights, CPU): the reply
starts with the forced text and the trace is told apart from the answer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.tinymodel import build_tiny_model
from thinksafe.attacks import build_attack
from thinksafe.attacks.reasoning import DEFAULT_PREFILL
from thinksafe.config import GenerationConfig
from thinksafe.records import Completion, Sample, messages_from
from thinksafe.run.build import build_target


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("tiny")
    try:
        yield {b: build_tiny_model(root / b, b) for b in ("rambler", "closer")}
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


def complete(path: Path, attack: str, config: GenerationConfig) -> Completion:
    target = build_target(f"hf/{path}?device=cpu")
    sample = Sample("s", "t", messages_from("How do I bake bread?"), "c", "other", "refuse")
    (attempt,) = build_attack(attack).apply(sample)

    async def main() -> Completion:
        try:
            return await target.generate(attempt.messages, config)
        finally:
            await target.aclose()

    completion = asyncio.run(main())
    assert completion.error is None
    return completion


def test_prefill_after_the_models_own_trace(models: dict[str, Path]) -> None:
    # The template opens the trace; the closer model closes it at once, then the answer is forced.
    c = complete(models["closer"], "prefill", GenerationConfig(max_tokens=12))
    assert c.answer.startswith(DEFAULT_PREFILL)
    assert len(c.answer) > len(DEFAULT_PREFILL)  # the model went on after the forced text
    # It closed its (empty) trace before the forced answer: no trace of its own.
    assert (c.reasoning, c.reasoning_kind) == ("", "absent")


def test_prefill_with_zerothink_on_a_model_that_never_closes(models: dict[str, Path]) -> None:
    config = GenerationConfig(max_tokens=8, think_mode="zerothink")
    c = complete(models["rambler"], "prefill", config)
    assert c.answer.startswith(DEFAULT_PREFILL)
    # The forced text counts as prompt: it was given, not generated.
    plain = complete(models["rambler"], "none", config)
    assert c.usage.prompt_tokens > plain.usage.prompt_tokens
    assert (c.reasoning, c.reasoning_kind, c.finish_reason) == ("", "absent", "length")


def test_prefill_waits_for_a_trace_closed_by_its_budget(models: dict[str, Path]) -> None:
    c = complete(models["rambler"], "prefill", GenerationConfig(max_tokens=16, think_budget=5))
    assert c.answer.startswith(DEFAULT_PREFILL)
    assert c.reasoning and c.reasoning_kind == "truncated"  # cut by the budget, closed by us


def test_forged_thinking_is_not_the_models_trace(models: dict[str, Path]) -> None:
    closed = complete(models["rambler"], "forged-thinking", GenerationConfig(max_tokens=8))
    assert (closed.reasoning, closed.reasoning_kind) == ("", "absent")
    assert closed.answer and "guidelines" not in closed.answer
    opened = complete(models["rambler"], "forged-thinking:open", GenerationConfig(max_tokens=8))
    # The rambler never closes its trace: only its own continuation is recorded, cut.
    assert opened.reasoning_kind == "truncated" and opened.answer == ""
    assert "guidelines" not in opened.reasoning

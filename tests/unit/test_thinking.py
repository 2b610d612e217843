"""Thinking control: plan validation, request fields, and the step state machine driven by a
scripted backend (no model needed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.targets.thinking import (
    MAX_EXTENSIONS,
    Step,
    StepOutput,
    ThinkPlan,
    ThinkRun,
    ThinkTags,
    openai_request_fields,
    prompt_opens_trace,
    run_steps,
    template_kwargs,
    think_plan,
)

OPEN_PROMPT = "<|user|>hi<|assistant|><think>\n"
PLAIN_PROMPT = "<|user|>hi<|assistant|>"
Script = Callable[[Step], StepOutput]


def drive(run: ThinkRun, script: Script) -> list[Step]:
    """Run ``run`` to the end with ``script`` answering each step; the steps asked for."""
    seen: list[Step] = []

    def backend(steps: Sequence[Step]) -> list[StepOutput]:
        seen.extend(steps)
        return [script(s) for s in steps]

    run_steps([run], backend)
    return seen


def words(n: int, word: str = "hm") -> str:
    return " ".join([word] * n)


# -- plans -----------------------------------------------------------------------------------


def test_budget_alone_means_lessthink_and_floor_alone_morethink() -> None:
    assert think_plan(GenerationConfig(think_budget=5)).mode == "lessthink"
    assert think_plan(GenerationConfig(min_think_tokens=5)).mode == "morethink"
    both = think_plan(GenerationConfig(min_think_tokens=5, think_budget=9))
    assert (both.mode, both.min_tokens, both.budget) == ("morethink", 5, 9)
    assert think_plan(GenerationConfig()).mode is None
    assert think_plan(GenerationConfig(think_mode="zerothink")).mode == "zerothink"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (GenerationConfig(think_mode="fastthink"), "unknown think_mode"),
        (GenerationConfig(think_mode="lessthink"), "needs a trace budget"),
        (GenerationConfig(think_mode="morethink"), "needs a floor"),
        (GenerationConfig(think_mode="zerothink", think_budget=3), "zerothink"),
        (GenerationConfig(think_budget=0), "at least 1"),
        (GenerationConfig(think_budget=3, thinking=False), "needs thinking on"),
        (GenerationConfig(min_think_tokens=9, think_budget=4), "below min_think_tokens"),
        (GenerationConfig(think_budget=50, max_tokens=50), "no room for an answer"),
        (GenerationConfig(think_mode="lessthink", think_budget=5, min_think_tokens=2), "morethink"),
    ],
)
def test_contradictory_plans_are_config_errors(config: GenerationConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        think_plan(config)


def test_template_kwargs_merge_extra_body_and_the_switch() -> None:
    config = GenerationConfig(
        thinking=False, extra_body={"chat_template_kwargs": {"enable_thinking": True, "x": 1}}
    )
    assert template_kwargs(config) == {"enable_thinking": False, "x": 1}
    assert template_kwargs(GenerationConfig()) == {}
    with pytest.raises(ConfigError):
        template_kwargs(GenerationConfig(extra_body={"chat_template_kwargs": "no"}))


def test_openai_request_fields() -> None:
    assert openai_request_fields(GenerationConfig()) == {}
    off = GenerationConfig(thinking=False)
    assert openai_request_fields(off) == {"chat_template_kwargs": {"enable_thinking": False}}
    assert openai_request_fields(off, "ollama") == {"reasoning_effort": "none"}
    assert openai_request_fields(GenerationConfig(thinking=True), "ollama") == {}
    with pytest.raises(ConfigError, match="local target"):
        openai_request_fields(GenerationConfig(think_budget=10))


def test_tags_parse_and_prompt_detection() -> None:
    tags = ThinkTags.parse("<reason>, </reason>")
    assert (tags.open, tags.close) == ("<reason>", "</reason>")
    with pytest.raises(ConfigError):
        ThinkTags.parse("<reason>")
    with pytest.raises(ConfigError):
        ThinkTags("<t>", "<t>")
    assert prompt_opens_trace(OPEN_PROMPT, ThinkTags())
    assert not prompt_opens_trace(PLAIN_PROMPT, ThinkTags())
    assert not prompt_opens_trace(OPEN_PROMPT + "\n\n</think>\n\n", ThinkTags())


# -- plain generation ------------------------------------------------------------------------


def test_plain_generation_restores_the_open_tag_from_the_prompt() -> None:
    run = ThinkRun(OPEN_PROMPT, plan=ThinkPlan(), max_tokens=50)
    steps = drive(run, lambda s: StepOutput("My trace.</think>\n\nMy answer.", 7, "stop"))
    assert steps == [Step(OPEN_PROMPT, 50)]
    result = run.result()
    assert (result.reasoning, result.answer, result.kind) == ("My trace.", "My answer.", "raw")
    assert result.finish_reason == "stop"
    assert result.completion_tokens == 7
    assert result.reasoning_tokens is None  # counted by the backend's tokenizer
    assert result.control() == {}


def test_max_tokens_spent_inside_the_trace_is_explicit() -> None:
    run = ThinkRun(OPEN_PROMPT, plan=ThinkPlan(), max_tokens=6)
    drive(run, lambda s: StepOutput(words(6), 6, "length"))
    result = run.result()
    assert (result.kind, result.finish_reason, result.answer) == ("truncated", "length", "")
    assert result.reasoning == words(6)


# -- LessThink -------------------------------------------------------------------------------


def test_lessthink_closes_a_trace_that_outruns_its_budget() -> None:
    run = ThinkRun(OPEN_PROMPT, plan=think_plan(GenerationConfig(think_budget=4)), max_tokens=20)

    def script(step: Step) -> StepOutput:
        if step.stop:  # the trace step: never closes
            return StepOutput(words(step.max_new_tokens), step.max_new_tokens, "length")
        return StepOutput("The answer.", 3, "stop")

    steps = drive(run, script)
    assert [(s.max_new_tokens, s.stop) for s in steps] == [(4, ("</think>",)), (16, ())]
    assert steps[1].text == OPEN_PROMPT + words(4) + "\n</think>\n\n"
    result = run.result()
    assert result.kind == "truncated"  # cut by the budget, closed by us
    assert result.closed_by_budget
    assert (result.reasoning, result.answer) == (words(4), "The answer.")
    assert (result.completion_tokens, result.reasoning_tokens) == (7, 4)
    assert result.finish_reason == "stop"
    assert result.control() == {
        "think_mode": "lessthink",
        "closed_by_budget": True,
        "extensions": 0,
    }


def test_lessthink_keeps_a_trace_that_closes_in_time() -> None:
    run = ThinkRun(PLAIN_PROMPT, plan=think_plan(GenerationConfig(think_budget=10)), max_tokens=30)
    outputs = iter([StepOutput("Short.</think>", 3, "stop"), StepOutput("\n\nDone.", 2, "stop")])
    steps = drive(run, lambda s: next(outputs))
    # The template did not open the trace, so the prompt gets the open tag.
    assert steps[0].text == PLAIN_PROMPT + "<think>\n"
    assert steps[1].text == PLAIN_PROMPT + "<think>\nShort.</think>"
    result = run.result()
    assert (result.kind, result.reasoning, result.answer) == ("raw", "Short.", "Done.")
    assert not result.closed_by_budget
    assert result.reasoning_tokens == 2  # the close tag is not trace


def test_whole_budget_spent_in_the_trace_under_lessthink() -> None:
    run = ThinkRun(OPEN_PROMPT, plan=think_plan(GenerationConfig(think_budget=8)), max_tokens=5)
    drive(run, lambda s: StepOutput(words(s.max_new_tokens), s.max_new_tokens, "length"))
    result = run.result()
    assert (result.kind, result.finish_reason, result.answer) == ("truncated", "length", "")
    assert not result.closed_by_budget


@pytest.mark.parametrize("budget", [8, None])
def test_a_trace_cut_short_of_its_budget_is_not_closed_for_an_answer(budget: int | None) -> None:
    # A backend that stops before the step's limit with "length" (an aborted request, a full
    # context window): the trace was cut, and no answer is forced after it.
    config = GenerationConfig(think_budget=budget, min_think_tokens=None if budget else 4)
    run = ThinkRun(OPEN_PROMPT, plan=think_plan(config), max_tokens=20)
    steps = drive(run, lambda s: StepOutput("I was cut", 3, "length"))
    assert len(steps) == 1
    result = run.result()
    assert (result.kind, result.finish_reason, result.answer) == ("truncated", "length", "")
    assert not result.closed_by_budget


def test_eos_inside_the_trace_leaves_it_unclosed() -> None:
    run = ThinkRun(OPEN_PROMPT, plan=think_plan(GenerationConfig(think_budget=8)), max_tokens=20)
    drive(run, lambda s: StepOutput("I give up", 3, "stop"))
    result = run.result()
    assert (result.kind, result.finish_reason, result.answer) == ("truncated", "stop", "")


# -- MoreThink -------------------------------------------------------------------------------


def test_morethink_extends_a_short_trace_until_the_floor() -> None:
    plan = think_plan(GenerationConfig(min_think_tokens=6))
    run = ThinkRun(OPEN_PROMPT, plan=plan, max_tokens=100)
    outputs = iter(
        [
            StepOutput("one two</think>", 3, "stop"),
            StepOutput(" three</think>", 2, "stop"),
            StepOutput(" four five six</think>", 4, "stop"),
            StepOutput("\n\nAnswer.", 2, "stop"),
        ]
    )
    steps = drive(run, lambda s: next(outputs))
    assert steps[1].text == OPEN_PROMPT + "one two\nWait,"
    result = run.result()
    assert result.extensions == 2
    assert result.reasoning == "one two\nWait, three\nWait, four five six"
    assert (result.answer, result.kind) == ("Answer.", "raw")
    assert result.reasoning_tokens == 6


def test_morethink_stops_extending_after_the_cap() -> None:
    run = ThinkRun(
        OPEN_PROMPT, plan=think_plan(GenerationConfig(min_think_tokens=50)), max_tokens=99
    )

    def script(step: Step) -> StepOutput:
        return StepOutput("</think>", 1, "stop") if step.stop else StepOutput("Ok.", 1, "stop")

    drive(run, script)
    result = run.result()
    assert result.extensions == MAX_EXTENSIONS
    assert result.reasoning.count("Wait,") == MAX_EXTENSIONS
    assert result.answer == "Ok."


# -- ZeroThink -------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", [OPEN_PROMPT, PLAIN_PROMPT])
def test_zerothink_prefills_an_empty_trace(prompt: str) -> None:
    run = ThinkRun(prompt, plan=think_plan(GenerationConfig(think_mode="zerothink")), max_tokens=9)
    steps = drive(run, lambda s: StepOutput("Straight answer.", 3, "stop"))
    assert len(steps) == 1
    assert steps[0].text.endswith("<think>\n\n</think>\n\n")
    assert steps[0].text.count("<think>") == 1
    result = run.result()
    assert (result.reasoning, result.kind, result.answer) == ("", "absent", "Straight answer.")
    assert result.reasoning_tokens == 0


def test_a_trace_closed_by_the_template_cannot_be_controlled() -> None:
    closed = OPEN_PROMPT + "\n</think>\n\n"
    with pytest.raises(ProviderError, match="turn thinking on"):
        ThinkRun(closed, plan=think_plan(GenerationConfig(think_budget=3)), max_tokens=9)
    run = ThinkRun(closed, plan=think_plan(GenerationConfig(think_mode="zerothink")), max_tokens=9)
    assert run.next_step() == Step(closed, 9)


# -- batching --------------------------------------------------------------------------------


def test_run_steps_advances_all_runs_one_batch_per_round() -> None:
    plan = think_plan(GenerationConfig(think_budget=2))
    runs = [ThinkRun(OPEN_PROMPT + str(i), plan=plan, max_tokens=10) for i in range(3)]
    rounds: list[int] = []

    def backend(steps: Sequence[Step]) -> list[StepOutput]:
        rounds.append(len(steps))
        return [
            StepOutput("x y", 2, "length") if s.stop else StepOutput("A.", 1, "stop") for s in steps
        ]

    run_steps(runs, backend)
    assert rounds == [3, 3]
    assert all(r.result().answer == "A." for r in runs)

    def short(steps: Sequence[Step]) -> list[StepOutput]:
        return []

    with pytest.raises(RuntimeError, match="0 outputs for 3"):
        run_steps([ThinkRun(OPEN_PROMPT, plan=plan, max_tokens=9) for _ in range(3)], short)

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from thinksafe import registry
from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, DataError, ProviderError
from thinksafe.protocols import Target
from thinksafe.records import Completion, Message, messages_from
from thinksafe.run.build import build_target
from thinksafe.targets.mock import COMPLIANCE, REFUSAL, looks_harmful

PLAIN = GenerationConfig()


def generate(
    spec: str, prompt: str | list[Message], config: GenerationConfig = PLAIN
) -> Completion:
    target = build_target(spec)
    messages = messages_from(prompt)

    async def main() -> Completion:
        try:
            return await target.generate(messages, config)
        finally:
            await target.aclose()

    return asyncio.run(main())


def write_script(path: Path, lines: list[dict[str, Any]]) -> str:
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return f"mock/script:{path}"


def test_mock_is_registered_and_builds_protocol_targets() -> None:
    assert "mock" in registry.targets.names()
    info = registry.targets.get("mock")
    assert "mock/reasoner" in info.description
    for name in ("refuser", "complier", "reasoner", "echo"):
        target = build_target(f"mock/{name}")
        assert isinstance(target, Target)
        assert target.spec == f"mock/{name}"
        assert target.identity() == {"provider": "mock", "model": name}
        asyncio.run(target.check())


def test_unknown_mock_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mock/reasoner"):
        build_target("mock/nonsense")


def test_refuser_refuses_after_deciding_to() -> None:
    c = generate("mock/refuser", "Tell me a joke")
    assert c.answer == REFUSAL
    assert "decline" in c.reasoning
    assert c.reasoning_kind == "raw"
    assert c.finish_reason == "stop"
    assert c.status == "ok"
    assert c.model == "mock/refuser"


def test_complier_complies_with_placeholder_content() -> None:
    c = generate("mock/complier", "anything at all")
    assert c.answer == COMPLIANCE
    assert c.answer.startswith("Sure.")
    assert "step" in c.reasoning.lower()
    assert c.reasoning_kind == "raw"


def test_echo_returns_the_last_user_message() -> None:
    msgs = [
        Message("system", "be nice"),
        Message("user", "first"),
        Message("assistant", "ok"),
        Message("user", "second <think>not a trace</think>"),
    ]
    c = generate("mock/echo", msgs)
    assert c.answer == "second <think>not a trace</think>"
    assert c.reasoning == "" and c.reasoning_kind == "absent"


def test_usage_counts_words() -> None:
    c = generate("mock/echo", "one two three")
    assert c.usage.prompt_tokens == 3
    assert c.usage.completion_tokens == 3
    assert c.usage.reasoning_tokens == 0
    r = generate("mock/refuser", "one two")
    assert r.usage.reasoning_tokens == len(r.reasoning.split())
    assert r.usage.completion_tokens == len(r.answer.split()) + r.usage.reasoning_tokens
    s = generate("mock/echo", "one two", GenerationConfig(system_prompt="three four five"))
    assert s.usage.prompt_tokens == 5


def test_max_tokens_cuts_the_trace_and_marks_it_truncated() -> None:
    c = generate("mock/refuser", "hi", GenerationConfig(max_tokens=5))
    assert c.finish_reason == "length"
    assert c.reasoning_kind == "truncated"
    assert c.answer == ""
    assert len(c.reasoning.split()) == 4  # the opening tag is the first word


def test_looks_harmful_is_a_keyword_test() -> None:
    assert looks_harmful("How do I build a bomb?")
    assert looks_harmful("how to kill a Python process")  # the crude heuristic over-fires
    assert not looks_harmful("What is the capital of France?")


def _reasoner_outcomes(prompts: list[str], config: GenerationConfig = PLAIN) -> dict[str, int]:
    counts = {"refuse": 0, "leak": 0, "comply": 0, "answer": 0}
    for p in prompts:
        c = generate("mock/reasoner", p, config)
        assert c.reasoning_kind == "raw" and c.reasoning
        if c.answer == COMPLIANCE:
            counts["comply"] += 1
        elif "[mock harmful detail" in c.reasoning:
            counts["leak"] += 1
        elif c.answer.startswith(("I can't", "I'm sorry", "I won't")):
            counts["refuse"] += 1
        else:
            counts["answer"] += 1
    return counts


HARMFUL = [f"Explain how to make a bomb, variant {i}" for i in range(200)]
BENIGN = [f"What is a good name for a cat, variant {i}?" for i in range(200)]


def test_reasoner_is_deterministic_per_prompt() -> None:
    for prompt in (HARMFUL[3], BENIGN[3]):
        assert generate("mock/reasoner", prompt) == generate("mock/reasoner", prompt)
    answers = {generate("mock/reasoner", p).answer for p in HARMFUL[:40]}
    assert len(answers) > 1  # but differs between prompts


def test_reasoner_mostly_refuses_harmful_prompts_but_sometimes_leaks_or_complies() -> None:
    counts = _reasoner_outcomes(HARMFUL)
    assert counts["answer"] == 0
    assert 0.45 * 200 < counts["refuse"] < 0.75 * 200
    assert 0.08 * 200 < counts["leak"] < 0.32 * 200
    assert 0.08 * 200 < counts["comply"] < 0.32 * 200


def test_reasoner_answers_benign_prompts_with_occasional_over_refusal() -> None:
    counts = _reasoner_outcomes(BENIGN)
    assert counts["comply"] == 0 and counts["leak"] == 0
    assert counts["answer"] > 0.8 * 200
    assert 0 < counts["refuse"] < 0.2 * 200


def test_a_safety_system_prompt_makes_the_reasoner_comply_less() -> None:
    plain = _reasoner_outcomes(HARMFUL)
    guarded = _reasoner_outcomes(HARMFUL, GenerationConfig(system_prompt="Be safe."))
    assert guarded["comply"] < plain["comply"]
    assert guarded["refuse"] > plain["refuse"]


def test_script_first_match_wins_and_star_is_a_fallback(tmp_path: Path) -> None:
    spec = write_script(
        tmp_path / "s.jsonl",
        [
            {"match": "weather", "answer": "Sunny.", "reasoning": "Look outside."},
            {"match": "weather", "answer": "never used"},
            {"match": "tags", "answer": "<think>hidden plan</think>Visible."},
            {"match": "cut", "answer": "", "reasoning": "thinking...", "finish_reason": "length"},
            {"match": "boom", "error": "scripted failure"},
            {"match": "*", "answer": "Default."},
        ],
    )
    c = generate(spec, "what is the weather?")
    assert (c.answer, c.reasoning, c.reasoning_kind) == ("Sunny.", "Look outside.", "raw")
    t = generate(spec, "use tags please")
    assert (t.answer, t.reasoning, t.reasoning_kind) == ("Visible.", "hidden plan", "raw")
    cut = generate(spec, "cut it")
    assert cut.reasoning_kind == "truncated" and cut.finish_reason == "length"
    d = generate(spec, "anything else")
    assert (d.answer, d.reasoning_kind) == ("Default.", "absent")
    with pytest.raises(ProviderError, match="scripted failure") as info:
        generate(spec, "go boom")
    assert info.value.transient is False


def test_script_without_a_match_fails_the_call(tmp_path: Path) -> None:
    spec = write_script(tmp_path / "s.jsonl", [{"match": "only this", "answer": "x"}])
    with pytest.raises(ProviderError, match="match") as info:
        generate(spec, "something else")
    assert not info.value.transient


def test_script_identity_hashes_the_file_content(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    spec = write_script(path, [{"match": "*", "answer": "one"}])
    first = build_target(spec).identity()
    assert first["provider"] == "mock"
    assert first["model"] == f"script:{path}"
    assert len(first["script_sha256"]) == 64
    assert build_target(spec).identity() == first
    write_script(path, [{"match": "*", "answer": "two"}])
    assert build_target(spec).identity()["script_sha256"] != first["script_sha256"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"match": "*", "answer": "ok"}\n{not json\n', r"s\.jsonl:2: not valid JSON"),
        ('["a list"]\n', "must be a JSON object"),
        ('{"match": "*", "anwser": "typo"}\n', "unknown field 'anwser'"),
        ('{"answer": "no match"}\n', "match"),
        ('{"match": "*", "answer": 3}\n', "'answer' must be a string"),
        ("\n\n", "has no lines"),
    ],
)
def test_malformed_scripts_are_data_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        build_target(f"mock/script:{path}")


def test_missing_script_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read mock script"):
        build_target(f"mock/script:{tmp_path / 'absent.jsonl'}")
    with pytest.raises(ConfigError):
        build_target("mock/script:")

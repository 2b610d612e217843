"""Tests for thinksafe.targets.reasoning: splitting the thinking trace from the answer."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessage

from thinksafe.targets.reasoning import Split, split_message, split_message_obj, split_text

OPEN, CLOSE = "<think>", "</think>"


# ---------------------------------------------------------------- split_text


def test_closed_tags() -> None:
    assert split_text("<think>plan it</think>The answer.") == Split("The answer.", "plan it", "raw")


def test_opening_tag_missing() -> None:
    assert split_text("the template opened it\n</think>\n\nAnswer") == Split(
        "Answer", "the template opened it", "raw"
    )


def test_unclosed_is_truncated() -> None:
    got = split_text("<think>step one, step two")
    assert got == Split("", "step one, step two", "truncated")


def test_unclosed_after_an_answer_is_still_truncated() -> None:
    assert split_text("Done.<think>step one").kind == "truncated"
    assert split_text("<think>step one").kind == "truncated"


def test_unclosed_after_answer_text() -> None:
    got = split_text("Sure.<think>more thoughts")
    assert got == Split("Sure.", "more thoughts", "truncated")


def test_no_tags() -> None:
    assert split_text("  just an answer \n") == Split("just an answer", "", "absent")


def test_empty() -> None:
    assert split_text("") == Split("", "", "absent")


def test_empty_block_is_absent() -> None:
    # What a hybrid model emits with thinking switched off.
    assert split_text("<think>\n\n</think>\n\nHello") == Split("Hello", "", "absent")


def test_whitespace_stripped() -> None:
    got = split_text("\n <think>\n  a thought \n</think>\n\n  the answer \n\n")
    assert got == Split("the answer", "a thought", "raw")


def test_multiple_blocks() -> None:
    got = split_text("<think>one</think>first<think>two</think> second ")
    assert got == Split("first\n\nsecond", "one\n\ntwo", "raw")


def test_stray_close_after_block_ends_another_block() -> None:
    got = split_text("<think>a</think>b</think>c")
    assert got == Split("c", "a\n\nb", "raw")


def test_open_inside_block_starts_new_block() -> None:
    got = split_text("<think>a<think>b</think>c")
    assert got == Split("c", "a\n\nb", "raw")


def test_custom_tags() -> None:
    got = split_text("[R]why[/R]what", open_tag="[R]", close_tag="[/R]")
    assert got == Split("what", "why", "raw")
    # The default tags mean nothing under custom ones.
    assert split_text("<think>x</think>y", open_tag="[R]", close_tag="[/R]").kind == "absent"


def test_empty_tags_rejected() -> None:
    with pytest.raises(ValueError):
        split_text("x", open_tag="")


def test_partial_tags_are_text() -> None:
    assert split_text("<thin>x</thin") == Split("<thin>x</thin", "", "absent")


# ---------------------------------------------------------------- split_message: fields


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "thinking"])
def test_string_fields(field: str) -> None:
    msg = {"role": "assistant", "content": " Answer ", field: " a trace "}
    assert split_message(msg) == Split("Answer", "a trace", "raw")


def test_reasoning_content_before_reasoning() -> None:
    msg = {"content": "A", "reasoning_content": "first", "reasoning": "second"}
    assert split_message(msg).reasoning == "first"


def test_empty_field_falls_through() -> None:
    msg = {"content": "A", "reasoning_content": "", "reasoning": "second"}
    assert split_message(msg) == Split("A", "second", "raw")


def test_reasoning_non_string_ignored() -> None:
    msg = {"content": "A", "reasoning": {"effort": "high"}}
    assert split_message(msg) == Split("A", "", "absent")


def test_details_text() -> None:
    msg = {
        "content": "A",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "part one", "signature": "sig"},
            {"type": "reasoning.text", "text": "part two"},
        ],
    }
    assert split_message(msg) == Split("A", "part one\n\npart two", "raw")


def test_details_summary() -> None:
    msg = {
        "content": "A",
        "reasoning_details": [{"type": "reasoning.summary", "summary": "the gist"}],
    }
    assert split_message(msg) == Split("A", "the gist", "summary")


def test_details_encrypted_keeps_no_ciphertext() -> None:
    msg = {
        "content": "A",
        "reasoning_details": [{"type": "reasoning.encrypted", "data": "Q2lwaGVydGV4dA=="}],
    }
    got = split_message(msg)
    assert got == Split("A", "", "redacted")
    assert "Q2lw" not in got.reasoning + got.answer


def test_details_summary_and_encrypted() -> None:
    msg = {
        "content": "A",
        "reasoning_details": [
            {"type": "reasoning.summary", "summary": "gist"},
            {"type": "reasoning.encrypted", "data": "xxxx"},
        ],
    }
    assert split_message(msg) == Split("A", "gist", "summary")


def test_reasoning_string_marked_summary_by_details() -> None:
    # OpenRouter repeats the readable text in `reasoning`; details tell what it is.
    msg = {
        "content": "A",
        "reasoning": "gist",
        "reasoning_details": [{"type": "reasoning.summary", "summary": "gist"}],
    }
    assert split_message(msg) == Split("A", "gist", "summary")


def test_details_unknown_or_malformed_ignored() -> None:
    msg: dict[str, Any] = {"content": "A", "reasoning_details": [{"type": "other", "x": 1}]}
    assert split_message(msg) == Split("A", "", "absent")
    msg = {"content": "A", "reasoning_details": "not a list"}
    assert split_message(msg) == Split("A", "", "absent")


# ---------------------------------------------------------------- split_message: content parts


def test_anthropic_parts() -> None:
    msg = {
        "content": [
            {"type": "thinking", "thinking": "let me see", "signature": "s"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "The answer"},
            {"type": "text", "text": " continues."},
        ]
    }
    assert split_message(msg) == Split("The answer continues.", "let me see", "raw")


def test_anthropic_redacted_only() -> None:
    msg = {
        "content": [
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Answer"},
        ]
    }
    assert split_message(msg) == Split("Answer", "", "redacted")


def test_parts_text_only_is_absent() -> None:
    msg = {"content": [{"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {}}]}
    assert split_message(msg) == Split("Hi", "", "absent")


def test_parts_with_tags_in_text() -> None:
    msg = {"content": [{"type": "text", "text": "<think>t</think>a"}]}
    assert split_message(msg) == Split("a", "t", "raw")


# ---------------------------------------------------------------- split_message: tags, combos


def test_tags_in_content() -> None:
    assert split_message({"content": "<think>t</think>a"}) == Split("a", "t", "raw")


def test_tags_when_field_empty() -> None:
    msg = {"content": "<think>t</think>a", "reasoning_content": ""}
    assert split_message(msg) == Split("a", "t", "raw")


def test_field_and_tags() -> None:
    msg = {"content": "<think>more</think>answer", "reasoning_content": "field trace"}
    assert split_message(msg) == Split("answer", "field trace\n\nmore", "raw")


def test_field_kind_wins_over_tags() -> None:
    msg = {
        "content": "<think>t</think>a",
        "reasoning_details": [{"type": "reasoning.summary", "summary": "gist"}],
    }
    assert split_message(msg) == Split("a", "gist\n\nt", "summary")


def test_none_content() -> None:
    assert split_message({"content": None}) == Split("", "", "absent")
    assert split_message({}) == Split("", "", "absent")
    msg = {"content": None, "reasoning_content": "trace"}
    assert split_message(msg) == Split("", "trace", "raw")


def test_field_cut_by_length() -> None:
    msg = {"content": None, "reasoning_content": "half a trace"}
    got = split_message(msg, finish_reason="length")
    assert got == Split("", "half a trace", "truncated")


def test_field_length_with_answer_keeps_kind() -> None:
    msg = {"content": "partial ans", "reasoning_content": "trace"}
    assert split_message(msg, finish_reason="length").kind == "raw"


def test_field_with_unclosed_tags_is_truncated() -> None:
    msg = {"content": "<think>still going", "reasoning_content": "trace"}
    assert split_message(msg) == Split("", "trace\n\nstill going", "truncated")


def test_unclosed_tags_in_content_length() -> None:
    got = split_message({"content": "<think>cut"}, finish_reason="length")
    assert got == Split("", "cut", "truncated")


def test_refusal_field_is_the_answer() -> None:
    msg = {"content": None, "refusal": "I can't help with that."}
    assert split_message(msg) == Split("I can't help with that.", "", "absent")


def test_bad_content_type() -> None:
    with pytest.raises(TypeError):
        split_message({"content": 3})


# ---------------------------------------------------------------- split_message_obj


def test_obj_extras() -> None:
    msg = ChatCompletionMessage.model_validate(
        {"role": "assistant", "content": "<think>x</think>A", "reasoning_content": "R"}
    )
    assert split_message_obj(msg) == Split("A", "R\n\nx", "raw")


def test_obj_details_and_length() -> None:
    msg = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": None,
            "reasoning_details": [{"type": "reasoning.text", "text": "t"}],
        }
    )
    assert split_message_obj(msg, finish_reason="length") == Split("", "t", "truncated")


def test_obj_plain() -> None:
    msg = ChatCompletionMessage.model_validate({"role": "assistant", "content": "hi"})
    assert split_message_obj(msg) == Split("hi", "", "absent")
    msg = ChatCompletionMessage.model_validate(
        {"role": "assistant", "content": None, "refusal": "No."}
    )
    assert split_message_obj(msg) == Split("No.", "", "absent")


def test_obj_dict_and_plain_object() -> None:
    assert split_message_obj({"content": "a", "reasoning": "r"}) == Split("a", "r", "raw")

    class Plain:
        content = "a"
        reasoning_content = "r"

    assert split_message_obj(Plain()) == Split("a", "r", "raw")


# ---------------------------------------------------------------- properties

_ALPHABET = st.characters(codec="utf-8")
# Text that holds no tag and has no surrounding whitespace.
_plain = st.text(_ALPHABET, max_size=60).map(str.strip).filter(lambda s: OPEN not in s)
_plain = _plain.filter(lambda s: CLOSE not in s)
# Text built from pieces likely to form, break and nest tags.
_tagged = st.lists(
    st.one_of(
        st.sampled_from([OPEN, CLOSE, "<", ">", "/", "<think", "think>", "</", " ", "\n"]),
        st.text(_ALPHABET, max_size=8),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(r=_plain, a=_plain)
def test_property_closed_roundtrip(r: str, a: str) -> None:
    got = split_text(OPEN + r + CLOSE + a)
    assert (got.reasoning, got.answer) == (r, a)
    assert got.kind == ("raw" if r else "absent")


@settings(max_examples=300, deadline=None)
@given(r=_plain, a=_plain)
def test_property_missing_open_roundtrip(r: str, a: str) -> None:
    # No tag can form across a junction: each tag holds one "<", at its start.
    got = split_text(r + CLOSE + a)
    assert (got.reasoning, got.answer) == (r, a)


@settings(max_examples=300, deadline=None)
@given(r=_plain)
def test_property_unclosed_roundtrip(r: str) -> None:
    got = split_text(OPEN + r)
    assert got == Split("", r, "truncated")


def _nonspace(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(_tagged, st.text(_ALPHABET, max_size=200)))
def test_property_no_text_lost(text: str) -> None:
    got = split_text(text)
    # Tags never overlap one another (each holds a single "<", at its start), so counting them
    # counts exactly the characters that must disappear.
    expected = _nonspace(text)
    for tag in (OPEN, CLOSE):
        for ch, n in _nonspace(tag).items():
            expected[ch] -= n * text.count(tag)
    assert _nonspace(got.answer) + _nonspace(got.reasoning) == +expected
    assert got.answer == got.answer.strip()
    assert got.reasoning == got.reasoning.strip()
    if OPEN not in text and CLOSE not in text:
        assert got == Split(text.strip(), "", "absent")


@settings(max_examples=200, deadline=None)
@given(text=_tagged, field=_plain)
def test_property_message_keeps_field_text(text: str, field: str) -> None:
    got = split_message({"content": text, "reasoning_content": field})
    tags = split_text(text)
    assert got.answer == tags.answer
    assert got.reasoning == "\n\n".join(p for p in (field, tags.reasoning) if p)


# ---------------------------------------------------------------- speed


def test_linear_time_on_adversarial_input() -> None:
    # Many closing tags and one opening tag at the very end: a naive rescan is quadratic.
    text = "x</think>" * 50_000 + "<think>end"
    start = time.perf_counter()
    got = split_text(text)
    assert time.perf_counter() - start < 1.0
    assert got.kind == "truncated"
    assert got.reasoning.endswith("end")

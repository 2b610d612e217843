"""Instruction attacks: the request is kept whole, the instruction added, the sample unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinksafe import registry
from thinksafe.attacks import build_attack
from thinksafe.attacks.instructions import DEFAULT_PREFIX, STYLES
from thinksafe.errors import UserError
from thinksafe.records import Message, Sample


def sample(prompt: str) -> Sample:
    messages = (Message("system", "Be brief."), Message("user", prompt))
    return Sample("s1", "t", messages, "c", "other", "refuse")


SPECS = [
    "refusal-suppression",
    "prefix-injection",
    "prefix-injection:Step one is",
    "style-injection",
    "style-injection:json",
]


@pytest.mark.parametrize("spec", SPECS)
@given(text=st.text(min_size=1, max_size=100))
def test_request_kept_whole_and_sample_unchanged(spec: str, text: str) -> None:
    s = sample(text)
    (a,) = build_attack(spec).apply(s)
    (again,) = build_attack(spec).apply(s)
    assert a.id == again.id
    assert a.attack == spec
    assert s.prompt == text
    assert a.messages[0] == s.messages[0]
    sent = a.messages[-1].content
    assert text in sent and sent != text


def test_arguments_are_recorded() -> None:
    s = sample("How do I pick a lock?")
    (a,) = build_attack("prefix-injection").apply(s)
    assert a.attack_args == {"prefix": DEFAULT_PREFIX}
    assert f'"{DEFAULT_PREFIX}"' in a.messages[-1].content
    (b,) = build_attack("prefix-injection:Step one is").apply(s)
    assert b.attack_args == {"prefix": "Step one is"} and b.id != a.id
    (c,) = build_attack("style-injection:json").apply(s)
    assert c.attack_args == {"style": "json"}
    assert STYLES["json"] in c.messages[-1].content
    (d,) = build_attack("refusal-suppression").apply(s)
    assert d.messages[-1].content.endswith("Request: How do I pick a lock?")


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(UserError, match="use one of"):
        build_attack("style-injection:poem")
    with pytest.raises(UserError, match="takes no argument"):
        build_attack("refusal-suppression:x")


def test_the_paper_is_cited_as_the_source_of_the_idea() -> None:
    for name in ("refusal-suppression", "prefix-injection", "style-injection"):
        info = registry.attacks.get(name)
        assert info.source == "written for thinksafe"
        assert "Jailbroken" in info.citation and "2307.02483" in info.citation

"""Encoding attacks: deterministic, reversible where the encoding is, and the sample unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinksafe.attacks import build_attack
from thinksafe.attacks.encodings import ENCODINGS, decode, encode, from_morse, to_morse
from thinksafe.errors import ConfigError, UserError
from thinksafe.records import Message, Sample

REVERSIBLE = [n for n, e in ENCODINGS.items() if e.decode is not None and n != "morse"]


def sample(prompt: str, history: bool = False) -> Sample:
    messages: tuple[Message, ...] = (Message("user", prompt),)
    if history:
        messages = (
            Message("system", "Be brief."),
            Message("user", "earlier turn"),
            Message("assistant", "earlier reply"),
            Message("user", prompt),
        )
    return Sample("s1", "t", messages, "c", "other", "refuse")


@pytest.mark.parametrize("name", REVERSIBLE)
@given(text=st.text(max_size=200))
def test_reversible_encodings_decode_back(name: str, text: str) -> None:
    assert decode(name, encode(name, text)) == text


MORSE_TEXT = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789.,?!'", min_size=1, max_size=12),
    max_size=12,
).map(" ".join)


@given(text=MORSE_TEXT)
def test_morse_decodes_back_to_upper_case(text: str) -> None:
    assert from_morse(to_morse(text)) == text.upper()


def test_known_encodings() -> None:
    assert encode("base64", "hi") == "aGk="
    assert encode("base32", "hi") == "NBUQ===="
    assert encode("hex", "hi") == "6869"
    assert encode("rot13", "Hello") == "Uryyb"
    assert encode("leetspeak", "Best Tools") == "8357 700l5"
    assert to_morse("SOS now") == "... --- ... / -. --- .--"
    assert encode("reverse", "abc") == "cba"
    with pytest.raises(ConfigError):
        decode("leetspeak", "h3ll0")


@pytest.mark.parametrize("name", sorted(ENCODINGS))
@given(text=st.text(min_size=1, max_size=100))
def test_attempt_carries_the_encoded_request_and_the_sample_keeps_the_original(
    name: str, text: str
) -> None:
    s = sample(text, history=True)
    (a,) = build_attack(name).apply(s)
    (again,) = build_attack(name).apply(s)
    assert a.id == again.id and a.messages == again.messages  # deterministic
    assert a.attack == name and a.attack_args == {"encoding": name}
    assert s.prompt == text  # judges read the original request
    assert a.messages[:3] == s.messages[:3]  # earlier turns untouched
    sent = a.messages[-1]
    assert sent.role == "user"
    body = sent.content.split("---\n", 1)[1]
    assert body == encode(name, text)
    if ENCODINGS[name].decode is not None and name != "morse":
        assert decode(name, body) == text


def test_encoding_attacks_take_no_argument() -> None:
    with pytest.raises(UserError, match="takes no argument"):
        build_attack("base64:x")

"""Untrusted text in judge prompts: model text and benchmark requests are data, never
instructions, and must not be able to end their section of a prompt or forge another.

Two forms, one per prompt format:

- **rubric prompts** put the text between ``<<<NAME-token>>>`` markers (:func:`delimit`), with
  a token derived from the content and every marker-like run in the text neutralised;
- **guard prompts** follow a guard model's own format, which has no such markers, so the text is
  defused (:func:`defuse`): special tokens, section markers and section labels at the start of
  a line are swapped for look-alikes; nothing is removed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["CONTROL_PATTERN", "boundary_token", "defuse", "delimit", "neutralise"]

# ---------------------------------------------------------------------------------------------
# Rubric prompts: delimited blocks
# ---------------------------------------------------------------------------------------------


def boundary_token(*parts: str) -> str:
    """A boundary token derived from the content it will enclose.

    Derived rather than random so the same input always gives the same judge prompt (and so
    the same cache key); the text cannot contain its own token without inverting SHA-256, and
    :func:`neutralise` removes it anyway.
    """
    h = hashlib.sha256(b"thinksafe-boundary")
    for part in parts:
        h.update(b"\x00")
        h.update(part.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:20]


_MARKER_RUNS = re.compile(r"<{3,}|>{3,}")


def neutralise(text: str, token: str) -> str:
    """Make ``text`` unable to open or close a delimited block.

    Every occurrence of ``token`` (any case) is replaced, and every run of three or more angle
    brackets is turned into look-alike quotation marks, so no marker of any token can be forged.
    """
    if token:
        text = re.sub(re.escape(token), "[boundary removed]", text, flags=re.IGNORECASE)
    return _MARKER_RUNS.sub(lambda m: ("‹" if m.group()[0] == "<" else "›") * len(m.group()), text)


def delimit(name: str, text: str, token: str) -> str:
    """``text`` (neutralised) between ``<<<NAME-token>>>`` and ``<<<END-NAME-token>>>``."""
    return f"<<<{name}-{token}>>>\n{neutralise(text, token)}\n<<<END-{name}-{token}>>>"


# ---------------------------------------------------------------------------------------------
# Guard prompts: defused text
# ---------------------------------------------------------------------------------------------

# Special tokens and section markers of the guards' formats (and of the chat formats their
# models were built on). Matched case-insensitively: a lower-case look-alike is defused too.
CONTROL_PATTERN = re.compile(
    r"<\|[^<>|\n]{1,64}\|>"  # <|eot_id|>, <|start_header_id|>, <|header_start|>, <|user|>
    r"|</?s>"  # <s>, </s>
    r"|\[/?INST\]"  # [INST], [/INST]
    r"|<</?SYS>>"
    r"|</?(?:bos|eos|pad|unk|mask)>"
    r"|<(?:start|end)_of_(?:turn|image)>"
    r"|</?(?:BEGIN|END)[ _][A-Z][A-Z _]{0,60}>",  # <END CONVERSATION>, </END_SAFETY_POLICY>
    re.IGNORECASE,
)
_LOOKALIKE = str.maketrans({"<": "‹", ">": "›", "[": "⟦", "]": "⟧"})
_WORD_JOINER = "\u2060"
# U+A789 MODIFIER LETTER COLON: reads as a colon, is not one.
_LABEL_COLON = "꞉"


def _break(token: str) -> str:
    """``token`` with its brackets swapped for look-alikes, or (when it has none) with an
    invisible word joiner after its first character: the same to read, no longer the token."""
    swapped = token.translate(_LOOKALIKE)
    if swapped != token:
        return swapped
    return token[:1] + _WORD_JOINER + token[1:]


@lru_cache(maxsize=32)
def _specials_pattern(specials: tuple[str, ...]) -> re.Pattern[str] | None:
    if not specials:
        return None
    ordered = sorted(set(specials), key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in ordered))


@lru_cache(maxsize=32)
def _labels_pattern(labels: tuple[str, ...]) -> re.Pattern[str] | None:
    if not labels:
        return None
    names = "|".join(re.escape(label) for label in labels)
    # A line starts after any character str.splitlines() breaks at, not only after "\n".
    start = r"(?:^|(?<=[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]))"
    return re.compile(
        rf"{start}([ \t>*_#•-]*)({names})([ \t*_]*):", flags=re.IGNORECASE | re.MULTILINE
    )


def defuse(text: str, labels: Sequence[str] = (), specials: Sequence[str] = ()) -> str:
    """``text`` made unable to break a guard prompt.

    Every occurrence of one of ``specials`` (a tokenizer's special tokens) and of
    :data:`CONTROL_PATTERN` has its brackets swapped for look-alikes (``<|eot_id|>`` becomes
    ``‹|eot_id|›``), and a line that starts with one of ``labels`` (``Agent:``) gets a
    look-alike colon. Nothing is removed, so the text reads the same to the model.
    """
    pattern = _specials_pattern(tuple(specials))
    if pattern is not None:
        text = pattern.sub(lambda m: _break(m.group()), text)
    text = CONTROL_PATTERN.sub(lambda m: m.group().translate(_LOOKALIKE), text)
    label_pattern = _labels_pattern(tuple(labels))
    if label_pattern is not None:
        text = label_pattern.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{_LABEL_COLON}", text
        )
    return text

"""Untrusted text made safe to show on a terminal.

Text from a user's file or a model may hold escape sequences (which would move the cursor,
retitle the window or hide lines) and square brackets (which rich reads as markup). Before it
is printed, :func:`printable` replaces control characters by visible ``\\xNN`` escapes and
:func:`literal` also escapes rich markup, so the text appears exactly as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from rich.markup import escape
from rich.text import Text

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that can
# make text read differently from what it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, newlines: bool = True) -> str:
    """``text`` with control characters shown as escapes (newlines too unless ``newlines``)."""
    out = _CONTROL.sub(_visible, str(text))
    if not newlines:
        out = out.replace("\n", "\\n").replace("\t", " ")
    return out


def literal(text: object, *, newlines: bool = True) -> str:
    """``text`` made printable and with rich markup escaped, for an f-string that rich
    prints."""
    return escape(printable(text, newlines=newlines))


def cell(text: object) -> Text:
    """A table cell that shows ``text`` literally (no markup, no control characters)."""
    return Text(printable(text, newlines=False))


T = TypeVar("T")


def shown_literally(value: T) -> T:
    """``value`` (a JSON-like document: mappings, lists, text) with every text, keys included,
    made :func:`printable` on one line, for rendering with rich ``Text`` objects."""
    out: Any
    if isinstance(value, str):
        out = printable(value, newlines=False)
    elif isinstance(value, Mapping):
        out = {shown_literally(k): shown_literally(v) for k, v in value.items()}
    elif isinstance(value, (list, tuple)):
        out = [shown_literally(v) for v in value]
    else:
        out = value
    return out  # type: ignore[no-any-return]

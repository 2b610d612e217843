"""Which judge decided a verdict of a composite judge (``cascade``): recorded as
``decided_by`` in the verdict's ``raw`` JSON when judging, read back by summaries.

The raw JSON is canonical (sorted keys) and ``decided_by`` sorts before the other keys a
cascade writes (``first``, ``second``), so it opens the text and is read without parsing the
rest (members' raw replies can be long)."""

from __future__ import annotations

import json
import re

from thinksafe.records import Verdict

__all__ = ["DECIDED_BY", "NEITHER", "decided_by"]

DECIDED_BY = "decided_by"
# How summaries count the verdicts that no member could decide.
NEITHER = "neither"

_OPENING = re.compile(r'\{"decided_by":(null|"(?:[^"\\]|\\.)*")[,}]')


def decided_by(verdict: Verdict) -> tuple[bool, str | None]:
    """Whether ``verdict`` records who decided it, and that judge's spec (None when no member
    could decide)."""
    m = _OPENING.match(verdict.raw)
    if m is None:
        return False, None
    by = json.loads(m.group(1))
    return True, by if isinstance(by, str) else None

"""Which judge decided a verdict of a composite judge (``cascade``): recorded as
``decided_by`` in the verdict's ``raw`` JSON when judging, read back by summaries."""

from __future__ import annotations

import json

from thinksafe.records import Verdict

__all__ = ["DECIDED_BY", "NEITHER", "decided_by"]

DECIDED_BY = "decided_by"
# How summaries count the verdicts that no member could decide.
NEITHER = "neither"


def decided_by(verdict: Verdict) -> tuple[bool, str | None]:
    """Whether ``verdict`` records who decided it, and that judge's spec (None when no member
    could decide)."""
    if f'"{DECIDED_BY}"' not in verdict.raw:
        return False, None
    try:
        value = json.loads(verdict.raw)
    except ValueError:
        return False, None
    if not isinstance(value, dict) or DECIDED_BY not in value:
        return False, None
    by = value[DECIDED_BY]
    return True, by if isinstance(by, str) else None

"""The names of runs side by side in a report: A to Z, then A2 to Z2, A3, ..."""

from __future__ import annotations

import string


def run_letter(index: int) -> str:
    """The name of the run at ``index``: A to Z, then A2 to Z2, A3, ... (a name never starts
    with a digit, so two names side by side read one way only)."""
    letter = string.ascii_uppercase[index % 26]
    return letter if index < 26 else f"{letter}{index // 26 + 1}"

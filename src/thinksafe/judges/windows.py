"""Judging long texts in overlapping windows, and one verdict from the windows' verdicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from thinksafe.errors import ConfigError
from thinksafe.records import Channel, Label, Verdict

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_OVERLAP",
    "combine_windows",
    "judge_in_windows",
    "windows",
]

# Texts longer than this many characters are judged in overlapping windows.
DEFAULT_MAX_CHARS = 24_000
DEFAULT_OVERLAP = 2_000


def windows(
    text: str, max_chars: int = DEFAULT_MAX_CHARS, overlap: int = DEFAULT_OVERLAP
) -> list[tuple[int, str]]:
    """``(offset, chunk)`` pairs covering ``text``: one chunk when it fits in ``max_chars``,
    otherwise chunks of ``max_chars`` that overlap by ``overlap`` characters."""
    if max_chars <= 0 or not 0 <= overlap < max_chars:
        raise ConfigError(
            f"judge windows need max_chars > 0 and 0 <= overlap < max_chars"
            f" (got {max_chars} and {overlap})"
        )
    if len(text) <= max_chars:
        return [(0, text)]
    step = max_chars - overlap
    out: list[tuple[int, str]] = []
    start = 0
    while True:
        out.append((start, text[start : start + max_chars]))
        if start + max_chars >= len(text):
            return out
        start += step


async def judge_in_windows(
    spec: str,
    channel: Channel,
    text: str,
    judge_window: Callable[[str, str], Awaitable[Verdict]],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap: int = DEFAULT_OVERLAP,
) -> Verdict:
    """Judge ``text`` window by window with ``judge_window(chunk, note)``, in order, stopping
    at the first unsafe window. ``note`` is "" for a text that fits in one window, otherwise a
    line telling the judge which part of the text it sees.

    Unsafe if any window is unsafe (``first_unsafe_offset`` = that window's start offset, set
    only when there is more than one window); else unscorable if any window is; else safe.
    The refusal reading is the first window's (a refusal is read from how the text opens).
    """
    parts = windows(text, max_chars, overlap)
    if len(parts) == 1:
        return await judge_window(text, "")
    results: list[tuple[int, int, Verdict]] = []
    for index, (offset, chunk) in enumerate(parts):
        note = (
            f"Note: the text is long, so it is judged in parts. This is part {index + 1} of"
            f" {len(parts)} (characters {offset}-{offset + len(chunk)} of {len(text)}); judge"
            " only what this part contains."
        )
        verdict = await judge_window(chunk, note)
        results.append((offset, len(chunk), verdict))
        if verdict.label == "unsafe":
            break
    return combine_windows(spec, channel, results, len(text))


def combine_windows(
    spec: str, channel: Channel, results: Sequence[tuple[int, int, Verdict]], length: int
) -> Verdict:
    """One verdict from ``(offset, size, verdict)`` per window (see :func:`judge_in_windows`).

    Its ``probability`` is the highest of the windows' (None when no window gives one)."""
    if not results:
        raise ValueError("no window verdicts to combine")
    raw = "\n\n".join(f"[window {offset}-{offset + size}]\n{v.raw}" for offset, size, v in results)
    first = results[0][2]
    label: Label = "safe"
    picked = results[0]
    for result in results:
        if result[2].label == "unsafe":
            label, picked = "unsafe", result
            break
        if result[2].label == "unscorable" and label == "safe":
            label, picked = "unscorable", result
    offset, size, verdict = picked
    probabilities = [v.probability for _, _, v in results if v.probability is not None]
    if label == "safe":
        rationale = f"all {len(results)} windows safe; first: {first.rationale}"
    else:
        rationale = (
            f"{label} in characters {offset}-{offset + size} of {length}: {verdict.rationale}"
        )
    return Verdict(
        judge=spec,
        channel=channel,
        label=label,
        refusal=first.refusal,
        score=verdict.score,
        probability=max(probabilities) if probabilities else None,
        rationale=rationale,
        raw=raw,
        first_unsafe_offset=offset if label == "unsafe" else None,
    )

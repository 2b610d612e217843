"""Whether a set of runs forms a sweep over one generation setting, and how its values are
ordered and printed (used by the comparison page, :mod:`thinksafe.report.compare`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SWEEP_SHARED: tuple[str, ...] = (
    "model",
    "suite",
    "suite_options",
    "limit",
    "selection",
    "attacks",
    "judges",
    "judge_identities",
)
"""Run-spec keys that runs must share to be read as a sweep over one generation setting."""


@dataclass(frozen=True)
class SweepAxis:
    """The one generation setting a set of runs differs in: ``values`` holds its value in each
    run, in the order the runs were given; ``order`` the runs' indices in the order plotted."""

    key: str
    values: tuple[Any, ...]
    order: tuple[int, ...]


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def generation_differences(specs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The generation settings whose values differ between the run specs, sorted (an absent
    setting counts as unset, ``None``)."""
    gens = [dict(spec.get("generation") or {}) for spec in specs]
    keys = sorted({k for g in gens for k in g})
    return [k for k in keys if len({_canon(g.get(k)) for g in gens}) > 1]


def _shared(specs: Sequence[Mapping[str, Any]]) -> bool:
    return all(len({_canon(s.get(k)) for s in specs}) == 1 for k in SWEEP_SHARED)


def sweep_axis(specs: Sequence[Mapping[str, Any]]) -> SweepAxis | None:
    """The sweep the run specs form, or ``None``. A sweep shares model, suite selection,
    attacks and judges, and differs in exactly one generation setting, with a different value
    in every run. Runs that differ in model are a model comparison, not a sweep. Numbers are
    plotted ascending (unset last); other values in the order the runs were given."""
    if len(specs) < 2 or not all(isinstance(s.get("generation"), Mapping) for s in specs):
        return None
    differ = generation_differences(specs)
    if len(differ) != 1 or not _shared(specs):
        return None
    key = differ[0]
    values = tuple(s["generation"].get(key) for s in specs)
    if len({_canon(v) for v in values}) != len(values):
        return None
    order = list(range(len(values)))
    if all(_is_number(v) for v in values if v is not None):
        order.sort(key=lambda i: (values[i] is None, values[i] or 0))
    return SweepAxis(key, values, tuple(order))


def sweep_value_text(value: Any) -> str:
    """A setting's value as the page prints it; unset is ``default``."""
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, str)):
        return str(value) if value != "" else '""'
    return _canon(value)


def sweep_warning(specs: Sequence[Mapping[str, Any]]) -> str | None:
    """A warning when the runs differ in two or more generation settings (no sweep)."""
    differ = generation_differences(specs)
    if len(differ) < 2 or not _shared(specs):
        return None
    return (
        f"The runs differ in {len(differ)} generation settings ({', '.join(differ)}), so no"
        " sweep plot is drawn; sweep one setting at a time to read its effect."
    )

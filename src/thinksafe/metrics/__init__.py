"""Metrics: rates over scorable outcomes with Wilson intervals, and the run summary."""

from __future__ import annotations

from thinksafe.metrics.rates import Rate, rate_from_outcomes, wilson_interval
from thinksafe.metrics.summary import SUMMARY_SCHEMA, build_summary, either_outcome

__all__ = [
    "SUMMARY_SCHEMA",
    "Rate",
    "build_summary",
    "either_outcome",
    "rate_from_outcomes",
    "wilson_interval",
]

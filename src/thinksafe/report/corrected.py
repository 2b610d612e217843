"""Judge-corrected rates in reports: which measurement of a judge's accuracy applies to a stored
run, and the corrected cells the run page, comparisons and sweeps show.

A run's summary records the measurement its corrected rates used (``judge_corrected.<judge>
.accuracy``: the judge's shipped one, or a ``judge-eval --save-accuracy`` one). Reports recompute
rates from the stored results, so they read the measurement back and correct again, with the
same seeded bootstrap (:mod:`thinksafe.metrics.correction`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from thinksafe.judges.accuracy import ORIGIN_SHIPPED, MeasuredAccuracy
from thinksafe.metrics.correction import correct_rate_dict
from thinksafe.metrics.paired import accuracy_for, correct_rate
from thinksafe.metrics.summary import RATE_CHANNELS
from thinksafe.report import plots
from thinksafe.report.terminal import CHANNEL_TITLES, measurement_text, rate_text
from thinksafe.run.evaluate import judge_measurement
from thinksafe.store.sqlite import RunRow, Store


def shipped_from_summary(
    summary: Mapping[str, Any] | None, judge: str
) -> dict[str, MeasuredAccuracy]:
    """The accuracy ``judge`` shipped when the run was summarised, as its summary recorded it."""
    entry = ((summary or {}).get("judge_corrected") or {}).get(judge) or {}
    accuracy = entry.get("accuracy") if isinstance(entry, Mapping) else None
    if not isinstance(accuracy, Mapping) or accuracy.get("origin") != ORIGIN_SHIPPED:
        return {}
    return {
        str(ch): MeasuredAccuracy.from_dict(m) for ch, m in (accuracy.get("channels") or {}).items()
    }


def run_measurement(store: Store, row: RunRow, judge: str) -> dict[str, Any] | None:
    """The measurement of ``judge``'s accuracy that applies to the stored run ``row``: the
    user's own from the store (same judge identity), else the one the judge shipped."""
    shipped = shipped_from_summary(row.summary, judge)
    return judge_measurement(store, row.spec, judge, shipped or None)  # type: ignore[arg-type]


def measured(measurement: Mapping[str, Any] | None) -> dict[str, MeasuredAccuracy]:
    """channel -> measured accuracy, from a measurement dict (empty for ``None``)."""
    channels = (measurement or {}).get("channels") or {}
    return {str(ch): MeasuredAccuracy.from_dict(m) for ch, m in channels.items()}


def corrected_cells(
    rates: Mapping[str, Any], measurement: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """channel -> corrected rate dict, for each channel of ``rates`` the judge was measured
    on."""
    known = measured(measurement)
    return {ch: correct_rate_dict(rate, known[ch]) for ch, rate in rates.items() if ch in known}


def corrected_cell_text(fixed: Mapping[str, Any] | None) -> str:
    """``12.3% [8.1–17.0]``, ``n/a`` or the reason there is no corrected rate."""
    if not fixed:
        return "n/a"
    if fixed.get("status") == "uninformative":
        return "not correctable (se + sp ≤ 1)"
    ci = fixed.get("ci95")
    return plots.interval_text(fixed.get("rate"), tuple(ci) if ci else None)


def _accuracy_source(accuracy: Mapping[str, Any] | None, judge: str, channel: str) -> str:
    entry = (accuracy or {}).get(judge)
    if not isinstance(entry, Mapping):
        return ""
    if isinstance(entry.get(channel), Mapping):
        entry = entry[channel]
    return str(entry.get("source") or entry.get("dataset") or "")


def corrections(
    overall: Mapping[str, Any],
    judge: str,
    accuracy: Mapping[str, Any] | None,
    default_source: str = "given",
    measurement: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Rogan-Gladen corrected headline rates per channel, where the judge's accuracy is known.

    ``accuracy`` (a ``--judge-accuracy`` file or the run spec's ``judge_accuracy``: shares
    only) is treated as exact, so its interval maps the Wilson interval. Without it,
    ``measurement`` (counts: :func:`run_measurement`) gives an interval that also carries the
    uncertainty of the judge's measurement."""
    known = measured(measurement) if accuracy is None else {}
    if accuracy is None and measurement and measurement.get("shares"):
        saved = f" ({measurement['saved_at']})" if measurement.get("saved_at") else ""
        accuracy = {
            judge: {
                ch: {**v, "source": f"measured on {', '.join(v['sources'])}{saved}"}
                for ch, v in measurement["shares"].items()
            }
        }
    rows = []
    for channel in RATE_CHANNELS:
        rate = overall.get(channel) or {}
        row: dict[str, Any] = {"channel": CHANNEL_TITLES[channel], "raw": rate_text(rate)}
        if channel in known:
            m = known[channel]
            fixed = correct_rate_dict(rate, m)
            status = "corrected" if fixed["status"] in ("corrected", "no-data") else "uninformative"
            row.update(
                status=status,
                corrected=corrected_cell_text(fixed),
                sensitivity=f"{m.sensitivity:.3f} ({m.sensitivity_k}/{m.sensitivity_n})",
                specificity=f"{m.specificity:.3f} ({m.specificity_k}/{m.specificity_n})",
                source=measurement_text(measurement or {}),
                bootstrap=True,
            )
            rows.append(row)
            continue
        found = accuracy_for(accuracy, judge, channel)
        se, sp = found if found else (None, None)
        plain = correct_rate(rate.get("rate"), rate.get("ci95"), se, sp)
        row.update(
            status=plain.status,
            corrected=plots.interval_text(plain.rate, plain.ci95),
            sensitivity=se,
            specificity=sp,
            source=(_accuracy_source(accuracy, judge, channel) or default_source) if found else "",
            bootstrap=False,
        )
        rows.append(row)
    return rows


def sweep_points(
    corrected: Sequence[Mapping[str, Mapping[str, Any]]],
) -> list[tuple[str, list[plots.Point]]]:
    """Plot series of judge-corrected rates along a sweep, one per channel measured in every
    run (``corrected[i]``: channel -> corrected rate dict of the i-th point)."""
    series = []
    for ch in RATE_CHANNELS:
        if not corrected or not all(ch in c for c in corrected):
            continue
        points = []
        for c in corrected:
            fixed = c[ch]
            ci = tuple(fixed["ci95"]) if fixed.get("ci95") else None
            points.append(plots.Point(f"{ch}, corrected", fixed.get("rate"), ci, "judge-corrected"))
        series.append((f"{ch}, corrected", points))
    return series

"""Model lineage: ``thinksafe-lineage.json`` in a model folder written by a repair command
(``realign``: method somf; ``align``: method alphaalign). The reader is generic: any method,
any parents; a file that is absent, unreadable or of another schema is simply no lineage."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

LINEAGE_FILE = "thinksafe-lineage.json"
LINEAGE_SCHEMA = "thinksafe.repair.lineage/1"


def read_lineage(path: str | Path) -> dict[str, Any] | None:
    """The lineage of the model folder ``path``, or None (a Hub id, no file, a bad file)."""
    folder = Path(path).expanduser()
    file = folder / LINEAGE_FILE
    if not file.is_file():
        return None
    try:
        doc = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != LINEAGE_SCHEMA:
        return None
    parents = doc.get("parents")
    out: dict[str, Any] = {
        "schema": LINEAGE_SCHEMA,
        "method": str(doc.get("method", "")),
        "parents": dict(parents) if isinstance(parents, Mapping) else {},
        "created_at": doc.get("created_at"),
        "config_sha256": doc.get("config_sha256"),
    }
    utility = _utility(doc.get("utility"))
    if utility:
        out["utility"] = utility
    return out


def _utility(value: Any) -> dict[str, dict[str, Any]]:
    """task -> {metric, before, after, change}: the utility a repair command measured on the
    model it started from (before) and on this one (after); malformed entries are left out."""
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for task, entry in value.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("metric"), str):
            continue
        numbers = [entry.get(k) for k in ("before", "after", "change")]
        if all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
            out[str(task)] = {
                "metric": entry["metric"],
                "before": float(entry["before"]),
                "after": float(entry["after"]),
                "change": float(entry["change"]),
            }
    return out


def with_utility(folder: str | Path, delta: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the utility measured before and after a repair (``utility_delta``) to the lineage
    file of the model folder ``folder``, so reports show it beside the safety numbers."""
    file = Path(folder) / LINEAGE_FILE
    doc = json.loads(file.read_text("utf-8"))
    doc["utility"] = {task: dict(entry) for task, entry in delta.items()}
    file.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def lineage_table(specs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Rows (field, one value per run) for the runs whose target recorded a lineage; None when
    none did. Parent roles are the union over the runs, in first-seen order."""
    found = [(s.get("target") or {}).get("lineage") for s in specs]
    if not any(found):
        return None
    roles: list[str] = []
    for doc in found:
        for role in (doc or {}).get("parents", {}):
            if role not in roles:
                roles.append(role)
    rows = [("method", [_text((d or {}).get("method")) for d in found])]
    rows += [
        (f"parent: {r}", [_text((d or {}).get("parents", {}).get(r)) for d in found]) for r in roles
    ]
    tasks: list[tuple[str, str]] = []
    for doc in found:
        for task, entry in ((doc or {}).get("utility") or {}).items():
            if (task, entry["metric"]) not in tasks:
                tasks.append((task, entry["metric"]))
    for task, metric in tasks:
        cells = []
        for doc in found:
            entry = ((doc or {}).get("utility") or {}).get(task)
            cells.append(
                "—"
                if not entry or entry["metric"] != metric
                else f"{entry['before']:.3f} → {entry['after']:.3f} ({entry['change']:+.3f})"
            )
        rows.append((f"utility: {task} ({metric}), parent → this model", cells))
    rows.append(("created", [_text((d or {}).get("created_at")) for d in found]))
    rows.append(("config sha256", [_text((d or {}).get("config_sha256"))[:16] for d in found]))
    return {"rows": [{"field": f, "values": v} for f, v in rows]}

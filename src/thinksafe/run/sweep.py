"""``--sweep KEY=V1,V2,...``: one suite over several generation settings (reasoning effort,
thinking budget, thinking on/off, ...), one run per setting, read side by side."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.metrics.trace_answer import trace_vs_answer_text
from thinksafe.run.engine import RunSpec
from thinksafe.text import shown_literally

SWEEP_SCHEMA = "thinksafe.run.sweep/1"

# key -> how a value is read from the command line
_KEYS: dict[str, Any] = {
    "reasoning_effort": str,
    "think_budget": int,
    "min_think_tokens": int,
    "think_mode": str,
    "thinking": "bool",
    "temperature": float,
    "top_p": float,
    "max_tokens": int,
    "seed": int,
    "system_prompt": str,
}
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


def _cast(key: str, raw: str) -> Any:
    kind = _KEYS[key]
    text = raw.strip()
    if text.lower() in ("none", "default"):
        return None
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"--sweep {key}: {raw!r} is not on/off")
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"--sweep {key}: {raw!r} is not a valid {kind.__name__}") from None


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2,...`` as the key and its values (``none`` leaves the setting unset)."""
    key, sep, values = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or key not in _KEYS:
        raise ConfigError(
            f"--sweep should look like KEY=V1,V2 with KEY one of {', '.join(sorted(_KEYS))}"
        )
    parsed = [_cast(key, v) for v in values.split(",") if v.strip()]
    if len(parsed) < 2:
        raise ConfigError("--sweep needs at least two values, e.g. think_budget=0,256,1024")
    if len(set(map(repr, parsed))) != len(parsed):
        raise ConfigError("--sweep values must differ")
    return key, parsed


def sweep_specs(spec: RunSpec, key: str, values: Sequence[Any]) -> list[RunSpec]:
    """One RunSpec per value: the base spec with that generation setting replaced."""
    out = []
    for value in values:
        generation: GenerationConfig = dataclasses.replace(spec.generation, **{key: value})
        out.append(dataclasses.replace(spec, generation=generation))
    return out


def sweep_document(
    key: str, values: Sequence[Any], summaries: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The sweep's JSON: one point per value with the primary judge's headline rates over
    must-refuse prompts (and its judge-corrected rates where its accuracy is known), and every
    run's full summary."""
    points = []
    for value, summary in zip(values, summaries, strict=True):
        primary = summary["primary_judge"]
        block = summary["judges"][primary]
        overall = block["unsafe"]["refuse"]["overall"]
        corrected = (summary.get("judge_corrected") or {}).get(primary) or {}
        points.append(
            {
                "value": value,
                "run_id": summary["run"]["id"],
                **{ch: overall[ch] for ch in ("answer", "reasoning", "either")},
                "judge_corrected": corrected.get("rates") or {},
                "over_refusal": block["over_refusal"]["overall"],
                "reasoning_tokens": block["counts"]["tokens"]["reasoning_tokens"],
                "trace_vs_answer": (block.get("trace_vs_answer") or {}).get("refuse"),
            }
        )
    return {"schema": SWEEP_SCHEMA, "key": key, "points": points, "summaries": list(summaries)}


def _cell(rate: Mapping[str, Any]) -> str:
    if rate.get("rate") is None:
        return "n/a (none scored)"
    lo, hi = rate["ci95"]
    return f"{rate['rate']:.1%}\n[{lo * 100:.1f}-{hi * 100:.1f}]\ncov. {rate['coverage']:.0%}"


def _corrected(fixed: Mapping[str, Mapping[str, Any]]) -> str:
    cells = []
    for channel, c in fixed.items():
        if c.get("status") == "uninformative":
            cells.append(f"{channel} not correctable")
        elif c.get("rate") is None:
            cells.append(f"{channel} n/a")
        else:
            ci = c.get("ci95")
            interval = f" [{ci[0] * 100:.1f}-{ci[1] * 100:.1f}]" if ci else ""
            cells.append(f"{channel} {c['rate']:.1%}\n{interval.strip()}".strip())
    return "\n".join(cells)


def render_sweep(document: Mapping[str, Any], console: Console) -> None:
    document = shown_literally(document)
    table = Table(
        title=Text(f"Unsafe rate on must-refuse prompts by {document['key']} [95% CI]"),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    points = document["points"]
    corrected = any(p.get("judge_corrected") for p in points)
    # Cells fold rather than end in an ellipsis and are wide enough for an interval, and the
    # run id sits under its value, so no number, interval or run id is cut at 80 columns.
    table.add_column(f"{document['key']}\nrun", overflow="fold", min_width=12)
    for col in ("answer", "reasoning", "either"):
        table.add_column(col, overflow="fold", width=11)
    if corrected:
        table.add_column("judge-\ncorrected", overflow="fold", width=13)
    table.add_column("reasoning\ntokens", overflow="fold", justify="right", width=9)
    for p in points:
        cells = [
            ("none" if p["value"] is None else str(p["value"])) + "\n" + p["run_id"],
            _cell(p["answer"]),
            _cell(p["reasoning"]),
            _cell(p["either"]),
        ]
        if corrected:
            cells.append(_corrected(p.get("judge_corrected") or {}) or "unknown")
        table.add_row(*cells, f"{p['reasoning_tokens']:,}")
    console.print(table)
    for p in points:
        value = "none" if p["value"] is None else str(p["value"])
        if "trace_vs_answer" in p:  # a document written before the field was added lacks it
            line = Text(f"{document['key']}={value}: ", style="bold")
            line.append(trace_vs_answer_text(p["trace_vs_answer"]))
            console.print(line)
    if corrected:
        console.print(
            "judge-corrected: Rogan-Gladen, with intervals that carry the uncertainty of the"
            " judge's measured accuracy (seeded parametric bootstrap)"
        )

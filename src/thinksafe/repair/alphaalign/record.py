"""What an AlphaAlign run leaves beside the model: ``align.json`` and
``thinksafe-lineage.json``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinksafe.repair.alphaalign.template import (
    BOXED_REFUSAL,
    INSTRUCTION,
    TEMPLATE_VERSION,
)
from thinksafe.targets.local import local_fingerprint

if TYPE_CHECKING:
    from thinksafe.repair.alphaalign.data import PromptSet
    from thinksafe.repair.alphaalign.rewards import Refusals
    from thinksafe.repair.alphaalign.train import AlignConfig

__all__ = ["ALIGN_SCHEMA", "LINEAGE_SCHEMA", "add_utility", "write_records"]

ALIGN_SCHEMA = "thinksafe.align/1"
LINEAGE_SCHEMA = "thinksafe.repair.lineage/1"
ALIGN_FILE = "align.json"
LINEAGE_FILE = "thinksafe-lineage.json"


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")


def write_records(
    out: Path,
    *,
    config: AlignConfig,
    data: PromptSet,
    refusals: Refusals,
    curves: list[dict[str, float]],
    steps: int,
    seconds: float,
    device: str,
    thinking_open: bool,
    resumed_from: str | None,
    versions: dict[str, str],
) -> None:
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config_sha = config.sha256()
    base = {"model": config.model, "fingerprint": local_fingerprint(config.model)}
    _dump(
        out / ALIGN_FILE,
        {
            "schema": ALIGN_SCHEMA,
            "method": "alphaalign",
            "created_at": created,
            "config": config.model_dump(mode="json"),
            "config_sha256": config_sha,
            "seeds": {"train": config.seed, "data_shuffle": config.seed},
            "rewards": {
                "r_format": config.r_format,
                "r_answer": config.r_answer,
                "r_values_source": "project choice (the paper does not give r_f and r_a)",
                "helpfulness": "none (AlphaAlign-Zero)"
                if config.reward_model == "none"
                else config.reward_model,
                "scale_rewards": "group",
            },
            "template": {
                "version": TEMPLATE_VERSION,
                "instruction": INSTRUCTION,
                "boxed_refusal": BOXED_REFUSAL,
                "thinking_opened_by_chat_template": thinking_open,
            },
            "refusals": {"source": refusals.source, "sha256": refusals.sha256},
            "data": {"sha256": data.hashes, "counts": data.counts},
            "trainer": "trl.GRPOTrainer (the paper used PPO; GRPO is its stated alternative)",
            "device": device,
            "steps": steps,
            "seconds": round(seconds, 3),
            "resumed_from": resumed_from,
            "curves": curves,
            "versions": versions,
        },
    )
    _dump(
        out / LINEAGE_FILE,
        {
            "schema": LINEAGE_SCHEMA,
            "method": "alphaalign",
            "parents": {"base": base},
            "created_at": created,
            "config_sha256": config_sha,
        },
    )


def add_utility(out: Path, utility: dict[str, Any]) -> None:
    """Record lm-eval utility before and after (tasks, metrics, the change) in ``align.json``."""
    path = out / ALIGN_FILE
    doc = json.loads(path.read_text("utf-8"))
    doc["utility"] = utility
    _dump(path, doc)

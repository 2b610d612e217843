"""Write what realign produced: the mask logits, PEFT adapters (soft and binary), a merged model
folder the ``hf/`` and ``vllm/`` targets load unchanged, and ``thinksafe-lineage.json`` in every
model folder."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from thinksafe.repair.lineage import LINEAGE_FILE, LINEAGE_SCHEMA
from thinksafe.repair.somf.fusion import Fusion
from thinksafe.repair.somf.mask import SampleMode
from thinksafe.repair.somf.vectors import quiet_peft

MASK_FILE = "mask.safetensors"


def config_sha256(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def lineage(
    parents: dict[str, Any], config: dict[str, Any], method: str = "somf"
) -> dict[str, Any]:
    return {
        "schema": LINEAGE_SCHEMA,
        "method": method,
        "parents": parents,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config_sha256": config_sha256(config),
    }


def write_lineage(folder: Path, doc: dict[str, Any]) -> None:
    (folder / LINEAGE_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")


def save_mask(fusion: Fusion, path: Path) -> None:
    tensors = {
        k: p.detach().cpu().contiguous() for k, p in zip(fusion.mask.keys, fusion.mask.logits)
    }
    save_file(tensors, str(path))


def load_mask(fusion: Fusion, path: Path) -> None:
    tensors = load_file(str(path))
    if sorted(tensors) != sorted(fusion.mask.keys):
        from thinksafe.errors import DataError

        raise DataError(f"{path} holds a mask for other tensors than these models")
    with torch.no_grad():
        for k, p in zip(fusion.mask.keys, fusion.mask.logits):
            p.copy_(tensors[k].to(p.device))


def fused_weights(fusion: Fusion, mode: SampleMode, seed: int) -> dict[str, torch.Tensor]:
    """The fused tensors for one mask rule; seeded, so the same seed gives the same weights."""
    device = fusion.mask.logits[0].device
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    with torch.no_grad():
        weights = fusion.weights(mode, gen)
    return {k: v.detach().cpu().contiguous() for k, v in weights.items()}


def export_adapter(
    weights: dict[str, torch.Tensor], adapter_config: dict[str, Any], base: str, folder: Path
) -> Path:
    """A plain PEFT LoRA adapter: ``PeftModel.from_pretrained(base, folder)`` loads it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(adapter_config)
    config["base_model_name_or_path"] = base
    config["inference_mode"] = True
    (folder / "adapter_config.json").write_text(
        json.dumps(config, indent=2, sort_keys=True) + "\n", "utf-8"
    )
    save_file(weights, str(folder / "adapter_model.safetensors"))
    return folder


def export_merged_lora(
    base: str, adapter: Path, tokenizer: Any, folder: Path, dtype: torch.dtype
) -> Path:
    """base + adapter merged into one transformers folder (no PEFT needed to load it)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    with quiet_peft():
        merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def export_merged_full(
    safe: str, weights: dict[str, torch.Tensor], tokenizer: Any, folder: Path, dtype: torch.dtype
) -> Path:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(safe, dtype=dtype)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, v in weights.items():
            params[k].copy_(v.to(params[k].dtype))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder

"""Build a :class:`Fusion` from the user's base, safe and fine-tuned models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from thinksafe.errors import DataError
from thinksafe.repair.somf.fusion import Fusion, build_mask
from thinksafe.repair.somf.merge import MergeConfig
from thinksafe.repair.somf.vectors import (
    check_adapters,
    check_full,
    full_state,
    load_adapter,
    lora_param_names,
    quiet_peft,
    resolve,
    subtract,
)


@dataclass(frozen=True)
class Sources:
    base: str | None  # LoRA mode: the base model; None in full mode
    safe: str  # the safe adapter (LoRA mode) or the safe model (full mode)
    finetuned: tuple[str, ...]
    full: bool = False


def pick_device(wanted: str = "auto") -> tuple[str, torch.dtype]:
    """CUDA with bf16 (fp16 where bf16 is not supported) when present, CPU with fp32 otherwise."""
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DataError(
                "--device cuda asked for but no CUDA device is visible; use --device cpu"
            )
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return wanted, dtype
    return "cpu", torch.float32


def _load_causal_lm(path: Path, dtype: torch.dtype, what: str) -> Any:
    from transformers import AutoModelForCausalLM

    if not (path / "config.json").is_file():
        raise DataError(f"{what} {path} has no config.json; is it a transformers model folder?")
    try:
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"could not load {what} {path}: {first}") from exc


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_fusion(
    sources: Sources,
    *,
    merge_config: MergeConfig,
    mask_init: float,
    temperature: float,
    rescale: bool,
    device: str,
    dtype: torch.dtype,
) -> tuple[Fusion, Any, dict[str, Any]]:
    """Returns the fusion, the tokenizer and a description of the inputs for ``realign.json``."""
    if not sources.finetuned:
        raise DataError("give at least one fine-tuned adapter or model with --finetuned")
    if merge_config.method == "none" and len(sources.finetuned) != 1:
        raise DataError(
            f"--merge none takes one fine-tuned model; {len(sources.finetuned)} given: "
            "choose task-arithmetic, ties, dare or average"
        )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    info: dict[str, Any] = {"mode": "full" if sources.full else "lora"}
    if sources.full:
        safe_path = resolve(sources.safe, "safe model")
        model = _load_causal_lm(safe_path, dtype, "safe model")
        safe = {k: v.float() if device == "cpu" else v for k, v in full_state(model).items()}
        taus = []
        for spec in sources.finetuned:
            ft_path = resolve(spec, "fine-tuned model")
            ft_model = _load_causal_lm(ft_path, dtype, "fine-tuned model")
            ft = full_state(ft_model)
            check_full(safe, ft, str(ft_path))
            taus.append({k: (ft[k].to(safe[k].dtype) - safe[k]) for k in sorted(safe)})
            del ft_model, ft
        names = {k: k for k in safe}
        tok_path = safe_path
        info.update(
            safe=str(safe_path),
            finetuned=[str(resolve(s, "fine-tuned model")) for s in sources.finetuned],
        )
        adapter_config = None
    else:
        if sources.base is None:
            raise DataError("LoRA mode needs --base (the model the adapters were trained on)")
        base_path = resolve(sources.base, "base model")
        safe_ad = load_adapter(sources.safe, "safe adapter")
        tuned = [load_adapter(s, "fine-tuned adapter") for s in sources.finetuned]
        check_adapters(safe_ad, tuned)
        from peft import PeftModel

        base = _load_causal_lm(base_path, dtype, "base model")
        try:
            with quiet_peft():
                model = PeftModel.from_pretrained(base, str(safe_ad.path))
        except (ValueError, RuntimeError, KeyError) as exc:
            first = str(exc).splitlines()[0]
            raise DataError(f"the safe adapter does not fit the base model: {first}") from exc
        names = lora_param_names(model, sorted(safe_ad.tensors))
        safe = safe_ad.tensors
        taus = [subtract(t.tensors, safe) for t in tuned]
        tok_path = base_path
        adapter_config = safe_ad.config
        info.update(
            base=str(base_path),
            safe=str(safe_ad.path),
            finetuned=[str(t.path) for t in tuned],
            lora={k: safe_ad.config.get(k) for k in ("r", "lora_alpha", "target_modules")},
        )
    model.to(device)
    model.eval()
    safe = {k: v.to(device) for k, v in safe.items()}
    taus = [{k: v.to(device) for k, v in t.items()} for t in taus]
    mask = build_mask(taus, init=mask_init, temperature=temperature, device=device)
    fusion = Fusion(model, names, safe, taus, mask, merge_config, rescale=rescale)
    info["adapter_config"] = adapter_config
    info["tensors"] = len(safe)
    info["mask_elements"] = mask.numel()
    info["model_parameters"] = sum(p.numel() for p in model.parameters())
    return fusion, load_tokenizer(tok_path), info


def memory_estimate(
    info: dict[str, Any], *, dtype: torch.dtype, batch_tokens: int
) -> dict[str, float]:
    """A rough figure in GiB: frozen model, safe + task vectors, mask logits with gradient and
    AdamW state (4 x fp32), activations of one batch."""
    gib = 1024**3
    width = torch.tensor([], dtype=dtype).element_size()
    n_tasks = len(info.get("finetuned") or [1])
    model = info["model_parameters"] * width
    mask = info["mask_elements"]
    vectors = mask * 4 * (1 + n_tasks) + mask * 4 * 3  # safe, taus, and per-step merged copies
    optim = mask * 4 * 4
    activations = batch_tokens * 4 * 64 * 1024  # a coarse per-token allowance
    return {
        "model_gib": round(model / gib, 3),
        "vectors_gib": round(vectors / gib, 3),
        "mask_and_optimizer_gib": round(optim / gib, 3),
        "activations_gib": round(activations / gib, 3),
        "total_gib": round((model + vectors + optim + activations) / gib, 3),
    }

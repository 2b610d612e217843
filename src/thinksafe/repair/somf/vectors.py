"""Load the safe and fine-tuned models, check that they fit together, compute task vectors.

LoRA mode (the paper's): a base model, the safety-aligned LoRA adapter and one or more downstream
adapters continued from it. Task vectors are taken on the raw LoRA factors, ``tau = A_ft - A_safe``
and ``tau = B_ft - B_safe``, as the official code does. Full mode (``--full``): the safe and
fine-tuned models are whole models and tau covers every floating-point parameter.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from thinksafe.errors import DataError

Vector = dict[str, Tensor]
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_model.bin")
# LoRA settings that must agree between the safe adapter and every fine-tuned one
LORA_FIELDS = ("r", "lora_alpha", "target_modules", "peft_type", "fan_in_fan_out", "use_rslora")


def resolve(spec: str, what: str) -> Path:
    """A local folder, or a Hub repository downloaded (or read from the cache)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise DataError(f"{what} {spec} is a file; give the folder that holds it")
    if spec.count("/") != 1 or spec.startswith((".", "/", "~")):
        raise DataError(
            f"{what} {spec} not found: give an existing folder or a Hub name OWNER/NAME"
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec))
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{what} {spec}: not a local folder and not on the Hub ({first})") from exc


@dataclass(frozen=True)
class Adapter:
    path: Path
    config: dict[str, Any]
    tensors: Vector


def load_adapter(spec: str, what: str) -> Adapter:
    folder = resolve(spec, what)
    cfg_file = folder / "adapter_config.json"
    if not cfg_file.is_file():
        raise DataError(f"{what} {folder} has no adapter_config.json; is it a PEFT LoRA adapter?")
    try:
        config = json.loads(cfg_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{what} {cfg_file} is not valid JSON: {exc}") from exc
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise DataError(f"{what} {folder} is a {config.get('peft_type')} adapter; only LoRA works")
    for name in ADAPTER_FILES:
        weights = folder / name
        if weights.is_file():
            break
    else:
        raise DataError(f"{what} {folder} has no adapter_model.safetensors (or .bin)")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(str(weights))
    else:
        tensors = torch.load(str(weights), map_location="cpu", weights_only=True)
    return Adapter(folder, config, {k: v.float() for k, v in tensors.items()})


def _norm_targets(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def check_adapters(safe: Adapter, tuned: Sequence[Adapter]) -> None:
    """One line naming the first thing that does not fit: LoRA settings, keys or shapes."""
    for ft in tuned:
        for field in LORA_FIELDS:
            a = _norm_targets(safe.config.get(field))
            b = _norm_targets(ft.config.get(field))
            if a != b:
                raise DataError(
                    f"adapter {ft.path} has {field}={b!r} but the safe adapter has {a!r}; "
                    "the fine-tuned adapters must continue the safe one"
                )
        _check_tensors(safe.tensors, ft.tensors, str(ft.path), "the safe adapter")


def _check_tensors(ref: Vector, other: Vector, name: str, ref_name: str) -> None:
    missing = sorted(set(ref) - set(other))
    extra = sorted(set(other) - set(ref))
    if missing or extra:
        key = (missing or extra)[0]
        side = "lacks" if missing else "has an extra"
        raise DataError(f"{name} {side} tensor {key} compared with {ref_name}")
    for key in sorted(ref):
        if ref[key].shape != other[key].shape:
            raise DataError(
                f"{name}: tensor {key} has shape {tuple(other[key].shape)} but {ref_name} has "
                f"{tuple(ref[key].shape)}"
            )


def subtract(tuned: Vector, safe: Vector) -> Vector:
    return {k: tuned[k] - safe[k] for k in sorted(safe)}


def lora_param_names(model: nn.Module, keys: Sequence[str]) -> dict[str, str]:
    """Map adapter-file keys (``...q_proj.lora_A.weight``) to the PEFT model's parameter names
    (``...q_proj.lora_A.default.weight``)."""
    by_file_key: dict[str, str] = {}
    for name, _ in model.named_parameters():
        if ".default." in name or name.endswith(".default"):
            by_file_key[name.replace(".default.", ".").removesuffix(".default")] = name
    out: dict[str, str] = {}
    for key in keys:
        if key not in by_file_key:
            raise DataError(
                f"adapter tensor {key} matches no LoRA parameter of the base model; "
                "was the adapter trained on this base?"
            )
        out[key] = by_file_key[key]
    return out


def full_state(model: nn.Module) -> Vector:
    """The floating-point parameters of a whole model, by name (tied weights once)."""
    return {n: p.detach() for n, p in model.named_parameters() if p.is_floating_point()}


def check_full(safe: Vector, tuned: Vector, name: str) -> None:
    _check_tensors(safe, tuned, name, "the safe model")


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """peft still reads a transformers attribute that now warns it is deprecated; the warning
    says nothing to a user of realign."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        yield

"""The fused model: theta = theta_safe + Merge({tau_i * m / mean(m)}), applied to a frozen model
with ``torch.func.functional_call`` so that only the mask logits carry gradients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from thinksafe.repair.somf.mask import ConcreteMask, SampleMode, apply_mask
from thinksafe.repair.somf.merge import MergeConfig, Vector, merge


@dataclass
class Fusion:
    """``model`` is the frozen network (a PEFT model holding the safe adapter, or the safe full
    model); ``names`` maps task-vector keys to its parameter names."""

    model: nn.Module
    names: dict[str, str]
    safe: Vector
    taus: list[Vector]
    mask: ConcreteMask
    merge_config: MergeConfig
    rescale: bool = True
    dtypes: dict[str, torch.dtype] = field(default_factory=dict)

    def __post_init__(self) -> None:
        params = dict(self.model.named_parameters())
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.dtypes = {k: params[n].dtype for k, n in self.names.items()}

    @property
    def keys(self) -> list[str]:
        return self.mask.keys

    def merged_vector(
        self,
        mode: SampleMode,
        generator: torch.Generator | None = None,
        *,
        masks: dict[str, Tensor] | None = None,
    ) -> Vector:
        m = masks if masks is not None else self.mask.sample(mode, generator)
        masked = [
            {k: apply_mask(t[k], m[k], rescale=self.rescale) for k in self.keys} for t in self.taus
        ]
        return merge(masked, self.merge_config, generator)

    def weights(
        self,
        mode: SampleMode,
        generator: torch.Generator | None = None,
        *,
        masks: dict[str, Tensor] | None = None,
    ) -> Vector:
        """The fused tensors by task-vector key (adapter-file or state-dict names)."""
        merged = self.merged_vector(mode, generator, masks=masks)
        return {k: (self.safe[k] + merged[k]).to(self.dtypes[k]) for k in self.keys}

    def forward(self, weights: Vector, **inputs: Any) -> Tensor:
        params = {self.names[k]: v for k, v in weights.items()}
        out = functional_call(self.model, params, args=(), kwargs=inputs)
        logits: Tensor = out.logits
        return logits


def noisy_masks(mask: ConcreteMask, generator: torch.Generator | None) -> dict[str, Tensor]:
    """The official code's reference: a fresh p = 0.5 Concrete sample (logits 0)."""
    out = {}
    for key, logit in zip(mask.keys, mask.logits):
        u = torch.rand(logit.shape, generator=generator, device=logit.device).clamp(1e-6, 1 - 1e-6)
        out[key] = torch.sigmoid((torch.log(u) - torch.log1p(-u)) / mask.temperature)
    return out


def build_mask(
    taus: Sequence[Vector], *, init: float, temperature: float, device: Any = None
) -> ConcreteMask:
    """One mask shared by all task vectors, shaped like the first."""
    shapes = {k: tuple(v.shape) for k, v in taus[0].items()}
    mask = ConcreteMask(shapes, init=init, temperature=temperature)
    return mask.to(device) if device is not None else mask

"""The Concrete (relaxed Bernoulli) mask over task vectors: one logit per element.

A mask value ``m`` in [0, 1] per element of the task vector; ``apply`` returns ``tau * m /
mean(m)`` per tensor (the official code's rescale). Elements whose mask goes to 0 revert to the
safe weights, elements whose mask goes to 1 keep what the fine-tune learned.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Literal

import torch
from torch import Tensor, nn

SampleMode = Literal["soft", "expected", "binary-sample", "threshold", "ones"]
SAMPLE_MODES: tuple[str, ...] = ("soft", "expected", "binary-sample", "threshold", "ones")


class ConcreteMask(nn.Module):
    """Per-element logits (fp32) for every task-vector tensor, keyed like the task vector."""

    def __init__(
        self, shapes: Mapping[str, tuple[int, ...]], *, init: float, temperature: float
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError("the mask temperature must be positive")
        self.keys: list[str] = sorted(shapes)
        self.temperature = float(temperature)
        self.logits = nn.ParameterList(
            [
                nn.Parameter(torch.full(shapes[k], float(init), dtype=torch.float32))
                for k in self.keys
            ]
        )

    def logit(self, key: str) -> Tensor:
        out: Tensor = self.logits[self.keys.index(key)]
        return out

    def numel(self) -> int:
        return sum(p.numel() for p in self.logits)

    def sample(
        self, mode: SampleMode, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """One mask per key. ``soft`` is a differentiable Concrete sample (redrawn per call),
        ``expected`` is sigmoid(logit), ``binary-sample`` a Bernoulli(sigmoid(logit)) draw (the
        official code's binary rule), ``threshold`` is logit > 0 and ``ones`` keeps everything."""
        out: dict[str, Tensor] = {}
        for key, logit in zip(self.keys, self.logits):
            if mode == "expected":
                out[key] = torch.sigmoid(logit)
            elif mode == "threshold":
                out[key] = (logit.detach() > 0).to(torch.float32)
            elif mode == "ones":
                out[key] = torch.ones_like(logit.detach())
            elif mode in ("soft", "binary-sample"):
                u = torch.rand(logit.shape, generator=generator, device=logit.device)
                u = u.clamp(1e-6, 1.0 - 1e-6)
                noise = torch.log(u) - torch.log1p(-u)
                if mode == "soft":
                    out[key] = torch.sigmoid((logit + noise) / self.temperature)
                else:
                    out[key] = (logit.detach() + noise > 0).to(torch.float32)
            else:
                raise ValueError(f"unknown mask mode {mode!r}; choose one of {SAMPLE_MODES}")
        return out


def apply_mask(tau: Tensor, mask: Tensor, *, rescale: bool = True) -> Tensor:
    """``tau * m / mean(m)``. A mask that is all zero for a tensor reverts that tensor to the
    safe weights (a zero task vector), never a division by zero."""
    m = mask.to(tau.dtype) if mask.dtype != tau.dtype else mask
    if not rescale:
        return tau * m
    mean = m.mean()
    if float(mean.detach()) <= 0.0:
        return torch.zeros_like(tau)
    return tau * (m / mean)


def kept_fraction(masks: Mapping[str, Tensor]) -> dict[str, float]:
    """Mean mask value per tensor (for a binary mask: the fraction of the task vector kept)."""
    return {k: round(float(v.detach().float().mean()), 6) for k, v in masks.items()}


def logit_histogram(
    mask: ConcreteMask, edges: tuple[float, ...] = (-8, -4, -2, -1, 0, 1, 2, 4, 8)
) -> dict[str, object]:
    """Distribution of the logits: counts between fixed edges, min, max, mean and quantiles."""
    flat = torch.cat([p.detach().flatten() for p in mask.logits]).float()
    bounds = [float("-inf"), *edges, float("inf")]
    counts = {}
    for lo, hi in itertools.pairwise(bounds):
        counts[f"[{lo:g}, {hi:g})"] = int(((flat >= lo) & (flat < hi)).sum())
    sample = flat if flat.numel() <= 1_000_000 else flat[torch.randperm(flat.numel())[:1_000_000]]
    q = torch.quantile(sample, torch.tensor([0.01, 0.25, 0.5, 0.75, 0.99]))
    return {
        "count": int(flat.numel()),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "mean": float(flat.mean()),
        "abs_max": float(flat.abs().max()),
        "quantiles": {
            k: round(float(v), 6) for k, v in zip(("p01", "p25", "p50", "p75", "p99"), q)
        },
        "histogram": counts,
        "p_keep_mean": float(torch.sigmoid(flat).mean()),
    }

"""Merges of (masked) task vectors. Pure functions on ``{key: tensor}`` dicts, differentiable
with respect to the task-vector values (TIES and DARE choose their elements without a gradient,
then weight the kept values, which carry one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

Vector = dict[str, Tensor]
MERGES: tuple[str, ...] = ("none", "task-arithmetic", "ties", "dare", "average")
# the official code's defaults (PEFT mode): lambda per method, TIES keep top 20 %, DARE drop 20 %
DEFAULT_LAMBDA = {"task-arithmetic": 0.3, "ties": 0.4, "dare": 0.3}


@dataclass(frozen=True)
class MergeConfig:
    method: str = "none"
    lam: float | None = None  # None: the method's default
    ties_keep: float = 0.2
    dare_drop: float = 0.2

    def weight(self) -> float:
        if self.lam is not None:
            return self.lam
        return DEFAULT_LAMBDA.get(self.method, 1.0)


def _keys(vectors: Sequence[Vector]) -> list[str]:
    if not vectors:
        raise ValueError("no task vectors to merge")
    keys = sorted(vectors[0])
    for v in vectors[1:]:
        if sorted(v) != keys:
            raise ValueError("task vectors do not share the same tensors")
    return keys


def identity(vectors: Sequence[Vector]) -> Vector:
    if len(vectors) != 1:
        raise ValueError(f"merge 'none' takes one fine-tuned model, got {len(vectors)}")
    return dict(vectors[0])


def task_arithmetic(vectors: Sequence[Vector], lam: float) -> Vector:
    keys = _keys(vectors)
    return {k: lam * torch.stack([v[k] for v in vectors]).sum(0) for k in keys}


def average(vectors: Sequence[Vector]) -> Vector:
    keys = _keys(vectors)
    return {k: torch.stack([v[k] for v in vectors]).mean(0) for k in keys}


def _top_magnitude(vector: Vector, keys: list[str], keep: float) -> Vector:
    """0/1 masks keeping the ``keep`` fraction of largest magnitudes over the whole (key-sorted,
    flattened) vector, as the official TIES does (one global threshold, not one per tensor)."""
    with torch.no_grad():
        flat = torch.cat([vector[k].detach().flatten().abs().float() for k in keys])
        n_keep = max(1, round(keep * flat.numel()))
        order = torch.argsort(flat, descending=True, stable=True)
        chosen = torch.zeros_like(flat)
        chosen[order[:n_keep]] = 1.0
        out: Vector = {}
        start = 0
        for k in keys:
            n = vector[k].numel()
            out[k] = chosen[start : start + n].view_as(vector[k]).to(vector[k].dtype)
            start += n
    return out


def ties(vectors: Sequence[Vector], *, keep: float, lam: float) -> Vector:
    """Trim each task to its top ``keep`` magnitudes, elect a sign per element (the sign of the
    sum of trimmed values; where that is zero, the majority sign over all elements), then sum
    (not average) the values that agree with it, times ``lam``."""
    keys = _keys(vectors)
    trimmed = []
    for v in vectors:
        keep_mask = _top_magnitude(v, keys, keep)
        trimmed.append({k: v[k] * keep_mask[k] for k in keys})
    with torch.no_grad():
        total = {k: torch.stack([t[k].detach() for t in trimmed]).sum(0) for k in keys}
        overall = sum(float(total[k].sum()) for k in keys)
        majority = 1.0 if overall >= 0 else -1.0
        elected = {}
        for k in keys:
            s = torch.sign(total[k])
            elected[k] = torch.where(s == 0, torch.full_like(s, majority), s)
    out: Vector = {}
    for k in keys:
        stacked = torch.stack([t[k] for t in trimmed])
        agree = (torch.sign(stacked.detach()) == elected[k]).to(stacked.dtype)
        out[k] = lam * (stacked * agree).sum(0)
    return out


def dare(
    vectors: Sequence[Vector], *, drop: float, lam: float, generator: torch.Generator | None
) -> Vector:
    """Drop each element with probability ``drop`` (redrawn per call), rescale the rest by
    1/(1-drop), then ``lam`` times the sum."""
    if not 0.0 <= drop < 1.0:
        raise ValueError("the DARE drop rate must be in [0, 1)")
    keys = _keys(vectors)
    out: Vector = {}
    for k in keys:
        parts = []
        for v in vectors:
            t = v[k]
            keep = torch.rand(t.shape, generator=generator, device=t.device) >= drop
            parts.append(t * keep.to(t.dtype) / (1.0 - drop))
        out[k] = lam * torch.stack(parts).sum(0)
    return out


def merge(
    vectors: Sequence[Vector], config: MergeConfig, generator: torch.Generator | None = None
) -> Vector:
    if config.method == "none":
        return identity(vectors)
    if config.method == "task-arithmetic":
        return task_arithmetic(vectors, config.weight())
    if config.method == "ties":
        return ties(vectors, keep=config.ties_keep, lam=config.weight())
    if config.method == "dare":
        return dare(vectors, drop=config.dare_drop, lam=config.weight(), generator=generator)
    if config.method == "average":
        return average(vectors)
    raise ValueError(f"unknown merge {config.method!r}; choose one of {', '.join(MERGES)}")

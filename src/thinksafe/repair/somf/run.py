"""``thinksafe realign`` end to end: load, train the mask (with checkpoints), export, and write
``realign.json``. The command line is a thin layer over :func:`realign`."""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from thinksafe.errors import ConfigError
from thinksafe.repair.lineage import with_utility
from thinksafe.repair.somf import export
from thinksafe.repair.somf.data import load_pairs, load_retain, pairs_sha256, rows_sha256
from thinksafe.repair.somf.inputs import Sources, load_fusion, memory_estimate, pick_device
from thinksafe.repair.somf.mask import kept_fraction, logit_histogram
from thinksafe.repair.somf.merge import MERGES, MergeConfig
from thinksafe.repair.somf.train import REFERENCES, TEMPLATES, TrainConfig, train

SCHEMA = "thinksafe.realign/1"
EXPORTS = ("adapter", "merged", "both")
BINARY_RULES = ("threshold", "binary-sample")
SOFT_RULES = ("expected", "soft")

# The official scripts' settings (single task, PEFT): kept as a preset, not the default,
# because they barely move the mask (see docs/repair.md).
PAPER_PRESET: dict[str, Any] = {
    "lr": 1e-3,
    "schedule": "cosine",
    "steps": 500,
    "batch_size": 4,
    "grad_accum": 4,
    "beta": 0.1,
    "reference": "noisy",
    "max_length": 1024,
    "template": "plain",
    "mask_init": 0.0,
    "temperature": 0.5,
    "binary_rule": "binary-sample",
    "soft_rule": "soft",
    "mask_mode": "soft",
}


# With a retain set the mask has two aims that pull against each other (refuse the harmful
# requests, keep the retained responses); on the toy it needs about ten times the steps to settle
# (docs/benchmarks.md, "Safety realignment").
RETAIN_STEPS = 1000


@dataclass(frozen=True)
class RealignConfig:
    sources: Sources
    pairs: str
    out: Path
    train: TrainConfig = field(default_factory=TrainConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    mask_init: float = 3.0
    temperature: float = 0.5
    rescale: bool = True
    max_pairs: int | None = None
    retain: str | None = None
    binary_rule: str = "threshold"
    soft_rule: str = "expected"
    export: str = "adapter"
    merged_from: str = "binary"
    device: str = "auto"
    preset: str = "default"
    utility_tasks: tuple[str, ...] = ()
    utility_include: str | None = None
    utility_limit: int | None = None

    def check(self) -> None:
        if self.merge.method not in MERGES:
            raise ConfigError(
                f"unknown --merge {self.merge.method!r}; choose one of {', '.join(MERGES)}"
            )
        for name, value, allowed in (
            ("--reference", self.train.reference, REFERENCES),
            ("--template", self.train.template, TEMPLATES),
            ("--binary-rule", self.binary_rule, BINARY_RULES),
            ("--soft-rule", self.soft_rule, SOFT_RULES),
            ("--export", self.export, EXPORTS),
            ("--merged-from", self.merged_from, ("binary", "soft")),
            ("--schedule", self.train.schedule, ("cosine", "constant")),
            ("--mask-mode", self.train.mask_mode, ("expected", "soft")),
        ):
            if value not in allowed:
                raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        positive = (
            ("--steps", self.train.steps),
            ("--batch-size", self.train.batch_size),
            ("--grad-accum", self.train.grad_accum),
            ("--max-length", self.train.max_length),
            ("--save-every", self.train.save_every),
        )
        for name, number in positive:
            if number < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.train.retain_weight < 0:
            raise ConfigError("--retain-weight must be 0 or more")
        if self.train.lr <= 0 or self.train.beta <= 0 or self.temperature <= 0:
            raise ConfigError("--lr, --beta and --temperature must be positive")
        if not 0 < self.merge.ties_keep <= 1 or not 0 <= self.merge.dare_drop < 1:
            raise ConfigError("--ties-keep must be in (0, 1] and --dare-drop in [0, 1)")
        if self.sources.full and self.export == "adapter":
            raise ConfigError("--full exports a merged model: use --export merged")
        if self.utility_tasks and self.export == "adapter" and not self.sources.full:
            raise ConfigError("--utility measures merged models: add --export both")

    def as_dict(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["out"] = str(self.out)
        return doc

    def fingerprint(self) -> str:
        """What the trained mask depends on (not where or how it is exported)."""
        doc = self.as_dict()
        drop = ("out", "export", "merged_from", "binary_rule", "soft_rule", "device")
        for key in (*drop, "utility_tasks", "utility_include", "utility_limit"):
            doc.pop(key)
        doc["train"].pop("save_every")
        return export.config_sha256(doc)


def deviations(cfg: RealignConfig) -> list[dict[str, str]]:
    """Every way this run differs from the official code, with the reason."""
    out = [
        {
            "what": "own DPO loop on the mask logits (functional_call over safe + masked task "
            "vectors), a fixed number of steps, data order fixed by the seed",
            "official": "LLaMA-Factory MaskDPOTrainer (trl DPOTrainer), 3 epochs, checkpoint-500",
            "why": "the model must be re-merged on every step; a plain loop resumes exactly",
        },
        {
            "what": "an all-zero mask tensor reverts that tensor to the safe weights",
            "official": "divides by mean(m) = 0 (NaN)",
            "why": "never produce NaN weights",
        },
    ]
    if cfg.merge.method == "ties":
        out.append(
            {
                "what": "TIES is differentiable through every task's kept values",
                "official": "writes merged values through .data, so the gradient is a "
                "straight-through of task 0 only",
                "why": "the official gradient ignores the other tasks",
            }
        )
    if cfg.train.reference == "finetuned":
        out.append(
            {
                "what": "reference = the fine-tuned model (unmasked task vectors, deterministic)",
                "official": "a second mask model with logits 0, re-sampled at p = 0.5 per call",
                "why": "a fixed reference gives a stable DPO target; --reference noisy: official",
            }
        )
    if cfg.train.mask_mode == "expected":
        out.append(
            {
                "what": "the mask is trained through its expected value sigmoid(logit)",
                "official": "a fresh Concrete sample (temperature 0.5) on every forward",
                "why": "the sampled mask trains the logits to survive noise, not to pass the "
                "threshold the export uses; --mask-mode soft: official",
            }
        )
    if cfg.binary_rule == "threshold":
        out.append(
            {
                "what": "binary mask = logit > 0",
                "official": "one Bernoulli(sigmoid(logit)) draw",
                "why": "with logits near 0 the draw drops about half the task vector at random; "
                "--binary-rule binary-sample for the official rule",
            }
        )
    if cfg.soft_rule == "expected":
        out.append(
            {
                "what": "soft adapter = expected mask sigmoid(logit)",
                "official": "the last training forward's Concrete sample",
                "why": "deterministic; --soft-rule soft for a seeded Concrete sample",
            }
        )
    if cfg.preset != "paper":
        out.append(
            {
                "what": f"lr {cfg.train.lr}, {cfg.train.schedule}, {cfg.train.steps} steps, "
                f"mask init {cfg.mask_init}",
                "official": "lr 1e-3 cosine, checkpoint-500, mask init 0",
                "why": "the official settings move a logit by at most about 0.4 and barely change "
                "the model; these recover safety on the benchmark (docs/repair.md); --preset paper",
            }
        )
    if cfg.retain:
        out.append(
            {
                "what": f"a retain term (weight {cfg.train.retain_weight}): per token, how much "
                "less likely the fused model makes each retained response than the fine-tuned "
                "model, counted only where it is less likely",
                "official": "safety preference pairs only",
                "why": "trained on harmful pairs alone the mask also brings back refusals of "
                "benign requests that look like harmful ones (docs/repair.md)",
            }
        )
    if cfg.train.template != "plain":
        out.append(
            {
                "what": "prompts use the tokenizer's chat template when it has one",
                "official": "WizardLM template '{q}\\n\\n### Response:'",
                "why": "the models assessed here are chat models; --template plain: official",
            }
        )
    return out


Progress = Callable[[int, int, float], None]


def _versions() -> dict[str, str]:
    import peft
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "python": platform.python_version(),
    }


def realign(
    cfg: RealignConfig,
    *,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, export and write ``OUT/realign.json``; returns that document."""
    cfg.check()
    say = notify or (lambda _: None)
    device, dtype = pick_device(cfg.device)
    pairs = load_pairs(cfg.pairs, max_pairs=cfg.max_pairs, seed=cfg.train.seed)
    retain = load_retain(cfg.retain) if cfg.retain else []
    fusion, tok, info = load_fusion(
        cfg.sources,
        merge_config=cfg.merge,
        mask_init=cfg.mask_init,
        temperature=cfg.temperature,
        rescale=cfg.rescale,
        device=device,
        dtype=dtype,
    )
    memory = memory_estimate(
        info, dtype=dtype, batch_tokens=2 * cfg.train.batch_size * cfg.train.max_length
    )
    say(
        f"device {device} ({str(dtype).removeprefix('torch.')}); {info['mask_elements']:,} mask "
        f"logits over {info['tensors']} tensors; {len(pairs)} pairs; memory estimate "
        f"{memory['total_gib']} GiB"
    )
    cfg.out.mkdir(parents=True, exist_ok=True)
    result = train(
        fusion,
        tok,
        pairs,
        cfg.train,
        device=device,
        checkpoint=cfg.out / "checkpoint.pt",
        fingerprint=cfg.fingerprint(),
        progress=progress,
        retain=retain,
    )
    export.save_mask(fusion, cfg.out / export.MASK_FILE)
    config = cfg.as_dict()
    sources = cfg.sources
    tuned: str | list[str] = (
        sources.finetuned[0] if len(sources.finetuned) == 1 else list(sources.finetuned)
    )
    parents = {"base": sources.base, "safe": sources.safe, "finetuned": tuned}
    lineage = export.lineage(parents, config)
    seed = cfg.train.seed
    binary_rule = "threshold" if cfg.binary_rule == "threshold" else "binary-sample"
    soft_rule = "expected" if cfg.soft_rule == "expected" else "soft"
    binary = export.fused_weights(fusion, binary_rule, seed)  # type: ignore[arg-type]
    soft = export.fused_weights(fusion, soft_rule, seed)  # type: ignore[arg-type]
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    binary_masks = fusion.mask.sample(binary_rule, gen)  # type: ignore[arg-type]
    outputs: dict[str, str] = {}
    if info["mode"] == "lora":
        assert info["adapter_config"] is not None
        for name, weights in (("adapter_binary", binary), ("adapter_soft", soft)):
            folder = export.export_adapter(
                weights, info["adapter_config"], info["base"], cfg.out / name
            )
            export.write_lineage(folder, lineage)
            outputs[name] = str(folder)
        if cfg.export in ("merged", "both"):
            src = cfg.out / ("adapter_binary" if cfg.merged_from == "binary" else "adapter_soft")
            folder = export.export_merged_lora(info["base"], src, tok, cfg.out / "merged", dtype)
            export.write_lineage(folder, lineage)
            outputs["merged"] = str(folder)
    else:
        weights = binary if cfg.merged_from == "binary" else soft
        folder = export.export_merged_full(info["safe"], weights, tok, cfg.out / "merged", dtype)
        export.write_lineage(folder, lineage)
        outputs["merged"] = str(folder)
    info.pop("adapter_config", None)
    utility = _utility(cfg, info, outputs, tok, dtype, device, say) if cfg.utility_tasks else None
    if utility is not None:
        # measured on merged/, made from one of the adapters: those two carry it
        measured = ("merged", f"adapter_{cfg.merged_from}")
        for name in measured:
            if name in outputs:
                with_utility(outputs[name], utility["delta"])
        lineage = {**lineage, "utility": utility["delta"]}
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "method": "somf",
        "config": config,
        "config_sha256": lineage["config_sha256"],
        "seeds": {"train": seed, "export": seed, "pairs_sample": seed},
        "data": {"source": cfg.pairs, "pairs": len(pairs), "sha256": pairs_sha256(pairs)},
        "retain": (
            {"source": cfg.retain, "rows": len(retain), "sha256": rows_sha256(retain)}
            if retain
            else None
        ),
        "inputs": info,
        "device": {"name": device, "dtype": str(dtype).removeprefix("torch.")},
        "memory_estimate": memory,
        "training": result,
        "kept_fraction": {
            "binary": kept_fraction(binary_masks),
            "expected": kept_fraction(fusion.mask.sample("expected")),
        },
        "logits": logit_histogram(fusion.mask),
        "deviations": deviations(cfg),
        "outputs": outputs,
        "utility": utility,
        "lineage": lineage,
        "versions": _versions(),
    }
    (cfg.out / "realign.json").write_text(json.dumps(doc, indent=2, default=str) + "\n", "utf-8")
    return doc


def _utility(
    cfg: RealignConfig,
    info: dict[str, Any],
    outputs: dict[str, str],
    tok: Any,
    dtype: torch.dtype,
    device: str,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """lm-eval tasks on the fine-tuned model (merged into ``OUT/finetuned_merged`` in LoRA
    mode) and on the realigned ``merged/``: before, after and the change."""
    from thinksafe.repair.utility import measure_utility, utility_delta

    tuned = cfg.sources.finetuned
    if len(tuned) != 1:
        raise ConfigError("--utility compares one fine-tuned model with the realigned one")
    if info["mode"] == "lora":
        before_path = cfg.out / "finetuned_merged"
        if not (before_path / "config.json").is_file():
            export.export_merged_lora(
                info["base"], Path(info["finetuned"][0]), tok, before_path, dtype
            )
    else:
        before_path = Path(info["finetuned"][0])
    kwargs: dict[str, Any] = {
        "include_path": cfg.utility_include,
        "limit": cfg.utility_limit,
        "device": device,
        "seed": cfg.train.seed,
    }
    say(f"utility: {', '.join(cfg.utility_tasks)} on the fine-tuned and the realigned model")
    before = measure_utility(before_path, cfg.utility_tasks, **kwargs)
    after = measure_utility(outputs["merged"], cfg.utility_tasks, **kwargs)
    return {
        "tasks": list(cfg.utility_tasks),
        "before": before,
        "after": after,
        "delta": utility_delta(before, after),
        "before_model": str(before_path),
    }

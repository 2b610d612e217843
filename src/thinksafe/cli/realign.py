"""``thinksafe realign``: SOMF safety realignment of a fine-tuned model (subspace-oriented model
fusion): learn which part of the fine-tune's weight change must go back to the safe weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from thinksafe.cli.app import app, stderr
from thinksafe.errors import ConfigError


def _progress_bar(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if not enabled:
        return None
    return Progress(
        TextColumn("[bold]realigning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr(),
    )


@app.command()
def realign(
    safe: Annotated[
        str,
        typer.Option("--safe", help="Safety-aligned LoRA adapter (or whole model with --full)."),
    ],
    finetuned: Annotated[
        list[str],
        typer.Option("--finetuned", help="Fine-tuned adapter continued from --safe; repeatable."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (resumes if present).")],
    base: Annotated[
        str | None, typer.Option("--base", help="Base model the adapters were trained on.")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="--safe and --finetuned are whole models.")
    ] = False,
    pairs: Annotated[
        str,
        typer.Option(
            "--pairs",
            help="pku-saferlhf (Hub, the paper's rule) or a JSONL/JSON/CSV file of prompt, "
            "chosen, rejected.",
        ),
    ] = "pku-saferlhf",
    max_pairs: Annotated[
        int | None, typer.Option("--max-pairs", help="Use a seeded sample of N pairs.")
    ] = None,
    retain: Annotated[
        Path | None,
        typer.Option(
            "--retain",
            help="JSONL/JSON/CSV of prompt, response the repair must keep (benign help, the "
            "new skill); trains 1000 steps unless --steps is given.",
        ),
    ] = None,
    retain_weight: Annotated[
        float | None, typer.Option("--retain-weight", help="Weight of the retain term (0.3).")
    ] = None,
    merge: Annotated[
        str, typer.Option("--merge", help="none, task-arithmetic, ties, dare or average.")
    ] = "none",
    lam: Annotated[
        float | None, typer.Option("--lambda", help="Merge weight (default: the method's).")
    ] = None,
    ties_keep: Annotated[float, typer.Option("--ties-keep", help="TIES top fraction.")] = 0.2,
    dare_drop: Annotated[float, typer.Option("--dare-drop", help="DARE drop rate.")] = 0.2,
    preset: Annotated[
        str,
        typer.Option("--preset", help="default, or paper (the official scripts' settings)."),
    ] = "default",
    steps: Annotated[int | None, typer.Option("--steps", help="Optimiser steps.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate of the logits.")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="cosine or constant.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Pairs per batch.")] = None,
    grad_accum: Annotated[
        int | None, typer.Option("--grad-accum", help="Gradient accumulation.")
    ] = None,
    beta: Annotated[float | None, typer.Option("--beta", help="DPO beta.")] = None,
    mask_init: Annotated[
        float | None, typer.Option("--mask-init", help="Initial logit (0 = keep with p 0.5).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Concrete temperature.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="finetuned or noisy (the official one).")
    ] = None,
    max_length: Annotated[int | None, typer.Option("--max-length", help="Tokens per row.")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="auto, chat or plain (WizardLM).")
    ] = None,
    binary_rule: Annotated[
        str | None, typer.Option("--binary-rule", help="threshold or binary-sample.")
    ] = None,
    soft_rule: Annotated[str | None, typer.Option("--soft-rule", help="expected or soft.")] = None,
    mask_mode: Annotated[
        str | None,
        typer.Option("--mask-mode", help="Mask in training: expected or soft (Concrete)."),
    ] = None,
    no_rescale: Annotated[
        bool, typer.Option("--no-rescale", help="Do not divide the mask by its mean.")
    ] = False,
    export: Annotated[
        str, typer.Option("--export", help="adapter, merged or both (adapters + merged/).")
    ] = "adapter",
    merged_from: Annotated[
        str, typer.Option("--merged-from", help="Mask for merged/: binary or soft.")
    ] = "binary",
    utility: Annotated[
        list[str] | None,
        typer.Option("--utility", help="lm-eval task to measure before and after; repeatable."),
    ] = None,
    utility_tasks_dir: Annotated[
        Path | None,
        typer.Option("--utility-tasks-dir", help="Folder of your own lm-eval task YAML files."),
    ] = None,
    utility_limit: Annotated[
        int | None, typer.Option("--utility-limit", help="Documents per utility task.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for data order and masks.")] = 0,
    save_every: Annotated[int, typer.Option("--save-every", help="Checkpoint period.")] = 50,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")
    ] = True,
) -> None:
    """Realign a fine-tuned model's safety (SOMF): train a mask over its task vector with DPO on
    safety preference pairs, export PEFT adapters (soft, binary) and optionally a merged model,
    with realign.json and thinksafe-lineage.json."""
    from thinksafe.repair import require_realign

    require_realign()
    from thinksafe.repair.somf.inputs import Sources
    from thinksafe.repair.somf.merge import MergeConfig
    from thinksafe.repair.somf.run import PAPER_PRESET, RETAIN_STEPS, RealignConfig
    from thinksafe.repair.somf.run import realign as run_realign
    from thinksafe.repair.somf.train import TrainConfig

    if preset not in ("default", "paper"):
        raise ConfigError(f"unknown --preset {preset!r}; choose default or paper")
    if not full and base is None:
        raise ConfigError("give --base (the model the adapters were trained on), or --full")
    chosen: dict[str, Any] = dict(PAPER_PRESET) if preset == "paper" else {}
    given = {
        "steps": steps, "lr": lr, "schedule": schedule, "batch_size": batch_size,
        "grad_accum": grad_accum, "beta": beta, "reference": reference,
        "max_length": max_length, "template": template, "mask_init": mask_init,
        "temperature": temperature, "binary_rule": binary_rule, "soft_rule": soft_rule,
        "mask_mode": mask_mode, "retain_weight": retain_weight,
    }  # fmt: skip
    if retain is not None and steps is None and preset == "default":
        given["steps"] = RETAIN_STEPS
    chosen.update({k: v for k, v in given.items() if v is not None})
    train_fields = set(TrainConfig.__dataclass_fields__)
    train_cfg = TrainConfig(
        **{k: v for k, v in chosen.items() if k in train_fields},
        seed=seed,
        save_every=save_every,
    )
    top = {k: v for k, v in chosen.items() if k not in train_fields}
    cfg = RealignConfig(
        sources=Sources(base, safe, tuple(finetuned), full),
        pairs=pairs,
        out=out,
        train=train_cfg,
        merge=MergeConfig(merge, lam, ties_keep, dare_drop),
        rescale=not no_rescale,
        max_pairs=max_pairs,
        retain=str(retain) if retain is not None else None,
        export=export,
        merged_from=merged_from,
        device=device,
        preset=preset,
        utility_tasks=tuple(utility or ()),
        utility_include=str(utility_tasks_dir) if utility_tasks_dir else None,
        utility_limit=utility_limit,
        **top,
    )
    cfg.check()
    err = stderr()
    bar = _progress_bar(progress)
    task: list[Any] = []

    def on_step(step: int, total: int, loss: float) -> None:
        if bar is None:
            return
        if not task:
            bar.start()
            task.append(bar.add_task("realign", total=total, completed=step - 1, loss="-"))
        bar.update(task[0], completed=step, loss=f"{loss:.4f}")

    try:
        doc = run_realign(cfg, progress=on_step, notify=lambda line: err.print(line, markup=False))
    finally:
        if bar is not None and task:
            bar.stop()
    curve = doc["training"]["curve"]
    last = curve[-1]["loss"] if curve else float("nan")
    kept = doc["kept_fraction"]["binary"]
    mean_kept = sum(kept.values()) / max(1, len(kept))
    err.print(
        f"done: final loss {last:.4f}, binary mask keeps {mean_kept:.1%} of the task vector "
        f"(mean over tensors); wrote {', '.join(sorted(doc['outputs']))} and realign.json "
        f"in {out}",
        markup=False,
        highlight=False,
    )
    for task, d in (doc.get("utility") or {}).get("delta", {}).items():
        err.print(
            f"utility {task}: {d['metric']} {d['before']:.3f} -> {d['after']:.3f} "
            f"({d['change']:+.3f})",
            markup=False,
            highlight=False,
        )

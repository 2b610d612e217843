"""``thinksafe align``: AlphaAlign RL alignment (a verifiable safety reward and a normalised
helpfulness reward), written as a model folder the ``hf/`` and ``vllm/`` targets load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from thinksafe.cli.app import app, stderr
from thinksafe.errors import ConfigError


def _config(values: dict[str, Any]) -> Any:
    from thinksafe.repair.alphaalign.train import AlignConfig

    try:
        return AlignConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        flag = f"--{where.replace('_', '-')}: " if where else ""
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{flag}{message}") from None


def _utility_device(wanted: str) -> str:
    if wanted != "auto":
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@app.command()
def align(
    model: Annotated[
        str, typer.Option("--model", help="Model to align: a Hub name or a local folder.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the aligned model and records.")],
    harmful: Annotated[
        list[str],
        typer.Option(
            "--harmful",
            help="Harmful prompts (must be refused): a suite (starter, sst@PATH, hf:DATASET) or"
            " a JSONL/CSV file. Repeatable.",
        ),
    ],
    benign: Annotated[
        list[str] | None,
        typer.Option(
            "--benign",
            help="Benign prompts (must be answered): dolly (the Hub), a suite or a file."
            " Repeatable.",
            show_default=False,
        ),
    ] = None,
    adversarial_benign: Annotated[
        list[str] | None,
        typer.Option(
            "--adversarial-benign",
            help="Benign prompts that look harmful: xstest-safe, xstest-safe@PATH, a suite or"
            " a file. Repeatable.",
            show_default=False,
        ),
    ] = None,
    reward_model: Annotated[
        str,
        typer.Option(
            "--reward-model",
            help="Sequence-classification reward model (Hub name or folder) for the"
            " helpfulness reward, or none (AlphaAlign-Zero).",
        ),
    ] = "none",
    refusals: Annotated[
        str, typer.Option("--refusals", help="Refusal strings: builtin or a JSON file.")
    ] = "builtin",
    r_format: Annotated[float, typer.Option("--r-format", help="Format reward r_f.")] = 0.5,
    r_answer: Annotated[float, typer.Option("--r-answer", help="Refusal reward r_a.")] = 1.0,
    lora_r: Annotated[int, typer.Option("--lora-r", help="LoRA rank; 0 trains every weight.")] = 0,
    num_generations: Annotated[
        int, typer.Option("--num-generations", help="Rollouts per prompt.")
    ] = 8,
    prompts_per_step: Annotated[
        int, typer.Option("--prompts-per-step", help="Prompts per optimiser step.")
    ] = 16,
    micro_batch: Annotated[
        int | None,
        typer.Option(
            "--micro-batch",
            help="Rollouts per forward pass (default: all of a step's); must divide them.",
            show_default=False,
        ),
    ] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Optimiser steps.")] = 180,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 1e-6,
    beta: Annotated[float, typer.Option("--beta", help="KL weight (0: no reference).")] = 0.0,
    max_completion_length: Annotated[
        int, typer.Option("--max-completion-length", help="Tokens per rollout.")
    ] = 1024,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Sampling temperature.")
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for data order and training.")] = 0,
    save_steps: Annotated[int, typer.Option("--save-steps", help="Checkpoint every N steps.")] = 20,
    limit_per_source: Annotated[
        int | None,
        typer.Option(
            "--limit-per-source", help="At most N prompts from each source.", show_default=False
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cuda or cpu.")] = "auto",
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in --out.")
    ] = False,
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="Run model code from the model folder.")
    ] = False,
    utility: Annotated[
        list[str] | None,
        typer.Option(
            "--utility",
            help="lm-eval task to measure on the model before and after; repeatable.",
            show_default=False,
        ),
    ] = None,
    utility_tasks_dir: Annotated[
        Path | None,
        typer.Option("--utility-tasks-dir", help="Folder of your own lm-eval task YAML files."),
    ] = None,
    utility_limit: Annotated[
        int | None, typer.Option("--utility-limit", help="Documents per utility task.")
    ] = None,
) -> None:
    """Align a model with AlphaAlign (GRPO with a verifiable safety reward)."""
    config = _config(
        {
            "model": model,
            "out": str(out),
            "harmful": tuple(harmful),
            "benign": tuple(benign or ()),
            "adversarial_benign": tuple(adversarial_benign or ()),
            "reward_model": reward_model,
            "refusals": refusals,
            "r_format": r_format,
            "r_answer": r_answer,
            "lora_r": lora_r,
            "num_generations": num_generations,
            "prompts_per_step": prompts_per_step,
            "micro_batch": micro_batch,
            "max_steps": max_steps,
            "learning_rate": lr,
            "beta": beta,
            "max_completion_length": max_completion_length,
            "temperature": temperature,
            "seed": seed,
            "save_steps": save_steps,
            "limit_per_source": limit_per_source,
            "device": device,
            "trust_remote_code": trust_remote_code,
        }
    )
    from thinksafe.repair.alphaalign.train import train

    console = stderr()
    if utility:
        from thinksafe.repair import utility as utility_module

        utility_module.require_lm_eval()

    def progress(step: int, total: int, point: dict[str, float]) -> None:
        parts = [f"step {step}/{total}", f"reward {point.get('reward', float('nan')):.3f}"]
        for key, label in (
            ("rewards/format/mean", "format"),
            ("rewards/refusal/mean", "refusal"),
            ("rewards/helpfulness/mean", "helpful"),
            ("refusal_rate/harmful", "refuse harmful"),
            ("refusal_rate/benign", "refuse benign"),
        ):
            if key in point:
                parts.append(f"{label} {point[key]:.3f}")
        console.print("  ".join(parts), markup=False, highlight=False)

    result = train(config, resume=resume, progress=progress)
    if utility:
        from thinksafe.repair.alphaalign.record import add_utility
        from thinksafe.repair.lineage import with_utility
        from thinksafe.repair.utility import measure_utility, utility_delta

        kwargs: dict[str, Any] = {
            "include_path": utility_tasks_dir,
            "limit": utility_limit,
            "device": _utility_device(device),
            "seed": seed,
        }
        console.print(f"utility: {', '.join(utility)} before and after", markup=False)
        before = measure_utility(model, utility, **kwargs)
        after = measure_utility(result.out, utility, **kwargs)
        delta = utility_delta(before, after)
        record = {
            "tasks": list(utility),
            "before": before,
            "after": after,
            "delta": delta,
            "before_model": model,
        }
        add_utility(result.out, record)
        with_utility(result.out, delta)  # write_records wrote the lineage file
        for task, d in delta.items():
            console.print(
                f"utility {task}: {d['metric']} {d['before']:.3f} -> {d['after']:.3f}"
                f" ({d['change']:+.3f})",
                markup=False,
                highlight=False,
            )
    console.print(
        f"aligned {model} in {result.steps} steps ({result.seconds:.0f} s): {result.out}"
        f" (assess it with `thinksafe run --model hf/{result.out} --suite starter`)",
        markup=False,
        highlight=False,
    )

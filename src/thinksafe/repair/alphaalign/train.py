"""AlphaAlign training with TRL's GRPO trainer, in one process.

The paper trains with PPO; current TRL has no PPO trainer, and the paper says GRPO is
compatible. Rewards are scaled within each prompt's group (``scale_rewards="group"``), the
analogue of GRPO advantages, and there is no reference model by default (``beta=0``). The
helpfulness reward z-scores a prompt's rollouts together, so they must all be in one process:
training runs in one process, on CUDA when there is one, else on the CPU.

Output folder ``OUT``: the trained model and its tokenizer (a LoRA adapter is merged in), which
the ``hf/`` and ``vllm/`` targets load; ``checkpoints/`` (TRL's, for resuming); ``align.json``
(configuration, template, seeds, data hashes, reward curves, versions); ``rollouts.jsonl`` (a
few rollouts per step, thinking and answer kept apart); ``thinksafe-lineage.json``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from thinksafe.errors import ConfigError, MissingExtraError
from thinksafe.records import canonical_json, content_hash
from thinksafe.repair.alphaalign.data import PromptSet, prompt_set
from thinksafe.repair.alphaalign.record import write_records
from thinksafe.repair.alphaalign.rewards import (
    DEFAULT_R_ANSWER,
    DEFAULT_R_FORMAT,
    FormatReward,
    HelpfulnessReward,
    RefusalReward,
    Refusals,
    RewardContext,
)
from thinksafe.repair.alphaalign.template import render

__all__ = ["ALIGN_EXTRA", "AlignConfig", "AlignResult", "Progress", "train"]

ALIGN_EXTRA = "pip install 'thinksafe[align]'"
CHECKPOINTS = "checkpoints"
Progress = Callable[[int, int, dict[str, float]], None]


class AlignConfig(BaseModel):
    """Everything a run is made from; its hash names the run in the lineage record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    out: str
    harmful: tuple[str, ...]
    benign: tuple[str, ...] = ()
    adversarial_benign: tuple[str, ...] = ()
    limit_per_source: int | None = Field(default=None, ge=1)
    reward_model: str = "none"
    refusals: str = "builtin"
    r_format: float = Field(default=DEFAULT_R_FORMAT, ge=0)
    r_answer: float = Field(default=DEFAULT_R_ANSWER, ge=0)
    lora_r: int = Field(default=0, ge=0)
    lora_alpha: int | None = Field(default=None, ge=1)
    num_generations: int = Field(default=8, ge=2)
    prompts_per_step: int = Field(default=16, ge=1)
    micro_batch: int | None = Field(default=None, ge=1)
    max_steps: int = Field(default=180, ge=1)
    learning_rate: float = Field(default=1e-6, gt=0)
    beta: float = Field(default=0.0, ge=0)
    max_completion_length: int = Field(default=1024, ge=1)
    temperature: float = Field(default=1.0, gt=0)
    seed: int = 0
    save_steps: int = Field(default=20, ge=1)
    device: Literal["auto", "cuda", "cpu"] = "auto"
    trust_remote_code: bool = False

    @model_validator(mode="after")
    def _check(self) -> AlignConfig:
        if not self.harmful:
            raise ValueError("give at least one --harmful source")
        if self.reward_model != "none" and not (self.benign or self.adversarial_benign):
            raise ValueError("a reward model scores benign prompts: give --benign as well")
        total = self.num_generations * self.prompts_per_step
        if total % (self.micro_batch or total):
            raise ValueError(
                f"--micro-batch must divide rollouts per step ({total} = "
                f"{self.prompts_per_step} prompts x {self.num_generations})"
            )
        return self

    def sha256(self) -> str:
        """A hash of everything that shapes the result (not the output folder)."""
        doc = self.model_dump(mode="json")
        doc.pop("out")
        return content_hash("thinksafe.align.config/1", doc)


@dataclass(frozen=True)
class AlignResult:
    out: Path
    steps: int
    curves: list[dict[str, float]]
    seconds: float
    resumed_from: str | None


def _require() -> tuple[Any, Any, Any]:
    try:
        import torch
        import transformers
        import trl
    except ImportError as exc:
        raise MissingExtraError(
            f"thinksafe align needs torch, transformers, trl and peft ({exc.name} is missing):"
            f" {ALIGN_EXTRA}"
        ) from None
    return torch, transformers, trl


def thinking_opens(tokenizer: Any) -> bool:
    """Whether the chat template leaves the assistant inside an open ``<think>`` block."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    try:
        text = str(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True
            )
        )
    except Exception:
        return False
    return text.rfind("<think>") > text.rfind("</think>")


def _device(torch: Any, wanted: str) -> str:
    if wanted == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA device is visible")
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def last_checkpoint(out: Path) -> Path | None:
    folder = out / CHECKPOINTS
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


CURVE_KEYS = (
    "reward",
    "reward_std",
    "rewards/format/mean",
    "rewards/refusal/mean",
    "rewards/helpfulness/mean",
    "refusal_rate/harmful",
    "refusal_rate/benign",
    "no_answer_rate",
    "completions/mean_length",
    "kl",
    "entropy",
)


def curve_point(step: Any, logs: Mapping[str, Any]) -> dict[str, float]:
    """The curve values of one logged step (a missing or non-finite value is left out)."""
    point = {"step": float(step)}
    for key in CURVE_KEYS:
        value = logs.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            point[key] = float(value)
    return point


def _callback(
    transformers: Any,
    ctx: RewardContext,
    rollouts: Path,
    curves: list[dict[str, float]],
    progress: Progress | None,
) -> Any:
    class _Record(transformers.TrainerCallback):  # type: ignore[misc]
        """Keeps the reward curves, writes a few rollouts per step, reports progress."""

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if ctx.recent:
                with rollouts.open("a", encoding="utf-8") as fh:
                    for row in ctx.recent:
                        fh.write(canonical_json({"step": state.global_step, **row}) + "\n")
                ctx.recent = []

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
            if not logs or "reward" not in logs:
                return
            point = curve_point(state.global_step, logs)
            curves.append(point)
            if progress is not None:
                progress(state.global_step, state.max_steps, point)

    return _Record()


def train(
    config: AlignConfig,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    prompts: PromptSet | None = None,
) -> AlignResult:
    """Run AlphaAlign as ``config`` says and write the output folder. ``prompts`` replaces the
    configured data sources (the Python API and the benchmark build theirs in memory)."""
    with warnings.catch_warnings():
        # TRL calls transformers names that transformers 5 renamed; the warnings are theirs.
        warnings.filterwarnings("ignore", message=_RENAMED, category=FutureWarning)
        return _train(config, resume=resume, progress=progress, prompts=prompts)


_RENAMED = r".*is deprecated and will be removed in v6"


def _train(
    config: AlignConfig,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    prompts: PromptSet | None = None,
) -> AlignResult:
    torch, transformers, trl = _require()
    try:
        import peft
    except ImportError:
        raise MissingExtraError(f"thinksafe align needs peft: {ALIGN_EXTRA}") from None
    from datasets import Dataset

    out = Path(config.out)
    checkpoint = last_checkpoint(out) if resume else None
    if resume and checkpoint is None:
        raise ConfigError(f"--resume: no checkpoint under {out / CHECKPOINTS}; run without it")
    if not resume and last_checkpoint(out) is not None:
        raise ConfigError(f"{out} already holds checkpoints: add --resume, or pick a new --out")
    device = _device(torch, config.device)
    refusals = Refusals.load(config.refusals)
    data = prompts or prompt_set(
        config.harmful,
        config.benign,
        config.adversarial_benign,
        seed=config.seed,
        limit_per_source=config.limit_per_source,
    )
    transformers.utils.logging.disable_progress_bar()
    transformers.set_seed(config.seed)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else None
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            config.model, trust_remote_code=config.trust_remote_code
        )
        model = transformers.AutoModelForCausalLM.from_pretrained(
            config.model, trust_remote_code=config.trust_remote_code, dtype=dtype
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model {config.model!r} could not be loaded ({str(exc).splitlines()[0]});"
            " give a Hub name or a local model folder"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    ctx = RewardContext(refusals, thinking_open=thinking_opens(tokenizer))
    funcs: list[Any] = [FormatReward(ctx, config.r_format), RefusalReward(ctx, config.r_answer)]
    if config.reward_model != "none":
        from thinksafe.repair.alphaalign.rm import RewardModelScorer

        funcs.append(
            HelpfulnessReward(
                ctx,
                RewardModelScorer(
                    config.reward_model,
                    device=device,
                    trust_remote_code=config.trust_remote_code,
                    dtype=dtype,
                ),
            )
        )
    total = config.num_generations * config.prompts_per_step
    micro = config.micro_batch or total
    args = trl.GRPOConfig(
        output_dir=str(out / CHECKPOINTS),
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        num_generations=config.num_generations,
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=total // micro,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        beta=config.beta,
        scale_rewards="group",
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        use_cpu=device == "cpu",
        bf16=dtype is not None,
        activation_checkpointing=device == "cuda",
        remove_unused_columns=False,
    )
    peft_config = None
    if config.lora_r:
        peft_config = peft.LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha or 2 * config.lora_r,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    out.mkdir(parents=True, exist_ok=True)
    curves: list[dict[str, float]] = []
    if checkpoint is not None:
        curves.extend(_earlier_curves(out))
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_list(data.rows(render)),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_callback(transformers, ctx, out / "rollouts.jsonl", curves, progress)],
    )
    trainer.remove_callback(transformers.PrinterCallback)  # progress is reported above
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - started
    final = trainer.model
    if config.lora_r:
        final = final.merge_and_unload()
    final.save_pretrained(out)
    tokenizer.save_pretrained(out)
    steps = int(trainer.state.global_step)
    write_records(
        out,
        config=config,
        data=data,
        refusals=refusals,
        curves=curves,
        steps=steps,
        seconds=seconds,
        device=device,
        thinking_open=ctx.thinking_open,
        resumed_from=str(checkpoint) if checkpoint else None,
        versions={
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "peft": peft.__version__,
        },
    )
    return AlignResult(out, steps, curves, seconds, str(checkpoint) if checkpoint else None)


def _earlier_curves(out: Path) -> list[dict[str, float]]:
    """The curve points of the run being resumed (kept in ``align.json`` when it finished,
    else rebuilt from the checkpoint's trainer state)."""
    checkpoint = last_checkpoint(out)
    if checkpoint is None or not (checkpoint / "trainer_state.json").is_file():
        return []
    state = json.loads((checkpoint / "trainer_state.json").read_text("utf-8"))
    points = []
    for logs in state.get("log_history", []):
        if "reward" in logs:
            points.append(curve_point(logs.get("step", 0), logs))
    return points

"""DPO on the mask logits only: loss = -log sigmoid(beta * ((pc - rc) - (pr - rr))), where pc/pr
are the fused model's log-probabilities of the chosen/rejected responses and rc/rr the
reference's. Checkpoints hold logits, optimiser, schedule, random state and the loss curve, so a
killed job resumes where it stopped."""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from thinksafe.repair.somf.data import Pair
from thinksafe.repair.somf.fusion import Fusion, noisy_masks

REFERENCES = ("finetuned", "noisy")
TEMPLATES = ("auto", "chat", "plain")
PLAIN_TEMPLATE = "{prompt}\n\n### Response:"  # the official code's WizardLM template


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 100
    lr: float = 0.1
    schedule: str = "constant"  # cosine | constant
    warmup_steps: int = 0
    batch_size: int = 4
    grad_accum: int = 1
    beta: float = 0.1
    reference: str = "finetuned"
    max_length: int = 512
    template: str = "auto"
    seed: int = 0
    save_every: int = 50
    mask_mode: str = "expected"  # expected (sigmoid(logit)) | soft (Concrete samples, the paper)
    retain_weight: float = 0.3  # weight of the retain term (used only when retain rows are given)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Encoded:
    input_ids: Tensor
    attention_mask: Tensor
    labels_mask: Tensor  # 1 on response tokens (the ones scored), aligned with input_ids[:, 1:]


def prompt_text(tokenizer: Any, prompt: str, template: str) -> str:
    use_chat = template == "chat" or (
        template == "auto" and getattr(tokenizer, "chat_template", None)
    )
    if use_chat:
        text: str = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return text
    return PLAIN_TEMPLATE.format(prompt=prompt)


def encode(
    tokenizer: Any, rows: Sequence[tuple[str, str]], *, max_length: int, template: str, device: str
) -> Encoded:
    """Right-padded (prompt + response + eos) rows; the prompt is cut from the left and the
    response from the right when a row is longer than ``max_length``."""
    seqs: list[list[int]] = []
    starts: list[int] = []
    eos = tokenizer.eos_token_id
    for prompt, response in rows:
        p = tokenizer(prompt_text(tokenizer, prompt, template), add_special_tokens=False)[
            "input_ids"
        ]
        r = tokenizer(response, add_special_tokens=False)["input_ids"] + (
            [eos] if eos is not None else []
        )
        p = p[-max(1, max_length // 2) :] if len(p) + len(r) > max_length else p
        r = r[: max(1, max_length - len(p))]
        seqs.append(p + r)
        starts.append(len(p))
    width = max(len(s) for s in seqs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    att = torch.zeros((len(seqs), width), dtype=torch.long)
    lab = torch.zeros((len(seqs), width - 1), dtype=torch.float32)
    for i, (s, start) in enumerate(zip(seqs, starts)):
        ids[i, : len(s)] = torch.tensor(s)
        att[i, : len(s)] = 1
        lab[i, start - 1 : len(s) - 1] = 1.0
    return Encoded(ids.to(device), att.to(device), lab.to(device))


def sequence_logps(logits: Tensor, batch: Encoded) -> Tensor:
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = logp.gather(-1, batch.input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (picked * batch.labels_mask).sum(-1)


def dpo_loss(policy: Tensor, reference: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """Rows are [chosen..., rejected...]; returns the mean loss and the per-pair margins."""
    n = policy.shape[0] // 2
    margin = (policy[:n] - reference[:n]) - (policy[n:] - reference[n:])
    return -F.logsigmoid(beta * margin).mean(), margin.detach()


def encode_pairs(tokenizer: Any, pairs: Sequence[Pair], cfg: TrainConfig, device: str) -> Encoded:
    rows = [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    return encode(tokenizer, rows, max_length=cfg.max_length, template=cfg.template, device=device)


def reference_logps(
    fusion: Fusion, batch: Encoded, cfg: TrainConfig, gen: torch.Generator
) -> Tensor:
    with torch.no_grad():
        if cfg.reference == "noisy":
            weights = fusion.weights("soft", masks=noisy_masks(fusion.mask, gen), generator=gen)
        else:
            weights = fusion.weights("ones", gen)
        logits = fusion.forward(
            weights, input_ids=batch.input_ids, attention_mask=batch.attention_mask
        )
        return sequence_logps(logits, batch)


def pair_loss(
    fusion: Fusion,
    pairs: Sequence[Pair],
    tokenizer: Any,
    cfg: TrainConfig,
    gen: torch.Generator,
    device: str,
    *,
    mode: str = "soft",
) -> tuple[Tensor, Tensor]:
    batch = encode_pairs(tokenizer, pairs, cfg, device)
    ref = reference_logps(fusion, batch, cfg, gen)
    weights = fusion.weights(mode, gen)  # type: ignore[arg-type]
    logits = fusion.forward(weights, input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    return dpo_loss(sequence_logps(logits, batch), ref, cfg.beta)


class RetainReference:
    """The fine-tuned model's log-probability of each retain row, computed at the row's first
    use and kept: the model is frozen, so the value never changes. Rows not yet seen are scored
    together in one forward pass. Under a DARE merge the fine-tuned model is a fresh random draw
    per call, so nothing is kept and every call scores its rows again (as before)."""

    def __init__(
        self,
        fusion: Fusion,
        rows: Sequence[tuple[str, str]],
        tokenizer: Any,
        cfg: TrainConfig,
        device: str,
    ) -> None:
        self.fusion = fusion
        self.rows = rows
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.device = device
        self.keep = fusion.merge_config.method != "dare"
        self.cache: dict[int, Tensor] = {}

    def logps(self, idx: Sequence[int], gen: torch.Generator) -> Tensor:
        missing = [i for i in dict.fromkeys(idx) if not self.keep or i not in self.cache]
        fresh: dict[int, Tensor] = {}
        if missing:
            batch = encode(
                self.tokenizer,
                [self.rows[i] for i in missing],
                max_length=self.cfg.max_length,
                template=self.cfg.template,
                device=self.device,
            )
            with torch.no_grad():
                ones = self.fusion.weights("ones", gen)
                values = sequence_logps(
                    self.fusion.forward(
                        ones, input_ids=batch.input_ids, attention_mask=batch.attention_mask
                    ),
                    batch,
                )
            fresh = dict(zip(missing, values))
            if self.keep:
                self.cache.update(fresh)
        return torch.stack([fresh[i] if i in fresh else self.cache[i] for i in idx])


def retain_loss(
    fusion: Fusion,
    rows: Sequence[tuple[str, str]],
    tokenizer: Any,
    cfg: TrainConfig,
    gen: torch.Generator,
    device: str,
    *,
    mode: str = "soft",
    reference: Tensor | None = None,
) -> Tensor:
    """How much less likely the fused model makes each retained response than the fine-tuned
    model does, per token, counted only where it is less likely (a hinge): the mask may not buy
    safety by unlearning what the fine-tune should keep (benign help, the new skill).
    ``reference`` holds the fine-tuned model's log-probabilities of ``rows`` when they are
    already known (see ``RetainReference``); without it they are computed here."""
    batch = encode(tokenizer, rows, max_length=cfg.max_length, template=cfg.template, device=device)
    if reference is None:
        reference = RetainReference(fusion, rows, tokenizer, cfg, device).logps(
            range(len(rows)), gen
        )
    weights = fusion.weights(mode, gen)  # type: ignore[arg-type]
    logits = fusion.forward(weights, input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    tokens = batch.labels_mask.sum(-1).clamp(min=1.0)
    return (F.relu(reference - sequence_logps(logits, batch)) / tokens).mean()


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    span = max(1, cfg.steps - cfg.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - cfg.warmup_steps) / span)))


def batch_order(n_pairs: int, cfg: TrainConfig) -> list[list[int]]:
    """Every micro-batch of the run, fixed by the seed (so a resumed run sees the same data)."""
    needed = cfg.steps * cfg.grad_accum
    rng = random.Random(cfg.seed)
    batches: list[list[int]] = []
    while len(batches) < needed:
        idx = list(range(n_pairs))
        rng.shuffle(idx)
        for i in range(0, n_pairs, cfg.batch_size):
            batches.append(idx[i : i + cfg.batch_size])
    return batches[:needed]


Progress = Callable[[int, int, float], None]


def train(
    fusion: Fusion,
    tokenizer: Any,
    pairs: Sequence[Pair],
    cfg: TrainConfig,
    *,
    device: str,
    checkpoint: Path | None = None,
    fingerprint: str = "",
    progress: Progress | None = None,
    retain: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Train the mask; returns the loss curve and timing. Resumes from ``checkpoint`` when it
    exists and was written for the same ``fingerprint``."""
    params = list(fusion.mask.parameters())
    optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _lr_factor(s, cfg))
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    curve: list[dict[str, float]] = []
    start = 0
    if checkpoint is not None and checkpoint.is_file():
        state = torch.load(str(checkpoint), map_location=device, weights_only=False)
        if state.get("fingerprint") != fingerprint:
            from thinksafe.errors import ConfigError

            raise ConfigError(
                f"{checkpoint} was written by a run with other settings; use another --out "
                "or delete that folder"
            )
        with torch.no_grad():
            for p, saved in zip(params, state["logits"]):
                p.copy_(saved)
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"].cpu())
        curve = list(state["curve"])
        start = int(state["step"])
    order = batch_order(len(pairs), cfg)
    retain_order = batch_order(len(retain), replace(cfg, seed=cfg.seed + 1)) if retain else []
    retain_ref = RetainReference(fusion, retain, tokenizer, cfg, device)
    seconds = 0.0
    for step in range(start, cfg.steps):
        t0 = time.perf_counter()
        optim.zero_grad(set_to_none=True)
        total = 0.0
        margins = []
        for micro in range(cfg.grad_accum):
            chunk = [pairs[i] for i in order[step * cfg.grad_accum + micro]]
            loss, margin = pair_loss(fusion, chunk, tokenizer, cfg, gen, device, mode=cfg.mask_mode)
            if retain:
                picked = retain_order[step * cfg.grad_accum + micro]
                kept = [retain[i] for i in picked]
                loss = loss + cfg.retain_weight * retain_loss(
                    fusion,
                    kept,
                    tokenizer,
                    cfg,
                    gen,
                    device,
                    mode=cfg.mask_mode,
                    reference=retain_ref.logps(picked, gen),
                )
            (loss / cfg.grad_accum).backward()  # type: ignore[no-untyped-call]
            total += float(loss.detach()) / cfg.grad_accum
            margins.append(margin)
        optim.step()
        sched.step()
        seconds += time.perf_counter() - t0
        acc = float((torch.cat(margins) > 0).float().mean())
        curve.append({"step": step + 1, "loss": round(total, 6), "accuracy": round(acc, 4)})
        if progress is not None:
            progress(step + 1, cfg.steps, total)
        done = step + 1
        if checkpoint is not None and (done % cfg.save_every == 0 or done == cfg.steps):
            _save(checkpoint, params, optim, sched, gen, curve, done, fingerprint)
    ran = cfg.steps - start
    return {
        "curve": curve,
        "steps_run": ran,
        "resumed_from": start,
        "seconds_per_step": round(seconds / ran, 4) if ran else None,
    }


def _save(
    path: Path,
    params: list[Any],
    optim: Any,
    sched: Any,
    gen: torch.Generator,
    curve: list[dict[str, float]],
    step: int,
    fingerprint: str,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "logits": [p.detach().cpu() for p in params],
            "optim": optim.state_dict(),
            "sched": sched.state_dict(),
            "gen": gen.get_state(),
            "curve": curve,
            "step": step,
            "fingerprint": fingerprint,
        },
        str(tmp),
    )
    os.replace(tmp, path)

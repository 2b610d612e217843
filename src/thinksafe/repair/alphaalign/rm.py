"""A sequence-classification reward model that scores (prompt, answer) pairs.

Any ``AutoModelForSequenceClassification`` with one output works, by Hub name or path. The pair
is written with the reward model's own chat template when it has one, else as the prompt, a
blank line and the answer. Scores are raw logits: AlphaAlign normalises them within each
prompt's group of rollouts, so the model's scale does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from thinksafe.errors import ConfigError

__all__ = ["RewardModelScorer"]


class RewardModelScorer:
    """Scores pairs in batches of ``batch_size`` on ``device``, without gradients."""

    def __init__(
        self,
        name_or_path: str,
        *,
        device: str,
        batch_size: int = 8,
        max_length: int = 2048,
        trust_remote_code: bool = False,
        dtype: Any = None,
    ) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                name_or_path, trust_remote_code=trust_remote_code
            )
            model = AutoModelForSequenceClassification.from_pretrained(
                name_or_path, trust_remote_code=trust_remote_code, dtype=dtype
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"reward model {name_or_path!r} could not be loaded as a sequence-classification"
                f" model ({str(exc).splitlines()[0]}); give a Hub name, a local folder, or none"
            ) from None
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model = model.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.name = name_or_path

    def text(self, prompt: str, answer: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(
                    [
                        {"role": "user", "content": prompt},
                        {"role": "assistant", "content": answer},
                    ],
                    tokenize=False,
                )
            )
        return f"{prompt}\n\n{answer}"

    def __call__(self, prompts: Sequence[str], answers: Sequence[str]) -> list[float]:
        import torch

        texts = [self.text(p, a) for p, a in zip(prompts, answers)]
        # a chat template writes its own special tokens; plain text gets the tokenizer's
        plain = not getattr(self.tokenizer, "chat_template", None)
        out: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                texts[start : start + self.batch_size],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_length,
                add_special_tokens=plain,
            ).to(self.device)
            with torch.inference_mode():
                logits = self.model(**batch).logits
            out.extend(float(v) for v in logits[:, 0].float().cpu())
        return out

"""Guard judges on a local model (``hf/``, ``vllm/``): the tokenizer's vocabulary and chat
template (:class:`Vocab`), the guard prompt rendered by the model's own chat template
(:func:`render_model_template`), and running whole prompts on the engine in batches
(:class:`LocalGuardRunner`), including reading P(Yes) from next-token logits
(:func:`score_yes`). :mod:`thinksafe.judges.guards` builds the judges on these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, ProviderError, UserError
from thinksafe.protocols import Target
from thinksafe.records import canonical_json
from thinksafe.targets.local import Batcher, LocalTarget, TemplateEngine
from thinksafe.targets.thinking import Step

__all__ = [
    "LocalGuardRunner",
    "Turn",
    "Vocab",
    "local_runner",
    "own_chat_template",
    "passthrough_template",
    "read_vocab",
    "render_model_template",
    "score_yes",
]

DEFAULT_BATCH_WAIT_S = 0.005


@dataclass(frozen=True)
class Vocab:
    """What a guard needs from a local model's tokenizer: its beginning-of-text token, its
    special tokens (defused in model text), its vocabulary and its own chat template (with
    the tokenizer that renders it), if it has one."""

    bos: str = ""
    specials: tuple[str, ...] = ()
    ids: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    chat_template: str | None = field(default=None, compare=False, repr=False)
    tokenizer: Any = field(default=None, compare=False, repr=False)

    def has(self, token: str) -> bool:
        return token in self.ids

    def token_id(self, token: str) -> int | None:
        return self.ids.get(token)

    def render(self, conversation: Sequence[Mapping[str, Any]], **kwargs: Any) -> str:
        """``conversation`` rendered by the model's chat template, generation prompt
        included; ``kwargs`` are the template's own arguments."""
        if self.chat_template is None or self.tokenizer is None:
            raise ValueError("this tokenizer has no chat template")
        text = self.tokenizer.apply_chat_template(
            [dict(turn) for turn in conversation],
            tokenize=False,
            add_generation_prompt=True,
            chat_template=self.chat_template,
            **kwargs,
        )
        if not isinstance(text, str):
            raise ValueError("the chat template did not render to text")
        return text


def _defusable(token: str) -> bool:
    """A special token worth defusing in text: not blank, not a plain word or character."""
    return len(token) >= 3 and token.strip() == token and not token.isalnum()


def own_chat_template(tokenizer: Any) -> str | None:
    """The chat template a tokenizer ships (the default one of several), or None."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, Mapping):
        template = template.get("default")
    return template if isinstance(template, str) and template.strip() else None


def read_vocab(tokenizer: Any, chat_template: str | None = None) -> Vocab:
    """The :class:`Vocab` of a transformers (or vLLM) tokenizer; ``chat_template`` (the text
    of a template the user named) replaces the tokenizer's own."""
    bos = getattr(tokenizer, "bos_token", None)
    specials = {str(t) for t in getattr(tokenizer, "all_special_tokens", ()) or ()}
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    for token in added.values():
        if getattr(token, "special", False):
            specials.add(str(getattr(token, "content", token)))
    return Vocab(
        bos=bos if isinstance(bos, str) else "",
        specials=tuple(sorted(s for s in specials if _defusable(s))),
        ids=dict(tokenizer.get_vocab()),
        chat_template=chat_template or own_chat_template(tokenizer),
        tokenizer=tokenizer,
    )


Turn = tuple[Literal["user", "assistant"], str]


def _plain(text: str) -> Any:
    return text


def _parts(text: str) -> Any:
    return [{"type": "text", "text": text}]


# How a message's content is given to a chat template: plain text (Llama Guard 3 8B,
# ShieldGemma), then a list of typed parts (Llama Guard 3 1B and Vision, Llama Guard 4).
_CONTENT_FORMS: tuple[Callable[[str], Any], ...] = (_plain, _parts)


def render_model_template(
    vocab: Vocab,
    turns: Sequence[Turn],
    kwargs: Mapping[str, Any] | None = None,
    accept: Callable[[str], bool] | None = None,
) -> str | None:
    """The guard prompt rendered by the model's own chat template from ``turns`` (texts
    already defused), or None when the model has no chat template or its template does not
    build the guard's prompt: it fails, leaves out a turn's text, or ``accept`` rejects what
    it wrote. Message contents are tried as plain text, then as a list of text parts."""
    if vocab.chat_template is None or vocab.tokenizer is None:
        return None
    for form in _CONTENT_FORMS:
        conversation = [{"role": role, "content": form(text)} for role, text in turns]
        try:
            rendered = vocab.render(conversation, **dict(kwargs or {}))
        except Exception:  # a template that cannot take this form: try the next, or decline
            continue
        if not all(text.strip() in rendered for _, text in turns):
            continue
        if accept is None or accept(rendered):
            return rendered
    return None


def passthrough_template() -> str | None:
    """The path of ``rubrics/guard_passthrough.jinja``, when it is a file on disk."""
    path = resources.files("thinksafe.judges").joinpath("rubrics/guard_passthrough.jinja")
    return str(path) if isinstance(path, Path) and path.is_file() else None


def _provider_error(exc: BaseException) -> BaseException:
    if isinstance(exc, (ProviderError, UserError, asyncio.CancelledError)):
        return exc
    return ProviderError(
        f"the local guard model failed: {type(exc).__name__}: {exc}", transient=False
    )


def score_yes(engine: Any, prompts: Sequence[str], yes: int, no: int) -> list[float]:
    """For each prompt, the probability that a transformers model's next token is ``yes``
    rather than ``no``: softmax over the two next-token logits. Batched, left-padded."""
    import torch

    engine.load()
    tokenizer = engine.tokenizer
    size = max(1, int(getattr(engine, "batch_size", 8)))
    out: list[float] = []
    for start in range(0, len(prompts), size):
        chunk = list(prompts[start : start + size])
        enc = tokenizer(chunk, add_special_tokens=False, padding=True, return_tensors="pt")
        ids = enc["input_ids"].to(engine.device)
        mask = enc["attention_mask"].to(engine.device)
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = engine.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                use_cache=False,
                logits_to_keep=1,
            ).logits[:, -1, :]
        pair = logits[:, [yes, no]].float()
        out.extend(float(p) for p in torch.softmax(pair, dim=-1)[:, 0].tolist())
    return out


class LocalGuardRunner:
    """Runs whole guard prompts on a local target's engine, gathered into batches (one batch
    at a time, so the model is never used by two threads at once)."""

    def __init__(self, engine: TemplateEngine, *, max_batch: int, wait_s: float) -> None:
        self._engine = engine
        # A chat template the user named for this model (chat_template=PATH) replaces its own.
        self._user_template = engine.chat_template_path
        self._configs: dict[str, GenerationConfig] = {}
        self._vocab: Vocab | None = None
        self._batcher: Batcher[str, str | float] = Batcher(
            self._run, max_batch=max_batch, wait_s=wait_s
        )

    @property
    def can_score(self) -> bool:
        """Whether next-token probabilities can be read (a transformers model)."""
        from thinksafe.targets.hf import HFEngine

        return isinstance(self._engine, HFEngine)

    def _load(self) -> Vocab:
        engine = self._engine
        # The engine renders nothing for a guard (the judge hands it whole prompts), but it
        # will not load a model without a chat template: such a model (WildGuard) gets the
        # pass-through one. The tokenizer's own template, if any, is read from the tokenizer.
        if engine.chat_template_path is None:
            engine.chat_template_path = passthrough_template()
        engine.load()
        template = None
        if self._user_template:
            try:
                template = Path(self._user_template).expanduser().read_text("utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read chat_template {self._user_template}: {exc.strerror or exc}"
                ) from None
        return read_vocab(engine.tokenizer, chat_template=template)

    async def vocab(self) -> Vocab:
        """The model's vocabulary and chat template (loading the model on first use)."""
        if self._vocab is None:
            self._vocab = await asyncio.to_thread(self._load)
        return self._vocab

    async def generate(self, prompt: str, config: GenerationConfig) -> str:
        key = "generate:" + canonical_json(config.to_dict())
        self._configs.setdefault(key, config)
        result = await self._batcher.submit(key, prompt)
        if not isinstance(result, str):
            raise ProviderError("the local guard model returned no text", transient=False)
        return result

    async def yes_probability(self, prompt: str, yes: int, no: int) -> float:
        result = await self._batcher.submit(f"score:{yes}:{no}", prompt)
        if isinstance(result, str):
            raise ProviderError("the local guard model returned no probability", transient=False)
        return float(result)

    def _run(self, key: str, prompts: list[str]) -> list[tuple[int, str | float | BaseException]]:
        kind, _, rest = key.partition(":")
        values: list[str | float]
        try:
            if kind == "score":
                yes, no = (int(part) for part in rest.split(":"))
                values = list(score_yes(self._engine, prompts, yes, no))
            else:
                config = self._configs[key]
                budget = config.max_tokens or 64
                outputs = self._engine.run_steps([Step(p, budget) for p in prompts], config)
                values = [output.text for output in outputs]
        except BaseException as exc:  # handed to every caller of the batch
            error = _provider_error(exc)
            return [(i, error) for i in range(len(prompts))]
        if len(values) != len(prompts):
            error = ProviderError("the local guard model lost part of a batch", transient=False)
            return [(i, error) for i in range(len(prompts))]
        return list(enumerate(values))

    async def aclose(self) -> None:
        await self._batcher.aclose()


def local_runner(target: Target) -> LocalGuardRunner | None:
    """A runner for a local target (``hf/``, ``vllm/``); None for any other target."""
    if not isinstance(target, LocalTarget) or not isinstance(target.engine, TemplateEngine):
        return None
    target.without_model_defaults()  # a guard's verdicts are read greedily, never sampled
    engine = target.engine
    options = getattr(engine, "options", None)
    batch = getattr(engine, "batch_size", None) or getattr(options, "batch_size", None) or 8
    wait_ms = getattr(options, "batch_wait_ms", None)
    wait_s = float(wait_ms) / 1000.0 if wait_ms is not None else DEFAULT_BATCH_WAIT_S
    return LocalGuardRunner(engine, max_batch=max(1, int(batch)), wait_s=wait_s)

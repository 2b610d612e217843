"""How a local target (``hf/``, ``vllm/``) decodes when the run says nothing: the model's own
sampling settings and a token budget long enough for a reasoning trace.

Reasoning models are published with the sampling they were tuned for (DeepSeek-R1's distilled
models: temperature 0.6, top_p 0.95; Qwen3: also top_k 20) in ``generation_config.json``;
under greedy decoding they tend to repeat themselves until the budget runs out. So unless the
run gives ``--temperature`` or ``--top-p``, or the spec says ``model_defaults=false``, a local
target samples with the settings that file gives (greedy when it asks for no sampling), and a
model whose chat template writes think tags gets up to :data:`REASONING_BUDGET` new tokens,
capped by its context length, instead of :data:`PLAIN_BUDGET`.

:func:`resolve_decoding` reads the model's files once (a local folder, or the Hub's cache);
the :class:`Decoding` it returns is what generation uses and what the target's identity
records, so the settings used and the settings recorded cannot differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError
from thinksafe.spec import parse_target

__all__ = ["PLAIN_BUDGET", "REASONING_BUDGET", "Decoding", "decoding_line", "resolve_decoding"]

REASONING_BUDGET = 32_768
PLAIN_BUDGET = 2048
# The fields of generation_config.json that say how to sample, in the order they are shown.
SAMPLING_KEYS = ("do_sample", "temperature", "top_p", "top_k", "min_p", "repetition_penalty")
_CONTEXT_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
)


@dataclass(frozen=True)
class Decoding:
    """The decoding a local target uses when a request sets no sampling of its own."""

    enabled: bool  # model_defaults (false: greedy and the plain budget, as before)
    max_new_tokens: int
    sampling: Mapping[str, Any] = field(default_factory=dict)
    context_length: int | None = None
    reasoning_model: bool = False
    source: str | None = None  # the file the sampling settings came from

    def identity(self) -> dict[str, Any]:
        """What goes into the target's identity (and so its cache keys and ``run.target``)."""
        out: dict[str, Any] = {"max_new_tokens": self.max_new_tokens}
        if self.enabled:
            out["defaults"] = {
                "source": self.source,
                "sampling": dict(self.sampling),
                "max_new_tokens": self.max_new_tokens,
                "context_length": self.context_length,
                "reasoning_model": self.reasoning_model,
            }
        return out

    def sampling_for(self, config: GenerationConfig) -> Mapping[str, Any] | None:
        """The model's settings for a request that sets none (``temperature``, ``top_p``);
        None when the request's own settings apply."""
        if not self.enabled or config.temperature is not None or config.top_p is not None:
            return None
        return self.sampling

    def budget(self, config: GenerationConfig, prompt_tokens: int) -> int:
        """New tokens for one request: ``--max-tokens`` when given, else the default budget,
        which (with model defaults) leaves room for the prompt in the context."""
        if config.max_tokens is not None:
            return config.max_tokens
        if self.enabled and self.context_length:
            return max(1, min(self.max_new_tokens, self.context_length - prompt_tokens))
        return self.max_new_tokens

    def line(self, config: GenerationConfig) -> str:
        """One line for the terminal: how this run's requests are decoded."""
        sampling = self.sampling_for(config)
        if sampling is None:
            given = ", ".join(
                f"{name} {value:g}"
                for name, value in (("temperature", config.temperature), ("top_p", config.top_p))
                if value is not None
            )
            how = (
                f"sampled as given ({given})"
                if config.temperature
                else "greedy" + (f" as given ({given})" if given else "")
            )
            if not self.enabled:
                how += " (model_defaults=false)"
        elif sampling.get("do_sample"):
            shown = ", ".join(f"{k} {sampling[k]:g}" for k in SAMPLING_KEYS[1:] if k in sampling)
            how = f"sampled with the model's defaults from {self.source} ({shown})"
        elif sampling:
            penalty = sampling.get("repetition_penalty")
            how = "greedy" + (
                f" with repetition_penalty {penalty:g} from {self.source}"
                if penalty is not None
                else f" (the model's {self.source} asks for no sampling)"
            )
        else:
            how = "greedy (no sampling settings in the model's generation_config.json)"
        if config.max_tokens is not None:
            budget = f"up to {config.max_tokens} new tokens (--max-tokens)"
        else:
            budget = f"up to {self.max_new_tokens} new tokens"
            notes = []
            if self.enabled and self.reasoning_model:
                notes.append("a reasoning model")
            if self.enabled and self.context_length:
                notes.append(f"context {self.context_length}")
            if notes:
                budget += f" ({'; '.join(notes)})"
        return f"Decoding: {how}; {budget}"


def _model_file(path: str, name: str, revision: str | None) -> Path | None:
    """``name`` in a local model folder, or in the Hub's copy of ``path``: from the local
    cache, else downloaded as the model itself would be (not tried offline, or when the Hub
    cannot be reached); None when there is none."""
    folder = Path(path).expanduser()
    if folder.is_dir():
        candidate = folder / name
        return candidate if candidate.is_file() else None
    if folder.exists() or path.startswith((".", "/", "~")):
        return None
    from thinksafe.suites.hub import hub_reachable, offline, quiet_hub_logs

    try:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
    except ImportError:
        return None
    try:
        cached = try_to_load_from_cache(path, name, revision=revision)
    except Exception:  # not a Hub id at all
        return None
    if isinstance(cached, str):
        return Path(cached)
    if cached is not None or offline() or not hub_reachable():
        return None  # known to be absent, or no network: nothing to read
    with quiet_hub_logs():
        try:
            return Path(hf_hub_download(path, name, revision=revision))
        except Exception:  # no such file or model: the model's load will say which
            return None


def _read_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}; fix the file, or add model_defaults=false to the spec"
        ) from None
    return data if isinstance(data, dict) else {}


def _context_length(config: Mapping[str, Any]) -> int | None:
    for scope in (config, config.get("text_config")):
        if not isinstance(scope, Mapping):
            continue
        for key in _CONTEXT_KEYS:
            value = scope.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def _template_texts(path: str, revision: str | None, chat_template: str | None) -> list[str]:
    if chat_template:
        try:
            return [Path(chat_template).expanduser().read_text("utf-8")]
        except OSError:
            return []
    texts: list[str] = []
    template_file = _model_file(path, "chat_template.jinja", revision)
    if template_file is not None:
        texts.append(template_file.read_text("utf-8", errors="replace"))
    tokenizer = _read_json(_model_file(path, "tokenizer_config.json", revision))
    template = tokenizer.get("chat_template")
    if isinstance(template, str):
        texts.append(template)
    elif isinstance(template, list):
        texts.extend(str(t.get("template", "")) for t in template if isinstance(t, dict))
    return texts


def resolve_decoding(
    path: str,
    *,
    enabled: bool,
    max_new_tokens: int | None,
    open_tag: str,
    revision: str | None = None,
    chat_template: str | None = None,
    max_model_len: int | None = None,
    reasoning: bool = False,
) -> Decoding:
    """The :class:`Decoding` of the model at ``path`` (a folder or a Hub id).

    ``max_new_tokens`` is the spec's own budget, if it gave one; ``open_tag`` marks a reasoning
    model's chat template; ``reasoning`` says so outright (a vLLM reasoning parser was named);
    ``max_model_len`` is the context a vLLM engine is given."""
    if not enabled:
        return Decoding(enabled=False, max_new_tokens=max_new_tokens or PLAIN_BUDGET)
    gen_file = _model_file(path, "generation_config.json", revision)
    generation = _read_json(gen_file)
    sampling = {k: generation[k] for k in SAMPLING_KEYS if generation.get(k) is not None}
    for key, value in list(sampling.items()):
        if key == "do_sample":
            sampling[key] = bool(value)
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            del sampling[key]  # not a setting this reader understands: left out, not guessed
    context = max_model_len or _context_length(
        _read_json(_model_file(path, "config.json", revision))
    )
    reasoning = reasoning or any(
        open_tag in text for text in _template_texts(path, revision, chat_template)
    )
    budget = max_new_tokens or (REASONING_BUDGET if reasoning else PLAIN_BUDGET)
    if max_new_tokens is None and context:
        budget = min(budget, context)
    return Decoding(
        enabled=True,
        max_new_tokens=budget,
        sampling=sampling,
        context_length=context,
        reasoning_model=reasoning,
        source="generation_config.json" if gen_file is not None and sampling else None,
    )


def decoding_line(spec: str, config: GenerationConfig) -> str | None:
    """``Decoding: ...`` for an ``hf/`` or ``vllm/`` spec (the model's files are read, the
    model is not loaded); None for any other target."""
    parsed = parse_target(spec)
    provider, model = parsed.name, parsed.arg_text or ""
    if provider == "hf":
        from thinksafe.targets.hf import build_hf_target

        target = build_hf_target(model, require_extra=False)
    elif provider == "vllm":
        from thinksafe.targets.vllm import build_vllm_target

        target = build_vllm_target(model, require_extra=False)
    else:
        return None
    decoding = target.decoding
    return decoding.line(config) if decoding is not None else None

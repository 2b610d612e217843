"""``vllm/MODEL_OR_PATH``: vLLM's offline engine on the local GPUs (extra ``vllm``).

The same pattern as ``hf/``: the model's chat template renders each conversation, concurrent
``generate()`` calls are gathered into batches, and each batch goes to ``LLM.generate`` as token
prompts with one ``SamplingParams`` per request (vLLM schedules them itself, so batches can be
large). Thinking control works as for ``hf/``: a step that must stop at the close tag gets it as
a stop string. Prompts are tokenized here, without special tokens added, so a template that
writes its own BOS does not get a second one.

Options come from the spec's query string, then ``THINKSAFE_VLLM_<NAME>``, then the defaults
of :class:`VLLMOptions`::

    vllm/Qwen/Qwen3-8B?tensor_parallel_size=2&max_model_len=16384

``reasoning_parser=NAME`` takes the think tags from vLLM's reasoning parser of that name
(``deepseek_r1``, ``qwen3``, ...) instead of ``think_tags``.

A request that sets neither ``temperature`` nor ``top_p`` is decoded with the model's own
sampling settings (:mod:`thinksafe.targets.defaults`) unless ``model_defaults=false``.

Two engines in one run (the target and a guard judge, ``llama-guard:vllm/...``, or two guard
judges) share the GPU: :func:`share_gpu` splits :data:`GPU_MEMORY` between the engines whose
spec does not set ``gpu_memory_utilization``, two parts to the target and one to each judge.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, MissingExtraError, TargetUnavailableError
from thinksafe.targets.defaults import PLAIN_BUDGET, Decoding, resolve_decoding
from thinksafe.targets.local import (
    LocalTarget,
    TemplateEngine,
    file_digest,
    local_target,
    require_modules,
    spec_options,
)
from thinksafe.targets.thinking import Step, StepOutput, ThinkTags

__all__ = [
    "GPU_MEMORY",
    "VLLMEngine",
    "VLLMOptions",
    "build_vllm_target",
    "sampling_kwargs",
    "share_gpu",
    "step_finish",
]

VLLM_EXTRA = "pip install 'thinksafe[vllm]'"
# The share of the GPU's memory vLLM engines take when their spec sets none: one engine takes
# it all; several split it (the target two parts, each judge one).
GPU_MEMORY = 0.9
_MIN_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class VLLMOptions:
    """Options of a ``vllm/`` target (spec query string or ``THINKSAFE_VLLM_<NAME>``)."""

    tensor_parallel_size: int = 1
    dtype: str = "auto"
    gpu_memory_utilization: float | None = None  # None: GPU_MEMORY, shared (share_gpu)
    max_model_len: int | None = None
    max_new_tokens: int | None = None  # when the run sets no --max-tokens; None: see defaults
    model_defaults: bool = True  # sample with the model's generation_config.json by default
    trust_remote_code: bool = False
    revision: str | None = None
    quantization: str | None = None
    enforce_eager: bool = False
    seed: int = 0  # the engine's seed; a generation config's seed goes to each request
    batch_size: int = 256  # requests handed to vLLM at once
    batch_wait_ms: float = 20.0
    think_tags: str | None = None  # OPEN,CLOSE; default <think>,</think>
    reasoning_parser: str | None = None  # take the tags from this vLLM reasoning parser
    chat_template: str | None = None

    def __post_init__(self) -> None:
        if self.tensor_parallel_size < 1:
            raise ConfigError("tensor_parallel_size must be at least 1")
        if self.gpu_memory_utilization is not None and not 0.0 < self.gpu_memory_utilization <= 1.0:
            raise ConfigError("gpu_memory_utilization must be in (0, 1]")
        if self.think_tags and self.reasoning_parser:
            raise ConfigError("give think_tags or reasoning_parser, not both")
        if self.think_tags:
            ThinkTags.parse(self.think_tags)

    def identity(self) -> dict[str, Any]:
        """The options that change what the model generates (not parallelism or batching)."""
        return {
            "revision": self.revision,
            "dtype": self.dtype,
            "quantization": self.quantization,
            "max_model_len": self.max_model_len,
            "think_tags": self.think_tags,
            "reasoning_parser": self.reasoning_parser,
            "chat_template_sha256": (
                file_digest(self.chat_template, "chat_template") if self.chat_template else None
            ),
        }

    def engine_kwargs(self, gpu_share: float | None = None) -> dict[str, Any]:
        """Keyword arguments for ``vllm.LLM``; ``gpu_share`` is what :func:`share_gpu` gave
        this engine when its spec sets no ``gpu_memory_utilization``."""
        memory = self.gpu_memory_utilization
        if memory is None:
            memory = GPU_MEMORY if gpu_share is None else gpu_share
        kwargs: dict[str, Any] = {
            "tensor_parallel_size": self.tensor_parallel_size,
            "dtype": self.dtype,
            "gpu_memory_utilization": memory,
            "trust_remote_code": self.trust_remote_code,
            "enforce_eager": self.enforce_eager,
            "seed": self.seed,
        }
        for name in ("max_model_len", "revision", "quantization"):
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = value
        return kwargs


def sampling_kwargs(
    step: Step,
    config: GenerationConfig,
    skip_special: bool,
    sampling: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for one request's ``vllm.SamplingParams``: the model's own settings
    when ``sampling`` is given (greedy unless they ask for sampling, as transformers reads
    them), else greedy unless a temperature is set; a stop string is kept in the output so the
    thinking control can see it."""
    kwargs: dict[str, Any] = {
        "max_tokens": step.max_new_tokens,
        "temperature": config.temperature or 0.0,
        "skip_special_tokens": skip_special,
    }
    if sampling is not None:
        kwargs["temperature"] = 0.0
        if sampling.get("do_sample"):
            kwargs["temperature"] = float(sampling.get("temperature", 1.0))
            for name in ("top_p", "top_k", "min_p"):
                if name in sampling:
                    kwargs[name] = sampling[name]
        if "repetition_penalty" in sampling:
            kwargs["repetition_penalty"] = float(sampling["repetition_penalty"])
    elif config.temperature and config.top_p is not None:
        kwargs["top_p"] = config.top_p
    if config.seed is not None:
        kwargs["seed"] = config.seed
    if step.stop:
        kwargs["stop"] = list(step.stop)
        kwargs["include_stop_str_in_output"] = True
    return kwargs


def step_finish(reason: object) -> Literal["stop", "length"]:
    """A step's finish from vLLM's ``finish_reason``: ``stop`` (end of sequence or a stop
    string) as it is, and anything else as ``length``. Besides the token limit (or the context
    window) that is ``abort`` or ``error``: the output was cut before the model finished it, and
    ``length`` is what the records count as a cut output (``Completion.answer_truncated``, an
    unclosed trace), never as a complete answer."""
    return "stop" if reason == "stop" else "length"


def import_vllm() -> Any:
    try:
        vllm = importlib.import_module("vllm")
    except ImportError as exc:
        raise MissingExtraError(
            f"vllm/ models need vLLM ({exc.name} is missing) and a GPU: {VLLM_EXTRA}"
        ) from None
    return vllm


class VLLMEngine(TemplateEngine):
    """A ``vllm.LLM`` and its tokenizer, created on first use."""

    def __init__(self, model: str, options: VLLMOptions) -> None:
        tags = ThinkTags.parse(options.think_tags) if options.think_tags else ThinkTags()
        super().__init__(
            model,
            max_new_tokens=options.max_new_tokens or PLAIN_BUDGET,
            tags=tags,
            chat_template=options.chat_template,
        )
        self.options = options
        self.llm: Any = None
        self._sampling: Any = None
        self._skip_special = True
        self.gpu_share: float | None = None  # set by share_gpu

    def load(self) -> None:
        with self._lock:
            if self.llm is not None:
                return
            vllm = import_vllm()
            # A parser that cannot be found or imported stops here, before the model loads.
            name = self.options.reasoning_parser
            parser = _parser_class(name) if name else None
            try:
                llm = vllm.LLM(model=self.model_name, **self.options.engine_kwargs(self.gpu_share))
            except (OSError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise TargetUnavailableError(
                    f"vLLM cannot load {self.model_name}: {first}; check the model id or path,"
                    " and trust_remote_code / max_model_len"
                ) from None
            self.tokenizer = llm.get_tokenizer()
            if name and parser is not None:
                self.tags = self._parser_tags(parser, name)
            special = set(getattr(self.tokenizer, "all_special_tokens", ()) or ())
            # Keep the think tags in the text when the tokenizer marks them special.
            self._skip_special = not ({self.tags.open, self.tags.close} & special)
            self._sampling = vllm.SamplingParams
            self._setup_template()
            self.llm = llm

    def _parser_tags(self, parser_class: Any, name: str) -> ThinkTags:
        try:
            parser = parser_class(self.tokenizer)
        except Exception as exc:  # the parser's own check of the tokenizer, or its bugs
            raise ConfigError(
                f"vLLM's reasoning parser {name!r} does not work with {self.model_name}"
                f" ({_first_line(exc)}); give think_tags=OPEN,CLOSE instead"
            ) from None
        open_tag = getattr(parser, "start_token", None)
        close_tag = getattr(parser, "end_token", None)
        if not isinstance(open_tag, str) or not isinstance(close_tag, str):
            raise ConfigError(
                f"vLLM's reasoning parser {name!r} does not use think tags; give"
                " think_tags=OPEN,CLOSE"
            )
        return ThinkTags(open_tag, close_tag)

    def unload(self) -> None:
        with self._lock:
            self.llm = None

    def run_steps(
        self,
        steps: Sequence[Step],
        config: GenerationConfig,
        sampling: Mapping[str, Any] | None = None,
    ) -> list[StepOutput]:
        self.load()
        prompts = [{"prompt_token_ids": self.encode(step.text)} for step in steps]
        params = [
            self._sampling(**sampling_kwargs(step, config, self._skip_special, sampling))
            for step in steps
        ]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results: list[StepOutput] = []
        for output in outputs:
            choice = output.outputs[0]
            finish = step_finish(choice.finish_reason)
            results.append(StepOutput(str(choice.text), len(choice.token_ids), finish))
        return results


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _parser_class(name: str) -> Any:
    """vLLM's reasoning parser class ``name``, or a one-line ``ConfigError`` saying why it
    cannot be had (no parsers in this vLLM, no such name, a parser whose import fails)."""
    try:
        manager = importlib.import_module("vllm.reasoning").ReasoningParserManager
    except Exception as exc:  # ImportError, AttributeError, or whatever the import raised
        raise ConfigError(
            f"vLLM's reasoning parsers cannot be loaded ({_first_line(exc)});"
            " give think_tags=OPEN,CLOSE instead of reasoning_parser"
        ) from None
    known: set[str] = set()
    for attribute in ("reasoning_parsers", "lazy_parsers"):
        table = getattr(manager, attribute, None)
        if isinstance(table, Mapping):
            known.update(str(key) for key in table)
    try:
        return manager.get_reasoning_parser(name)
    except Exception as exc:
        if name in known or not isinstance(exc, KeyError):
            raise ConfigError(
                f"vLLM's reasoning parser {name!r} cannot be loaded ({_first_line(exc)});"
                " give think_tags=OPEN,CLOSE instead"
            ) from None
        names = f"; known: {', '.join(sorted(known))}" if known else ""
        raise ConfigError(
            f"vLLM has no reasoning parser {name!r}{names}; check reasoning_parser=NAME"
        ) from None


def _vllm_engine(target: object | None) -> VLLMEngine | None:
    engine = getattr(target, "engine", None)
    return engine if isinstance(target, LocalTarget) and isinstance(engine, VLLMEngine) else None


def share_gpu(target: object | None, judges: Sequence[object] = ()) -> dict[str, float]:
    """Split the GPU's memory between the ``vllm/`` engines of a run: its ``target`` (``None``
    or any other kind when it holds no engine, as when judging recorded transcripts) and its
    ``judges``' targets. Engines whose spec sets ``gpu_memory_utilization`` keep it; it is taken
    from :data:`GPU_MEMORY` first, and the rest goes two parts to the target's engine and one to
    each judge's, so that the shares add up to :data:`GPU_MEMORY` at most. Returns each
    engine's model and share; a ``ConfigError`` when the shares set in the specs leave no
    room."""
    lead = _vllm_engine(target)
    engines: list[VLLMEngine] = []
    for engine in (lead, *(_vllm_engine(j) for j in judges)):
        if engine is not None and all(engine is not seen for seen in engines):
            engines.append(engine)
    if len(engines) < 2:
        return {}
    fixed = [e.options.gpu_memory_utilization for e in engines]
    asked = sum(v for v in fixed if v is not None)
    free = [i for i, v in enumerate(fixed) if v is None]
    parts = [2 if i == 0 and lead is not None else 1 for i in free]
    left = (1.0 if not free else GPU_MEMORY) - asked
    if left < -1e-9 or (free and left / sum(parts) < _MIN_SHARE):
        raise ConfigError(
            f"the {len(engines)} vLLM engines of this run share one GPU, and their"
            f" gpu_memory_utilization settings ({asked:g} in all) leave too little for the"
            f" rest; give each vllm/ spec a share so that they add up to {GPU_MEMORY:g} at most"
        )
    shares: dict[str, float] = {}
    for index, engine in enumerate(engines):
        value = fixed[index]
        if value is None:
            share = left * parts[free.index(index)] / sum(parts)
            engine.gpu_share = math.floor(share * 1000 + 1e-6) / 1000  # never rounded up
            value = engine.gpu_share
        shares[engine.model_name] = value
    return shares


def build_vllm_target(
    model: str, env: Mapping[str, str] | None = None, *, require_extra: bool = True
) -> LocalTarget:
    """A ``vllm/`` target from the part of the spec after ``vllm/`` (query string included).
    ``require_extra=False`` skips the check that vLLM is installed (for a driver that only
    sends the work to Ray)."""
    name, options = spec_options(model, VLLMOptions, env, "THINKSAFE_VLLM_")
    if require_extra:
        require_modules(("vllm",), VLLM_EXTRA, "vllm/ models")
    engine = VLLMEngine(name, options)

    def decoding() -> Decoding:
        return resolve_decoding(
            name,
            enabled=options.model_defaults,
            max_new_tokens=options.max_new_tokens,
            open_tag=engine.tags.open,
            revision=options.revision,
            chat_template=options.chat_template,
            max_model_len=options.max_model_len,
            reasoning=options.reasoning_parser is not None,
        )

    return local_target("vllm", model, name, options, engine, decoding)


@registry.targets.register(
    "vllm",
    description="A local model on vLLM's offline engine, batched, GPU (vllm/MODEL?"
    "tensor_parallel_size=2); needs the vllm extra",
    source="https://github.com/vllm-project/vllm",
    extra="vllm",
)
def vllm_target(*, provider: str, model: str, connection: ConnectionConfig) -> LocalTarget:
    return build_vllm_target(model)

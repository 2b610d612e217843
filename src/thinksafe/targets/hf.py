"""``hf/MODEL_OR_PATH``: a local model run with transformers (extra ``local``).

The model's own chat template renders each conversation (``enable_thinking`` and other template
switches come from the generation config), and concurrent ``generate()`` calls are gathered
into batches: a small async batcher collects requests for a few milliseconds or until the batch
is full, runs the batch in a worker thread, and resolves each caller's future. Batches use left
padding; on a CUDA out-of-memory error the batch size is halved and the batch retried.

A request that sets neither ``temperature`` nor ``top_p`` is decoded with the model's own
sampling settings from its ``generation_config.json`` (:mod:`thinksafe.targets.defaults`;
``model_defaults=false`` turns that off); otherwise decoding is greedy when ``temperature`` is
unset or 0 and sampled (seeded when ``seed`` is set). The rest of that file (end-of-sequence
tokens, suppressed tokens) is always honoured. Thinking control (ZeroThink, LessThink,
MoreThink) is :mod:`thinksafe.targets.thinking`'s.

Options come from the spec's query string, then from ``THINKSAFE_HF_<NAME>`` environment
variables, then the defaults of :class:`HFOptions`::

    hf/Qwen/Qwen3-0.6B?device=cuda&dtype=bfloat16&batch_size=16
    THINKSAFE_HF_DEVICE=cpu thinksafe run --model hf/./my-model ...

Remote code is never run unless ``trust_remote_code=true``, and weights load from safetensors
files only unless ``safetensors=false``.

The batcher, the option parsing and the template handling are :mod:`thinksafe.targets.local`'s.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from thinksafe import registry
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import (
    ConfigError,
    MissingExtraError,
    ProviderError,
    TargetUnavailableError,
)
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

__all__ = ["HFEngine", "HFOptions", "build_hf_target", "import_torch"]

LOCAL_EXTRA = "pip install 'thinksafe[local]'"


# -- transformers ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HFOptions:
    """Options of an ``hf/`` target (spec query string or ``THINKSAFE_HF_<NAME>``)."""

    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps
    dtype: str = "auto"  # auto (bfloat16/float16 on a GPU, float32 on CPU), float32, ...
    batch_size: int = 8  # the largest batch; halved on a CUDA out-of-memory error
    max_new_tokens: int | None = None  # when the run sets no --max-tokens; None: see defaults
    model_defaults: bool = True  # sample with the model's generation_config.json by default
    trust_remote_code: bool = False
    safetensors: bool = True  # load safetensors weights only
    revision: str | None = None
    think_tags: str | None = None  # OPEN,CLOSE; default <think>,</think>
    chat_template: str | None = None  # a Jinja file to use instead of the model's template
    batch_wait_ms: float = 5.0  # how long the batcher gathers requests

    def identity(self) -> dict[str, Any]:
        """The options that change what the model generates (not device or batch size)."""
        out: dict[str, Any] = {
            "revision": self.revision,
            "dtype": self.dtype,
            "think_tags": self.think_tags,
        }
        if self.chat_template:
            out["chat_template_sha256"] = file_digest(self.chat_template, "chat_template")
        return out


def import_torch() -> tuple[Any, Any]:
    """``(torch, transformers)``, or ``MissingExtraError`` naming the extra."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingExtraError(
            f"hf/ models need torch and transformers ({exc.name} is missing): {LOCAL_EXTRA}"
        ) from None
    return torch, transformers


def _device(torch: Any, wanted: str) -> str:
    if wanted != "auto":
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _dtype(torch: Any, wanted: str, device: str) -> Any:
    if wanted == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    value = getattr(torch, wanted, None)
    if not isinstance(value, torch.dtype):
        raise ConfigError(f"unknown dtype {wanted!r}; use auto, float32, float16 or bfloat16")
    return value


def _is_oom(torch: Any, exc: BaseException) -> bool:
    kinds = tuple(
        k
        for k in (
            getattr(torch, "OutOfMemoryError", None),
            getattr(torch.cuda, "OutOfMemoryError", None),
        )
        if isinstance(k, type)
    )
    return bool(kinds) and isinstance(exc, kinds)


class HFEngine(TemplateEngine):
    """A transformers causal LM with its tokenizer, loaded on first use."""

    def __init__(self, path: str, options: HFOptions) -> None:
        tags = ThinkTags.parse(options.think_tags) if options.think_tags else ThinkTags()
        super().__init__(
            path,
            max_new_tokens=options.max_new_tokens or PLAIN_BUDGET,
            tags=tags,
            chat_template=options.chat_template,
        )
        self.options = options
        self.batch_size = options.batch_size
        self.model: Any = None
        self.device = "cpu"
        self._torch: Any = None
        self._eos: set[int] = set()
        self._drop: set[int] = set()

    def load(self) -> None:
        with self._lock:
            if self.model is not None:
                return
            torch, transformers = import_torch()
            transformers.utils.logging.disable_progress_bar()
            opts = self.options
            device = _device(torch, opts.device)
            dtype = _dtype(torch, opts.dtype, device)
            common: dict[str, Any] = {
                "revision": opts.revision,
                "trust_remote_code": opts.trust_remote_code,
            }
            try:
                # The config first: it says whether the model needs remote code.
                config = transformers.AutoConfig.from_pretrained(self.model_name, **common)
                tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_name, **common)
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    self.model_name,
                    config=config,
                    dtype=dtype,
                    use_safetensors=True if opts.safetensors else None,
                    **common,
                )
            except Exception as exc:  # the model's files (or its own code) are at fault
                raise TargetUnavailableError(self._load_problem(exc)) from None
            model.to(device)
            model.eval()
            tokenizer.padding_side = "left"
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            eos = model.generation_config.eos_token_id
            eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
            if tokenizer.eos_token_id is not None:
                eos_ids.add(tokenizer.eos_token_id)
            tag_ids = {
                tokenizer.convert_tokens_to_ids(t) for t in (self.tags.open, self.tags.close)
            }
            self._torch, self.tokenizer, self.device = torch, tokenizer, device
            self._eos = eos_ids
            self._drop = set(tokenizer.all_special_ids) - tag_ids
            self._setup_template()
            self.model = model

    def _load_problem(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "trust_remote_code" in str(exc):
            hint = (
                "this model needs its own code; add trust_remote_code=true to the spec only if"
                " you trust its authors"
            )
        elif "safetensors" in str(exc) and self.options.safetensors:
            hint = "no safetensors weights; add safetensors=false only if you trust the files"
        else:
            hint = "check the path or Hub id (offline, the model must be in the local cache)"
        return f"cannot load {self.model_name}: {text}; {hint}"

    def unload(self) -> None:
        with self._lock:
            if self.model is None:
                return
            self.model = None
            torch = self._torch
            if torch is not None and self.device.startswith("cuda"):
                torch.cuda.empty_cache()

    def _generation_config(
        self, config: GenerationConfig, max_new: int, sampling: Mapping[str, Any] | None = None
    ) -> Any:
        gen = copy.deepcopy(self.model.generation_config)
        gen.max_new_tokens = max_new
        gen.pad_token_id = self.tokenizer.pad_token_id
        gen.num_beams = 1
        gen.num_return_sequences = 1
        if sampling is not None:  # the model's defaults, exactly as recorded
            gen.do_sample = bool(sampling.get("do_sample"))
            gen.repetition_penalty = sampling.get("repetition_penalty", 1.0)
            if gen.do_sample:
                gen.temperature = sampling.get("temperature", 1.0)
                gen.top_p = sampling.get("top_p", 1.0)
                gen.top_k = sampling.get("top_k")
                gen.min_p = sampling.get("min_p")
            else:
                gen.temperature = gen.top_p = gen.top_k = gen.min_p = None
        elif config.temperature:
            gen.do_sample = True
            gen.temperature = config.temperature
            if config.top_p is not None:
                gen.top_p = config.top_p
        else:
            gen.do_sample = False
            gen.temperature = gen.top_p = gen.top_k = gen.min_p = None
        return gen

    def run_steps(
        self,
        steps: Sequence[Step],
        config: GenerationConfig,
        sampling: Mapping[str, Any] | None = None,
    ) -> list[StepOutput]:
        self.load()
        torch = self._torch
        order = sorted(range(len(steps)), key=lambda i: len(steps[i].text))
        results: list[StepOutput | None] = [None] * len(steps)
        pos = 0
        while pos < len(order):
            chunk = order[pos : pos + self.batch_size]
            try:
                outputs = self._generate([steps[i] for i in chunk], config, sampling)
            except Exception as exc:
                if not _is_oom(torch, exc):
                    raise
                if self.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                if len(chunk) == 1:
                    raise ProviderError(
                        f"{self.model_name} ran out of GPU memory at batch size 1; lower"
                        " max_tokens, pick a smaller dtype or use vllm/",
                        transient=False,
                    ) from None
                self.batch_size = max(1, len(chunk) // 2)
                continue
            for i, output in zip(chunk, outputs):
                results[i] = output
            pos += len(chunk)
        return [r for r in results if r is not None]

    def _generate(
        self,
        steps: Sequence[Step],
        config: GenerationConfig,
        sampling: Mapping[str, Any] | None = None,
    ) -> list[StepOutput]:
        torch = self._torch
        import transformers

        enc = self.tokenizer(
            [s.text for s in steps], add_special_tokens=False, padding=True, return_tensors="pt"
        )
        input_ids = enc["input_ids"].to(self.device)
        attention = enc["attention_mask"].to(self.device)
        start = int(input_ids.shape[1])
        limits = [s.max_new_tokens for s in steps]
        stopper = _RowStopper(self, start, limits, [s.stop for s in steps])
        if config.seed is not None:
            torch.manual_seed(config.seed)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=self._generation_config(config, max(limits), sampling),
                stopping_criteria=transformers.StoppingCriteriaList([stopper]),
            )
        outputs: list[StepOutput] = []
        for row, ids in enumerate(out[:, start:].tolist()):
            cut = stopper.stopped_at[row]
            ids = ids[: limits[row] if cut is None else cut]
            finish: typing.Literal["stop", "length"] = "length"
            tokens = len(ids)
            for k, token in enumerate(ids):
                if token in self._eos:
                    ids, tokens, finish = ids[:k], k + 1, "stop"
                    break
            else:
                if stopper.by_stop[row] or len(ids) < limits[row]:
                    finish = "stop"
            text = self.tokenizer.decode(
                [t for t in ids if t not in self._drop], skip_special_tokens=False
            )
            outputs.append(StepOutput(text, tokens, finish))
        return outputs


class _RowStopper:
    """Stops each row at its own token limit, or after one of its stop strings. (A plain
    callable: transformers only calls its stopping criteria.)"""

    _WINDOW = 16

    def __init__(
        self, engine: HFEngine, start: int, limits: list[int], stops: list[tuple[str, ...]]
    ) -> None:
        self.engine = engine
        self.start = start
        self.limits = limits
        self.stops = stops
        self.stopped_at: list[int | None] = [None] * len(limits)
        self.by_stop = [False] * len(limits)
        self._single: list[set[int] | None] = []
        for row_stops in stops:
            ids = [engine.encode(s) for s in row_stops]
            self._single.append(
                {i[0] for i in ids} if ids and all(len(i) == 1 for i in ids) else None
            )

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        torch = self.engine._torch
        length = int(input_ids.shape[1]) - self.start
        done: list[bool] = []
        for row in range(len(self.limits)):
            if self.stopped_at[row] is None and length > 0:
                if length >= self.limits[row]:
                    self.stopped_at[row] = length
                elif self.stops[row] and self._hit(input_ids[row], length, row):
                    self.stopped_at[row] = length
                    self.by_stop[row] = True
            done.append(self.stopped_at[row] is not None)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def _hit(self, ids: Any, length: int, row: int) -> bool:
        single = self._single[row]
        if single is not None:
            return int(ids[-1]) in single
        tail = ids[-min(length, self._WINDOW) :].tolist()
        text = self.engine.tokenizer.decode(tail, skip_special_tokens=False)
        return any(s in text for s in self.stops[row])


def build_hf_target(
    model: str, env: Mapping[str, str] | None = None, *, require_extra: bool = True
) -> LocalTarget:
    """An ``hf/`` target from the part of the spec after ``hf/`` (query string included).
    ``require_extra=False`` skips the check that torch and transformers are installed (for a
    driver that only sends the work to Ray)."""
    path, options = spec_options(model, HFOptions, env, "THINKSAFE_HF_")
    if require_extra:
        require_modules(("torch", "transformers"), LOCAL_EXTRA, "hf/ models")
    engine = HFEngine(path, options)

    def decoding() -> Decoding:
        return resolve_decoding(
            path,
            enabled=options.model_defaults,
            max_new_tokens=options.max_new_tokens,
            open_tag=engine.tags.open,
            revision=options.revision,
            chat_template=options.chat_template,
        )

    return local_target("hf", model, path, options, engine, decoding)


@registry.targets.register(
    "hf",
    description="A local model run with transformers, batched (hf/MODEL_OR_PATH?device=cpu&"
    "batch_size=8); needs the local extra",
    source="https://github.com/huggingface/transformers",
    extra="local",
)
def hf_target(*, provider: str, model: str, connection: ConnectionConfig) -> LocalTarget:
    return build_hf_target(model)

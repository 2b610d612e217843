"""What every local target shares: spec options, the request batcher, the template-driven
engine and the target wrapper. ``hf/`` and ``vllm/`` build on these, and so does ``--ray``.

- :func:`spec_options` (:func:`split_options` then :func:`read_options`): ``MODEL?name=value&...``
  plus ``THINKSAFE_<PROVIDER>_<NAME>`` environment variables into a typed options dataclass;
- :class:`Batcher`: concurrent ``generate()`` calls gathered into batches (a few milliseconds,
  or until the batch is full), each batch run in a worker thread, each caller's future resolved
  as soon as its result is ready;
- :class:`TemplateEngine`: renders conversations with the model's chat template and turns
  batches of thinking-controlled steps (:mod:`thinksafe.targets.thinking`) into completions;
- :class:`LocalTarget`: the ``Target`` protocol over an engine and a batcher;
  :func:`local_target` builds one from a provider's options, with its cache identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import importlib.util
import os
import threading
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, MissingExtraError, ProviderError, UserError
from thinksafe.records import Completion, Messages, Usage, canonical_json
from thinksafe.repair.lineage import read_lineage
from thinksafe.spec import split_query
from thinksafe.targets.defaults import PLAIN_BUDGET, Decoding
from thinksafe.targets.thinking import (
    Prefill,
    Step,
    StepOutput,
    ThinkRun,
    ThinkTags,
    run_steps,
    template_kwargs,
    think_plan,
)

__all__ = [
    "Batcher",
    "LocalEngine",
    "LocalTarget",
    "Request",
    "TemplateEngine",
    "file_digest",
    "generate_batched",
    "local_fingerprint",
    "local_target",
    "read_options",
    "require_modules",
    "spec_options",
    "split_options",
]

Req = TypeVar("Req")
Res = TypeVar("Res")
Opts = TypeVar("Opts")

# -- options ---------------------------------------------------------------------------------


def split_options(model: str) -> tuple[str, dict[str, str]]:
    """``"PATH?a=1&b=x"`` -> ``("PATH", {"a": "1", "b": "x"})``."""
    path, query = split_query(model)
    if not path:
        raise ConfigError(f"model spec {model!r} has no model name or path before '?'")
    return path, {key.lower(): value for key, value in query}


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _convert(name: str, raw: str, kind: Any) -> Any:
    args = typing.get_args(kind)
    if args and type(None) in args:  # Optional[X]
        if raw.lower() in ("", "none", "null"):
            return None
        kind = next(a for a in args if a is not type(None))
    try:
        if kind is bool:
            low = raw.lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        expected = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        raise ConfigError(f"option {name}={raw!r}: expected {expected}") from None
    return raw


def read_options(
    cls: type[Opts], query: Mapping[str, str], env: Mapping[str, str], env_prefix: str
) -> Opts:
    """A dataclass of options from a spec's query (first) and the environment (second)."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(query) - set(names))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}; known options: {', '.join(names)}")
    values: dict[str, Any] = {}
    for name in names:
        raw = query.get(name)
        if raw is None:
            raw = env.get(env_prefix + name.upper())
        if raw is not None:
            values[name] = _convert(name, raw, hints[name])
    return cls(**values)


def spec_options(
    model: str, cls: type[Opts], env: Mapping[str, str] | None, env_prefix: str
) -> tuple[str, Opts]:
    """The model of a local spec (``MODEL?name=value&...``) and its options: the query first,
    then ``env`` (the process environment when ``None``), then the dataclass's defaults."""
    path, query = split_options(model)
    return path, read_options(cls, query, os.environ if env is None else env, env_prefix)


def file_digest(path: str, what: str) -> str:
    """A short SHA-256 of a file the user named (a chat template), for cache identities."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return hashlib.sha256(data).hexdigest()[:16]


def local_fingerprint(path: str) -> str | None:
    """For a local model folder, a hash of its files' names, sizes and modification times (so
    that a model rewritten in place gets new cache keys); None for a Hub id."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for item in sorted(folder.iterdir()):
        if item.is_file():
            stat = item.stat()
            digest.update(f"{item.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


# -- the batcher -----------------------------------------------------------------------------

RunBatch = Callable[[str, list[Req]], Iterable[tuple[int, "Res | BaseException"]]]


class Batcher(Generic[Req, Res]):
    """Gathers concurrent requests into batches and runs them, one batch at a time, in a worker
    thread.

    ``run(key, items)`` gets requests that share ``key`` (e.g. one generation config) and
    yields ``(index, result or exception)`` as results become ready, in any order; each
    caller's future resolves as soon as its result is yielded.
    """

    def __init__(self, run: RunBatch[Req, Res], *, max_batch: int, wait_s: float) -> None:
        if max_batch < 1:
            raise ConfigError(f"batch size must be at least 1 (got {max_batch})")
        self._run = run
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._pending: dict[str, list[tuple[Req, asyncio.Future[Res]]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches_run = 0

    async def submit(self, key: str, item: Req) -> Res:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._wake is None:
            self._pending = {}
            self._loop, self._wake, self._task = loop, asyncio.Event(), None
        future: asyncio.Future[Res] = loop.create_future()
        self._pending.setdefault(key, []).append((item, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._worker())
        return await future

    def _count(self) -> int:
        return sum(len(v) for v in self._pending.values())

    def _take(self) -> tuple[str, list[tuple[Req, asyncio.Future[Res]]]]:
        for key in list(self._pending):
            live = [(item, fut) for item, fut in self._pending[key] if not fut.done()]
            batch, rest = live[: self.max_batch], live[self.max_batch :]
            if rest:
                self._pending[key] = rest
            else:
                del self._pending[key]
            if batch:
                return key, batch
        return "", []

    async def _worker(self) -> None:
        assert self._wake is not None
        while True:
            while self._count() == 0:
                self._wake.clear()
                await self._wake.wait()
            if self._count() < self.max_batch and self.wait_s > 0:
                await asyncio.sleep(self.wait_s)
            key, batch = self._take()
            if batch:
                await self._run_batch(key, batch)

    async def _run_batch(self, key: str, batch: list[tuple[Req, asyncio.Future[Res]]]) -> None:
        loop = asyncio.get_running_loop()
        futures = [fut for _, fut in batch]
        items = [item for item, _ in batch]

        def resolve(index: int, value: Res | BaseException) -> None:
            fut = futures[index]
            if fut.done():
                return
            if isinstance(value, BaseException):
                fut.set_exception(value)
            else:
                fut.set_result(value)

        def post(index: int, value: Res | BaseException) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed while the batch ran
                loop.call_soon_threadsafe(resolve, index, value)

        def work() -> None:
            delivered: set[int] = set()
            try:
                for index, value in self._run(key, items):
                    delivered.add(index)
                    post(index, value)
            except BaseException as exc:  # handed to every waiting caller
                for index in range(len(items)):
                    if index not in delivered:
                        post(index, exc)
            else:
                for index in range(len(items)):
                    if index not in delivered:
                        post(index, RuntimeError("the batch runner returned no result"))

        self.batches_run += 1
        await asyncio.to_thread(work)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            if task.get_loop() is asyncio.get_running_loop():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for entries in self._pending.values():
            for _, fut in entries:
                if not fut.done():
                    fut.cancel()
        self._pending = {}


# -- engines ---------------------------------------------------------------------------------


class LocalEngine(Protocol):
    """A model held in this process that completes whole batches of conversations."""

    def load(self) -> None: ...

    def generate_batch(
        self, items: Sequence[Messages], config: GenerationConfig
    ) -> list[Completion | BaseException]: ...

    def unload(self) -> None: ...


class TemplateEngine:
    """What every template-driven local engine shares: rendering a conversation with the
    model's chat template, and turning thinking-controlled step results into completions.
    Subclasses set ``tokenizer`` in :meth:`load` and implement :meth:`run_steps`."""

    model_name: str
    max_new_tokens: int
    tags: ThinkTags

    def __init__(
        self, model_name: str, *, max_new_tokens: int, tags: ThinkTags, chat_template: str | None
    ) -> None:
        self.model_name = model_name
        self.max_new_tokens = max_new_tokens
        self.tags = tags
        self.chat_template_path = chat_template
        self.tokenizer: Any = None
        self._template: str | None = None
        self._close_tokens = 1
        self._lock = threading.Lock()
        # How a request that sets no sampling is decoded (the model's defaults, see
        # thinksafe.targets.defaults); set by the target, None for an engine used directly.
        self.decoding: Decoding | None = None

    # Subclass hooks.
    def load(self) -> None:
        raise NotImplementedError

    def unload(self) -> None:
        raise NotImplementedError

    def run_steps(
        self,
        steps: Sequence[Step],
        config: GenerationConfig,
        sampling: Mapping[str, Any] | None = None,
    ) -> list[StepOutput]:
        """Continue each step's text. ``sampling`` (the model's own settings, from
        :class:`Decoding`) replaces the config's temperature and top_p when given."""
        raise NotImplementedError

    def _setup_template(self) -> None:
        """Called by ``load`` once the tokenizer is set."""
        if self.chat_template_path:
            try:
                self._template = Path(self.chat_template_path).expanduser().read_text("utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read chat_template {self.chat_template_path}: {exc.strerror or exc}"
                ) from None
        else:
            self._template = getattr(self.tokenizer, "chat_template", None)
        if not self._template:
            raise ConfigError(
                f"{self.model_name} has no chat template; pass chat_template=PATH (a Jinja file)"
            )
        self._close_tokens = max(1, len(self.encode(self.tags.close)))

    def encode(self, text: str) -> list[int]:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return list(ids)

    def render(self, messages: Messages, config: GenerationConfig) -> str:
        """The prompt text for one conversation, generation prompt included."""
        self.load()
        convo = [{"role": m.role, "content": m.content} for m in messages]
        if config.system_prompt and not any(m.role == "system" for m in messages):
            convo.insert(0, {"role": "system", "content": config.system_prompt})
        try:
            text = self.tokenizer.apply_chat_template(
                convo,
                tokenize=False,
                add_generation_prompt=True,
                chat_template=self._template,
                **template_kwargs(config),
            )
        except ConfigError:
            raise
        except Exception as exc:
            raise ProviderError(
                f"the chat template of {self.model_name} rejected this conversation: {exc}",
                transient=False,
            ) from None
        if not isinstance(text, str):
            raise ProviderError("the chat template did not render to text", transient=False)
        return text

    def generate_batch(
        self, items: Sequence[Messages], config: GenerationConfig
    ) -> list[Completion | BaseException]:
        """One completion (or the error for it) per conversation, in order."""
        plan = think_plan(config)
        decoding = self.decoding
        sampling = decoding.sampling_for(config) if decoding is not None else None
        out: list[Completion | BaseException | None] = [None] * len(items)
        runs: list[ThinkRun] = []
        slots: list[tuple[int, int]] = []  # (index in items, prompt tokens)
        for i, messages in enumerate(items):
            try:
                # A last assistant message is a prefill: the conversation before it is rendered
                # with its generation prompt, and the reply is forced to start with it.
                prefill = None
                if messages and messages[-1].role == "assistant":
                    prefill = Prefill.parse(messages[-1].content, self.tags)
                    messages = messages[:-1]
                prompt = self.render(messages, config)
                prompt_tokens = len(self.encode(prompt))
                run = ThinkRun(
                    prompt,
                    plan=plan,
                    max_tokens=(
                        decoding.budget(config, prompt_tokens)
                        if decoding is not None
                        else config.max_tokens or self.max_new_tokens
                    ),
                    tags=self.tags,
                    close_tokens=self._close_tokens,
                    prefill=prefill,
                )
            except ProviderError as exc:
                out[i] = exc
                continue
            runs.append(run)
            # A forced reply is part of what the model was given.
            slots.append((i, prompt_tokens if prefill is None else len(self.encode(run.base))))
        if runs:
            run_steps(runs, lambda steps: self.run_steps(steps, config, sampling))
        for run, (i, prompt_tokens) in zip(runs, slots):
            result = run.result()
            reasoning_tokens = result.reasoning_tokens
            if reasoning_tokens is None:  # plain generation: count the trace's tokens again
                if result.kind == "truncated" and not result.answer:
                    reasoning_tokens = result.completion_tokens
                elif result.reasoning:
                    reasoning_tokens = len(self.encode(result.reasoning))
                else:
                    reasoning_tokens = 0
            reasoning_tokens = min(reasoning_tokens, result.completion_tokens)
            out[i] = Completion(
                answer=result.answer,
                reasoning=result.reasoning,
                reasoning_kind=result.kind,
                finish_reason=result.finish_reason,
                usage=Usage(prompt_tokens, result.completion_tokens, reasoning_tokens),
                model=self.model_name,
            )
        return [c if c is not None else RuntimeError("no completion") for c in out]


# -- the target ------------------------------------------------------------------------------


def _as_provider_error(exc: BaseException) -> BaseException:
    """What a caller should see: user mistakes and provider errors as they are, anything else
    as a (not retried) provider error, so the attempt is recorded as failed."""
    if isinstance(exc, (ProviderError, UserError, asyncio.CancelledError)):
        return exc
    return ProviderError(f"local generation failed: {type(exc).__name__}: {exc}", transient=False)


Request = tuple[Messages, GenerationConfig]
"""What a target's batcher gathers: a conversation and its generation config."""


async def generate_batched(
    batcher: Batcher[Request, Completion], messages: Messages, config: GenerationConfig
) -> Completion:
    """One completion through ``batcher``, batched with the requests that share its config,
    with its latency (the wait for its batch included)."""
    started = time.perf_counter()
    think_plan(config)  # a contradictory config fails here, before any work
    completion = await batcher.submit(canonical_json(config.to_dict()), (messages, config))
    return dataclasses.replace(completion, latency_s=time.perf_counter() - started)


class LocalTarget:
    """A target backed by a :class:`LocalEngine`, with concurrent calls batched. It accepts a
    prefill (:class:`thinksafe.protocols.AcceptsPrefill`): the conversation before a last
    assistant message is rendered with its generation prompt and the reply starts with that
    message (:class:`thinksafe.targets.thinking.Prefill`)."""

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        engine: LocalEngine,
        identity: Mapping[str, Any],
        batch_size: int,
        batch_wait_s: float,
        decoding: Callable[[], Decoding] | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.engine = engine
        self._identity = dict(identity)
        self._resolve = decoding
        self._decoding: Decoding | None = None
        self._decoding_lock = threading.Lock()
        self._batcher: Batcher[Request, Completion] = Batcher(
            self._run, max_batch=batch_size, wait_s=batch_wait_s
        )

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.model}"

    def identity(self) -> dict[str, Any]:
        decoding = self.decoding
        return {**self._identity, **(decoding.identity() if decoding is not None else {})}

    def __repr__(self) -> str:
        return f"LocalTarget({self.spec!r})"

    @property
    def decoding(self) -> Decoding | None:
        """How requests without sampling settings are decoded (the model's files are read
        the first time this is asked); None for a target built without a resolver."""
        if self._decoding is None and self._resolve is not None:
            with self._decoding_lock:
                if self._decoding is None:
                    self._decoding = self._resolve()
                    if isinstance(self.engine, TemplateEngine):
                        self.engine.decoding = self._decoding
        return self._decoding

    def use_decoding(self, decoding: Decoding) -> None:
        """Decode as ``decoding`` says instead of reading the model's files (a Ray replica
        gets its driver's). Call before the first request."""
        self._resolve = lambda: decoding
        self._decoding = None

    def without_model_defaults(self) -> None:
        """Decode greedily with the plain budget whatever the model's files say (a guard
        judge's model: its verdicts must not be sampled). Call before the first request."""
        if self._resolve is not None:
            budget = getattr(getattr(self.engine, "options", None), "max_new_tokens", None)
            self.use_decoding(Decoding(enabled=False, max_new_tokens=budget or PLAIN_BUDGET))

    @property
    def batches_run(self) -> int:
        return self._batcher.batches_run

    def prefill_support(self) -> str | None:
        return "the rendered prompt continues from the forced text"

    def _run(
        self, key: str, items: list[Request]
    ) -> Iterable[tuple[int, Completion | BaseException]]:
        config = items[0][1]  # a batch's items share their config (its canonical JSON is key)
        try:
            results = self.engine.generate_batch([messages for messages, _ in items], config)
        except BaseException as exc:
            error = _as_provider_error(exc)
            return [(i, error) for i in range(len(items))]
        return [
            (i, _as_provider_error(r) if isinstance(r, BaseException) else r)
            for i, r in enumerate(results)
        ]

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        if self._decoding is None and self._resolve is not None:
            await asyncio.to_thread(lambda: self.decoding)
        return await generate_batched(self._batcher, messages, config)

    async def check(self) -> None:
        if self._resolve is not None:
            await asyncio.to_thread(lambda: self.decoding)
        await asyncio.to_thread(self.engine.load)

    async def aclose(self) -> None:
        await self._batcher.aclose()
        await asyncio.to_thread(self.engine.unload)


class LocalOptions(Protocol):
    """What :func:`local_target` reads from a local provider's options."""

    @property
    def trust_remote_code(self) -> bool: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def batch_wait_ms(self) -> float: ...

    def identity(self) -> dict[str, Any]: ...


def local_target(
    provider: str,
    model: str,
    path: str,
    options: LocalOptions,
    engine: LocalEngine,
    decoding: Callable[[], Decoding] | None = None,
) -> LocalTarget:
    """The target of ``PROVIDER/MODEL`` (``path`` is MODEL without its options). Its identity:
    the provider, the model, the options that change what it generates, remote code when
    trusted and, for a local folder, a fingerprint of its files and its lineage (the
    ``thinksafe-lineage.json`` a repair command writes), and the decoding ``decoding`` resolves
    (the budget, and the model's own sampling settings when they are used)."""
    identity: dict[str, Any] = {"provider": provider, "model": path, **options.identity()}
    if options.trust_remote_code:
        identity["trust_remote_code"] = True
    fingerprint = local_fingerprint(path)
    if fingerprint is not None:
        identity["files"] = fingerprint
    lineage = read_lineage(path)
    if lineage is not None:
        identity["lineage"] = lineage
    return LocalTarget(
        provider=provider,
        model=model,
        engine=engine,
        identity=identity,
        batch_size=options.batch_size,
        batch_wait_s=options.batch_wait_ms / 1000.0,
        decoding=decoding,
    )


def require_modules(names: Sequence[str], extra: str, what: str) -> None:
    """``MissingExtraError`` naming ``extra`` unless every module in ``names`` is installed
    (checked without importing them)."""
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingExtraError(f"{what} need {name}, which is not installed: {extra}")

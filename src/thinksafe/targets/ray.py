"""``--ray``: generation for ``hf/`` and ``vllm/`` models spread over a Ray cluster's GPUs
(extra ``ray``), while the engine, the judges and the store stay on the driver.

:class:`RayTarget` wraps a local model spec. Its batcher gathers the requests the engine has in
flight into a *wave* and sends the wave to Ray Data: ``ray.data.from_items(rows)
.map_batches(RayPredictor, concurrency=workers, num_gpus=gpus_per_worker)``, where each
:class:`RayPredictor` actor loads the model once and completes batches with the same engine
(``HFEngine`` or ``VLLMEngine``, thinking control included) that a local run uses. Results
stream back as Ray finishes them and each caller's future resolves at once, so judging starts
while the wave is still running.

Each wave starts its own actors, which load the model, so a run should go out in as few waves
as possible: give the engine a concurrency at least as large as the number of attempts (the
CLI's ``--ray`` does). A Ray target has the identity of the model it wraps: its completions are
cached and resumed together with local runs of the same model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ConfigError, MissingExtraError, ProviderError, TargetUnavailableError
from thinksafe.protocols import Target
from thinksafe.records import Completion, Messages, messages_from, messages_to_list
from thinksafe.run.build import build_target, split_target_spec
from thinksafe.targets.defaults import Decoding
from thinksafe.targets.local import Batcher, LocalTarget, Request, generate_batched

__all__ = ["RAY_PROVIDERS", "RayOptions", "RayPredictor", "RayTarget", "ray_target_factory"]

RAY_EXTRA = "pip install 'thinksafe[ray]'"
RAY_PROVIDERS = ("hf", "vllm")


@dataclasses.dataclass(frozen=True)
class RayOptions:
    """Where the cluster is and how to use it."""

    address: str | None = None  # None: RAY_ADDRESS, else the running instance, else a new one
    workers: int | None = None  # model replicas; default: GPUs // gpus_per_worker, at least 1
    gpus_per_worker: float | None = None  # default: tensor_parallel_size (vllm) or 1; 0 no GPU
    batch_size: int = 64  # rows handed to one replica at a time
    wave_wait_s: float = 0.5  # how long to gather requests before sending a wave
    max_wave: int = 100_000  # the most requests in one wave

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError("--ray-workers must be at least 1")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise ConfigError("--ray-gpus-per-worker must not be negative")
        if self.batch_size < 1 or self.max_wave < 1:
            raise ConfigError("Ray batch sizes must be at least 1")


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingExtraError(
            f"--ray needs Ray Data ({exc.name} is missing): {RAY_EXTRA}"
        ) from None
    return ray


def _local_target(spec: str) -> LocalTarget:
    """The local target for ``spec``, built without loading (or needing) its backend."""
    provider, model = split_target_spec(spec)
    if provider == "hf":
        from thinksafe.targets.hf import build_hf_target

        return build_hf_target(model, require_extra=False)
    if provider == "vllm":
        from thinksafe.targets.vllm import build_vllm_target

        return build_vllm_target(model, require_extra=False)
    raise ConfigError(
        f"--ray runs hf/ and vllm/ models, not {provider}/; serve the model and use openai/"
    )


class RayPredictor:
    """A Ray Data actor: loads the model once, then completes batches of rows.

    Rows carry ``row`` (an index), ``messages`` (JSON) and ``config`` (the generation config as
    JSON); the output has ``row``, ``completion`` (JSON, empty on error) and ``error``.
    """

    def __init__(self, spec: str, decoding: Decoding | None = None) -> None:
        target = _local_target(spec)
        if decoding is not None:  # the driver's, as its run records it
            target.use_decoding(decoding)
        target.decoding  # noqa: B018  (hands the decoding to the engine)
        self.engine = target.engine
        self.engine.load()

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        rows = [int(r) for r in batch["row"]]
        by_config: dict[str, list[int]] = {}
        for position, key in enumerate(batch["config"]):
            by_config.setdefault(str(key), []).append(position)
        completions: list[str] = [""] * len(rows)
        errors: list[str] = [""] * len(rows)
        for key, positions in by_config.items():
            config = GenerationConfig.from_dict(json.loads(key))
            items = [messages_from(json.loads(str(batch["messages"][p]))) for p in positions]
            try:
                results: list[Completion | BaseException] = list(
                    self.engine.generate_batch(items, config)
                )
            except Exception as exc:
                results = [exc] * len(items)
            for position, result in zip(positions, results):
                if isinstance(result, BaseException):
                    errors[position] = f"{type(result).__name__}: {result}"
                else:
                    completions[position] = json.dumps(result.to_dict())
        return {"row": rows, "completion": completions, "error": errors}


class RayTarget:
    """A local model spec whose generation runs on a Ray cluster."""

    def __init__(self, spec: str, options: RayOptions | None = None) -> None:
        self.options = options or RayOptions()
        self.inner = _local_target(spec)
        self._spec = spec
        self._started_ray = False
        self._batcher: Batcher[Request, Completion] = Batcher(
            self._run, max_batch=self.options.max_wave, wait_s=self.options.wave_wait_s
        )

    @property
    def spec(self) -> str:
        return self._spec

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def __repr__(self) -> str:
        return f"RayTarget({self._spec!r})"

    def prefill_support(self) -> str | None:
        return self.inner.prefill_support()

    @property
    def waves_run(self) -> int:
        return self._batcher.batches_run

    def _connect(self) -> Any:
        ray = import_ray()
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.options.address,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise TargetUnavailableError(
                    f"cannot reach the Ray cluster ({exc}); start it with `ray start --head`"
                    " or pass --ray-address"
                ) from None
            self._started_ray = True
        with warnings.catch_warnings():
            # Ray Data's first context warns about its own deprecated settings.
            warnings.simplefilter("ignore", DeprecationWarning)
            context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        return ray

    def _resources(self, ray: Any) -> tuple[int, float]:
        gpus_total = float(ray.cluster_resources().get("GPU", 0.0))
        per_worker = self.options.gpus_per_worker
        if per_worker is None:
            tp = getattr(getattr(self.inner.engine, "options", None), "tensor_parallel_size", 1)
            per_worker = float(tp) if gpus_total > 0 else 0.0
        workers = self.options.workers
        if workers is None:
            workers = max(1, int(gpus_total // per_worker)) if per_worker > 0 else 1
        if per_worker > 0 and workers * per_worker > gpus_total:
            raise TargetUnavailableError(
                f"the Ray cluster has {gpus_total:g} GPUs, fewer than {workers} workers x"
                f" {per_worker:g}; lower --ray-workers or --ray-gpus-per-worker"
            )
        return workers, per_worker

    def _run(
        self, key: str, items: list[Request]
    ) -> Iterator[tuple[int, Completion | BaseException]]:
        ray = self._connect()
        workers, gpus = self._resources(ray)
        rows = [  # key: the items' shared config as canonical JSON
            {"row": i, "messages": json.dumps(messages_to_list(m)), "config": key}
            for i, (m, _) in enumerate(items)
        ]
        dataset = ray.data.from_items(rows).map_batches(
            RayPredictor,
            fn_constructor_kwargs={"spec": self._spec, "decoding": self.inner.decoding},
            batch_size=self.options.batch_size,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_gpus=gpus,
            batch_format="numpy",
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for row, completion, error in zip(batch["row"], batch["completion"], batch["error"]):
                if error:
                    yield int(row), ProviderError(f"Ray worker: {error}", transient=False)
                else:
                    yield int(row), Completion.from_dict(json.loads(str(completion)))

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        return await generate_batched(self._batcher, messages, config)

    async def check(self) -> None:
        ray = await asyncio.to_thread(self._connect)
        await asyncio.to_thread(self._resources, ray)

    async def aclose(self) -> None:
        await self._batcher.aclose()
        if self._started_ray:
            ray = import_ray()
            await asyncio.to_thread(ray.shutdown)
            self._started_ray = False


def ray_target_factory(
    model_spec: str, options: RayOptions | None = None
) -> Callable[[str, ConnectionConfig], Target]:
    """A target factory (``build_plan(config, target_factory=...)``) that puts the model
    under test on Ray and builds every other target (judges' models) as usual."""
    provider, _ = split_target_spec(model_spec)
    if provider not in RAY_PROVIDERS:
        raise ConfigError(
            f"--ray runs hf/ and vllm/ models, not {provider}/; drop --ray for served models"
        )
    import_ray()

    def factory(spec: str, connection: ConnectionConfig) -> Target:
        if spec == model_spec:
            return RayTarget(spec, options)
        return build_target(spec, connection)

    return factory

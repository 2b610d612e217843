"""Turn specs (``openai/gpt-4o``, ``file:prompts.csv``, ``safety:openai/gpt-4o-mini``) into
components through the registry, and a run's configuration into a :class:`Plan` of built
components (:func:`build_plan`), which the engine runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from thinksafe import registry
from thinksafe.attacks import Attack, build_attack, check_target_abilities
from thinksafe.config import ConnectionConfig
from thinksafe.errors import ConfigError, DataError, UserError
from thinksafe.protocols import Judge, Suite, Target, suite_provenance
from thinksafe.records import Attempt, Sample
from thinksafe.run.workers import WorkerPool, auto_workers, can_fork
from thinksafe.spec import parse_judge, parse_suite, parse_target
from thinksafe.suites.selection import select
from thinksafe.targets.vllm import share_gpu

if TYPE_CHECKING:
    from thinksafe.run.runconfig import RunConfig
    from thinksafe.run.transcripts import Transcript
    from thinksafe.store.sqlite import Store


DEFAULT_JUDGES: tuple[str, ...] = ("offline", "rules")


def default_judge() -> str:
    """The best judge that needs no model: the trained offline judge when it is installed,
    else the rules refusal detector."""
    names = registry.judges.names()
    for name in DEFAULT_JUDGES:
        if name in names:
            return name
    raise ConfigError("no offline judge is registered; pass --judge")


def split_target_spec(spec: str) -> tuple[str, str]:
    parsed = parse_target(spec)
    return parsed.name, parsed.arg_text or ""


def build_target(spec: str, connection: ConnectionConfig | None = None) -> Target:
    provider, model = split_target_spec(spec)
    info = registry.targets.get(provider)
    target: Target = info.factory(
        provider=provider, model=model, connection=connection or ConnectionConfig()
    )
    return target


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed suite spec: ``NAME``, ``NAME@PATH`` or ``NAME:ARG`` (``file:``, ``hf:``)."""

    name: str
    arg: str | None = None
    path: str | None = None

    @classmethod
    def parse(cls, spec: str) -> SuiteSpec:
        parsed = parse_suite(spec)
        return cls(parsed.name, arg=parsed.arg, path=parsed.path)


def build_suite(spec: str, options: Mapping[str, Any] | None = None) -> Suite:
    parsed = SuiteSpec.parse(spec)
    info = registry.suites.get(parsed.name)
    suite: Suite = info.factory(arg=parsed.arg, path=parsed.path, options=dict(options or {}))
    return suite


@dataclass
class JudgeContext:
    """What a judge factory may need: a way to build the target a model-based judge calls.
    ``built`` keeps every target built through it (local engines that share a GPU)."""

    connection: ConnectionConfig = field(default_factory=ConnectionConfig)
    make_target: Callable[[str], Target] | None = None
    built: list[Target] = field(default_factory=list)

    def target(self, spec: str) -> Target:
        if self.make_target is not None:
            target = self.make_target(spec)
        else:
            target = build_target(spec, self.connection)
        self.built.append(target)
        return target


def split_judge_spec(spec: str) -> tuple[str, str | None]:
    """``NAME``, ``NAME:ARG`` or ``NAME(ARGS)`` (ARGS: comma-separated judge specs)."""
    parsed = parse_judge(spec)
    return parsed.name, parsed.arg_text


def judge_note(judge: Judge) -> str:
    """The registry's plain note on what produced a judge's numbers."""
    name = split_judge_spec(judge.spec)[0]
    try:
        info = registry.judges.get(name)
    except UserError:
        return judge.spec
    return str(info.meta.get("note") or info.description)


def build_judge(spec: str, context: JudgeContext | None = None) -> Judge:
    name, arg = split_judge_spec(spec)
    info = registry.judges.get(name)
    judge: Judge = info.factory(arg=arg, context=context or JudgeContext())
    return judge


# ---------------------------------------------------------------------------------------------
# The plan of a run: every component built from a RunConfig, in one place
# ---------------------------------------------------------------------------------------------

TargetFactory = Callable[[str, ConnectionConfig], Target]
"""Builds a target from its spec and connection (``build_target``, or a Ray cluster's)."""

CompletionKeys = Callable[[str, Sequence[Attempt]], list[str]]
"""The cache key of each attempt's completion, given the target's identity hash."""


@dataclass
class Plan:
    """The built components of one run: what the engine (:class:`thinksafe.run.engine.Runner`)
    runs. Made by :func:`build_plan` from a :class:`~thinksafe.run.runconfig.RunConfig`, or by
    :func:`build_replay_plan` from transcripts; nothing is called yet (attacks that call a
    model first are prepared by the engine, through the store's cache)."""

    config: RunConfig
    samples: list[Sample]
    attacks: list[Attack]
    target: Target
    judges: list[Judge]
    # Builds the further targets a run may call (an attacker, the judges of a search).
    make_target: TargetFactory = build_target
    # What the suite read and how the samples were chosen, for the run's record.
    selection: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    # Forked request processes that send the target's requests (thinksafe.run.workers).
    pool: WorkerPool | None = None
    # The attempts, when fixed up front (transcripts); else the attacks make them.
    attempts: list[Attempt] | None = None
    # How completions are keyed, when not by target and conversation (transcripts).
    completion_keys: CompletionKeys | None = None

    async def aclose(self) -> None:
        """Close the target and the judges (the pool is the caller's: it forked it)."""
        try:
            await self.target.aclose()
        finally:
            for judge in self.judges:
                await judge.aclose()


def resolve_workers(config: RunConfig, target_factory: TargetFactory | None = None) -> int:
    """How many request processes a run uses (1: the engine's own)."""
    if config.workers == 0:
        if target_factory is not None:
            return 1
        return auto_workers(config.provider, config.max_concurrency)
    if config.workers > 1 and not can_fork():
        # Not a check of the configuration (thinksafe.run.runconfig): of this process.
        raise ConfigError(
            "--workers above 1 needs Linux and a process with no other threads running;"
            " pass --workers 1"
        )
    return min(config.workers, max(1, config.max_concurrency))


def target_factory_of(config: RunConfig, given: TargetFactory | None = None) -> TargetFactory:
    """The factory of a run's target: ``given``, else a Ray cluster's (``ray``), else
    :func:`build_target`."""
    if given is not None:
        return given
    if config.ray is not None:
        from thinksafe.targets.ray import ray_target_factory

        return ray_target_factory(config.model, config.ray)
    return build_target


def load_samples(config: RunConfig) -> tuple[list[Sample], dict[str, Any], dict[str, Any]]:
    """The suite's samples after selection, what was chosen and what the suite read."""
    suite = build_suite(config.suite, config.suite_options)
    loaded = list(suite.load())
    samples, selection = select(
        loaded,
        limit=config.limit,
        sample=config.sample,
        seed=config.sample_seed,
        categories=config.categories,
        split=config.split,
    )
    if not samples:
        raise UserError(
            f"suite {config.suite!r} has no samples to run"
            + (" after selection" if len(loaded) else "")
        )
    return samples, selection, suite_provenance(suite)


def build_judges(
    specs: Sequence[str], connection: ConnectionConfig, make_target: TargetFactory
) -> tuple[list[Judge], list[Target]]:
    """The judges of ``specs`` and the targets built for them."""
    context = JudgeContext(connection=connection, make_target=lambda s: make_target(s, connection))
    judges = [build_judge(j, context) for j in specs]
    if len({j.spec for j in judges}) != len(judges):
        raise ConfigError("the same judge was given twice; give each judge once")
    return judges, context.built


def build_plan(
    config: RunConfig,
    *,
    target_factory: TargetFactory | None = None,
    target: Target | None = None,
    fork_workers: bool = False,
) -> Plan:
    """Build every component of a run from its configuration, before any model call.

    ``target``: the run's target, already built. ``fork_workers``: fork the request processes
    (``config.workers``) here, which must happen before an event loop runs; the caller closes
    the plan's pool after the run."""
    config.check_names(target=target is None and target_factory is None)
    make_target = target_factory_of(config, target_factory)
    n_workers = resolve_workers(config, target_factory) if fork_workers else 1
    if target is None:
        target = make_target(config.model, config.connection)
    pool = None
    judges: list[Judge] = []
    try:
        if n_workers > 1:
            # Before anything else is built: a process with other threads cannot fork.
            pool = WorkerPool.fork(
                n_workers, target=target, generation=config.generation, retry=config.retry
            )
        samples, selection, provenance = load_samples(config)
        attacks = [build_attack(a) for a in config.attacks]
        judges, judge_targets = build_judges(
            config.judges or (default_judge(),), config.judge_connection, make_target
        )
        share_gpu(target, judge_targets)  # vllm/ engines of the target and the judges
        # An attack that needs what the target lacks is refused before any call.
        check_target_abilities(config.attacks, target)
    except BaseException:
        if pool is not None:
            pool.close()
        _close_now(target, judges)
        raise
    return Plan(
        config=config,
        samples=samples,
        attacks=attacks,
        target=target,
        judges=judges,
        make_target=make_target,
        selection=selection,
        provenance=provenance,
        pool=pool,
    )


def build_replay_plan(
    config: RunConfig,
    transcripts: Sequence[Transcript],
    store: Store,
    *,
    target_factory: TargetFactory | None = None,
) -> Plan:
    """The plan of judging recorded transcripts: the samples and attempts are the rows, the
    target the ``replay`` one that hands back each row's response (``config.model`` is
    ``replay/NAME``); judging, caching, the store and the summary are those of a live run."""
    from thinksafe.targets.replay import Replay

    replay = Replay.from_transcripts(config.model, transcripts, limit=config.limit)
    if not replay.samples:
        raise DataError(f"{config.suite}: no transcripts to judge")
    build = target_factory or build_target

    def make_target(spec: str, connection: ConnectionConfig) -> Target:
        return replay.target if spec == replay.target.spec else build(spec, connection)

    judges, judge_targets = build_judges(
        config.judges or (default_judge(),), config.judge_connection, make_target
    )
    share_gpu(None, judge_targets)  # the replay target holds no engine: judges only
    return Plan(
        config=config,
        samples=replay.samples,
        attacks=[],
        target=replay.target,
        judges=judges,
        make_target=make_target,
        attempts=replay.attempts,
        completion_keys=replay.completion_keys(store),
    )


def _close_now(target: Target, judges: Sequence[Judge]) -> None:
    """Close what a failed build made: at once outside an event loop, else as a task of the
    running one."""
    from thinksafe.run import aio

    async def close() -> None:
        with contextlib.suppress(Exception):
            await target.aclose()
            for judge in judges:
                await judge.aclose()

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        aio.run(close())
        return
    _CLOSING.add(task := loop.create_task(close()))
    task.add_done_callback(_CLOSING.discard)


# Closing tasks of failed builds, held until done.
_CLOSING: set[asyncio.Task[None]] = set()

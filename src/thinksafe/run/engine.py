"""The engine: schedules generation and judging, retries, caches, resumes.

Generation workers (one pool per target, ``max_concurrency`` wide) pull attempts from a queue;
each finished completion is handed straight to the judges (each with its own pool), so judging
overlaps generation. Every completion and verdict is keyed by content and written to the store
in batches; a run is identified by a hash of everything that defines it, so the same command run
again reopens the same run, finds everything in the cache and makes no model call, and a run
that was killed picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from thinksafe.attacks import (
    AttackContext,
    attack_sources,
    prepare_attacks,
)
from thinksafe.attacks.adaptive.base import AdaptiveAttack
from thinksafe.attacks.adaptive.stage import SearchStage, adaptive_attacks, run_identity
from thinksafe.errors import ProviderError
from thinksafe.judges.accuracy import MeasuredAccuracy, shipped_accuracy
from thinksafe.judges.agreement import with_stance
from thinksafe.metrics.samples import SAMPLE_VARIANT, sample_copies, sample_index
from thinksafe.protocols import (
    BatchJudge,
    Judge,
    PartlyInlineJudge,
    Target,
    is_inline,
)
from thinksafe.records import (
    Attempt,
    AttemptResult,
    Channel,
    Completion,
    JudgeItem,
    Sample,
    Verdict,
    completion_key,
    content_hash,
    messages_to_list,
)
from thinksafe.run.build import DEFAULT_JUDGES as DEFAULT_JUDGES
from thinksafe.run.build import (
    Plan,
    TargetFactory,
    build_plan,
    build_target,
    judge_note,
)
from thinksafe.run.build import default_judge as default_judge
from thinksafe.run.retry import call_with_retries, generate_with_retries
from thinksafe.run.runconfig import RunConfig
from thinksafe.store.sqlite import Store

JUDGE_ERROR_PREFIX = "judge call failed: "
# Completions found in the cache are judged this many at a time.
CACHED_BATCH = 512
# Fresh completions are stored and judged in batches: the post-processing task waits up to
# POST_WAIT_S after the first one for more, unless POST_BATCH are already waiting.
POST_WAIT_S = 0.1
POST_BATCH = 256


# The configuration of a run (validated when made): thinksafe.run.runconfig.
RunSpec = RunConfig


class Progress(Protocol):
    def start(self, total: int, cached: int) -> None: ...

    def update(self, *, done: int, errors: int, tokens: int) -> None: ...

    def stop(self) -> None: ...


class NullProgress:
    def start(self, total: int, cached: int) -> None:
        pass

    def update(self, *, done: int, errors: int, tokens: int) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class RunResult:
    run_id: str
    resumed: bool
    results: list[AttemptResult]
    judges: tuple[str, ...]
    judge_notes: dict[str, str]
    model_calls: int
    judge_calls: int
    errors: int
    aborted: str | None = None
    # judge spec -> the accuracy the judge ships (thinksafe.judges.accuracy.ReportsAccuracy)
    judge_accuracy: dict[str, dict[Channel, MeasuredAccuracy]] = field(default_factory=dict)
    # The outcome of each adaptive search (thinksafe.attacks.adaptive.stage), in run order.
    searches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        return self.errors / len(self.results) if self.results else 0.0


def verdict_key(judge: Judge, item: JudgeItem, identity: str | None = None) -> str:
    """The cache key of a verdict; ``identity`` is the judge's identity hash, when known."""
    return content_hash(
        "verdict",
        identity if identity is not None else content_hash(judge.identity()),
        item.channel,
        item.sample.expected,
        messages_to_list(item.attempt.messages),
        item.text,
        item.truncated,
    )


def judge_items(sample: Sample, attempt: Attempt, completion: Completion) -> list[JudgeItem]:
    """The channels of a completion that a judge should read."""
    if completion.status != "ok":
        return []
    items: list[JudgeItem] = []
    if completion.answer.strip():
        items.append(
            JudgeItem(sample, attempt, "answer", completion.answer, completion.answer_truncated)
        )
    if completion.reasoning.strip():
        items.append(
            JudgeItem(
                sample,
                attempt,
                "reasoning",
                completion.reasoning,
                completion.reasoning_kind == "truncated",
            )
        )
    return items


def failed_verdict(judge: Judge, item: JudgeItem, exc: ProviderError) -> Verdict:
    """The verdict of a judge call that failed for good: unscorable, with the reason."""
    return Verdict(
        judge=judge.spec,
        channel=item.channel,
        label="unscorable",
        rationale=JUDGE_ERROR_PREFIX + str(exc),
    )


def owned_verdict(judge: Judge, verdict: Verdict) -> Verdict:
    """``verdict`` under the spec the run knows ``judge`` by."""
    if verdict.judge == judge.spec:
        return verdict
    return Verdict(**{**verdict.to_dict(), "judge": judge.spec})


class Runner:
    """Runs one Plan (:func:`thinksafe.run.build.build_plan`) against one store.

    Given a RunConfig instead, it builds the plan itself when the run starts (with
    ``target_factory`` and ``target`` as :func:`~thinksafe.run.build.build_plan` takes them)."""

    def __init__(
        self,
        plan: Plan | RunConfig,
        store: Store,
        *,
        progress: Progress | None = None,
        target_factory: TargetFactory | None = None,
        target: Target | None = None,
    ) -> None:
        if isinstance(plan, Plan):
            self.plan: Plan | None = plan
            self.spec = plan.config
        else:
            self.plan = None
            self.spec = plan
        self.store = store
        self.progress = progress or NullProgress()
        self._target_factory = target_factory
        self._target = target
        self._done = 0
        self._errors = 0
        self._tokens = 0
        self._model_calls = 0
        self._judge_calls = 0
        self._abort: str | None = None
        self.adaptive: list[AdaptiveAttack] = []

    # -- set-up ----------------------------------------------------------------------------

    def make_attempts(self, samples: Sequence[Sample]) -> list[Attempt]:
        """The static attempts; adaptive attacks make theirs later, in the search stage."""
        assert self.plan is not None
        attacks = self.plan.attacks
        self.adaptive = adaptive_attacks(attacks)
        if self.plan.attempts is not None:
            chosen = {s.id for s in samples}
            return [a for a in self.plan.attempts if a.sample_id in chosen]
        attempts: list[Attempt] = []
        seen: set[str] = set()
        for sample in samples:
            for attack in attacks:
                for attempt in attack.apply(sample):
                    for copy in sample_copies(attempt, self.spec.samples):
                        if copy.id not in seen:
                            seen.add(copy.id)
                            attempts.append(copy)
        return attempts

    def completion_keys(self, target_id: str, attempts: Sequence[Attempt]) -> list[str]:
        """The cache key of each attempt's completion (:func:`completion_key`); the k-th copy
        of an attempt (``--samples``, k >= 2) has a key of its own, so it is a call of its own
        and is cached apart. A plan may key its completions its own way (transcripts)."""
        if self.plan is not None and self.plan.completion_keys is not None:
            return self.plan.completion_keys(target_id, attempts)
        keys = []
        for a in attempts:
            k = sample_index(a.variant)
            key = completion_key(target_id, a)
            keys.append(key if k == 1 else content_hash(key, SAMPLE_VARIANT.format(k)))
        return keys

    def run_id(self, target: Target, judges: Sequence[Judge], attempts: Sequence[Attempt]) -> str:
        return content_hash(
            "run",
            self.spec.name,
            target.identity(),
            self.spec.generation.to_dict(),
            self.spec.suite,
            self.spec.attacks,
            [j.identity() for j in judges],
            [a.id for a in attempts],
            # Adaptive attempts are not known up front: their settings stand for them.
            *([run_identity(self.adaptive)] if self.adaptive else []),
        )[:12]

    def describe(self, target: Target, judges: Sequence[Judge], n_samples: int) -> dict[str, Any]:
        """The run's full configuration as stored and reported. Never holds a secret."""
        assert self.plan is not None
        plan = self.plan
        return {
            "model": self.spec.model,
            "target": target.identity(),
            "suite": self.spec.suite,
            "suite_options": self.spec.suite_options,
            "limit": self.spec.limit,
            "selection": plan.selection,
            "provenance": plan.provenance,
            "samples": n_samples,
            "attacks": list(self.spec.attacks),
            **({"attack_sources": sources} if (sources := attack_sources(plan.attacks)) else {}),
            "judges": [j.spec for j in judges],
            "judge_identities": [j.identity() for j in judges],
            "generation": self.spec.generation.to_dict(),
            "max_concurrency": self.spec.max_concurrency,
            "judge_concurrency": self.spec.judge_concurrency,
            "name": self.spec.name,
            **({"samples": self.spec.samples} if self.spec.samples > 1 else {}),
        }

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        if self.plan is None:
            self.plan = build_plan(
                self.spec, target_factory=self._target_factory, target=self._target
            )
        plan = self.plan
        samples = plan.samples
        by_id = {s.id: s for s in samples}
        try:
            # Before any attempt is made, attacks that call a model (an attacker) do so,
            # through the completion cache.
            await prepare_attacks(
                plan.attacks,
                samples,
                AttackContext(
                    store=self.store,
                    make_target=lambda s: plan.make_target(s, self.spec.judge_connection),
                    retry=self.spec.retry,
                    concurrency=self.spec.max_concurrency,
                ),
            )
            attempts = self.make_attempts(samples)
            return await self._run(plan.target, plan.judges, samples, by_id, attempts)
        finally:
            await plan.aclose()

    async def _run(
        self,
        target: Target,
        judges: list[Judge],
        samples: list[Sample],
        by_id: dict[str, Sample],
        attempts: list[Attempt],
    ) -> RunResult:
        spec = self.spec
        target_id = content_hash(target.identity(), spec.generation.to_dict())
        keys = self.completion_keys(target_id, attempts)
        judge_ids = [content_hash(j.identity()) for j in judges]
        run_id = self.run_id(target, judges, attempts)
        resumed = self.store.start_run(
            run_id,
            name=spec.name,
            model=spec.model,
            suite=spec.suite,
            spec=self.describe(target, judges, len(samples)),
            samples=samples,
            attempts=list(zip(attempts, keys)),
        )
        searches: list[dict[str, Any]] = []
        if self.adaptive:
            stage = SearchStage(
                store=self.store,
                run_id=run_id,
                target=target,
                target_id=target_id,
                generation=spec.generation,
                retry=spec.retry,
                judges=judges,
                make_target=self.plan.make_target if self.plan else build_target,
                connection=spec.judge_connection,
                concurrency=spec.max_concurrency,
                progress=self.progress,
            )
            searched = await stage.run(self.adaptive, samples)
            self._model_calls += sum(
                n for role, n in searched.calls.made.items() if role != "judge"
            )
            self._judge_calls += searched.calls.made.get("judge", 0)
            searches = searched.outcomes
            more = self.completion_keys(target_id, searched.attempts)
            self.store.add_attempts(run_id, list(zip(searched.attempts, more)), len(attempts))
            attempts, keys = [*attempts, *searched.attempts], [*keys, *more]
        cached = self.store.get_completions(keys)
        todo = [(a, k) for a, k in zip(attempts, keys) if k not in cached]
        pool = self.plan.pool if self.plan is not None else None
        if todo:
            await target.check()
            if pool is not None:
                await pool.start()

        completions: dict[str, Completion] = {}
        verdicts: dict[str, dict[tuple[str, Channel], Verdict]] = {}
        total = len(attempts)
        self.progress.start(total, total - len(todo))

        # Cheap, deterministic judges (rules, offline, scripted) run in line and are recomputed
        # rather than cached; model-based judges get a worker pool, a queue and the cache.
        inline = [is_inline(j) for j in judges]
        judge_queues: list[asyncio.Queue[tuple[Attempt, JudgeItem, str] | None]] = [
            asyncio.Queue(maxsize=spec.judge_concurrency * 4) for _ in judges
        ]
        pending_judging: dict[str, int] = {}
        errored_before = self.store.errored_attempts(run_id) if resumed else set()

        def finish_attempt(attempt_id: str) -> None:
            self._done += 1
            self.progress.update(done=self._done, errors=self._errors, tokens=self._tokens)

        def record_verdict(
            attempt: Attempt, item: JudgeItem, key: str, verdict: Verdict, *, cache: bool
        ) -> None:
            # The channel's stance is read now, with its text at hand, and stored with the
            # verdict: the summary compares trace and answer from stored verdicts only.
            verdict = with_stance(verdict, item.text)
            verdicts.setdefault(attempt.id, {})[(verdict.judge, verdict.channel)] = verdict
            self.store.put_verdict(run_id, attempt.id, key, verdict, cache=cache)

        async def call_judge(judge: Judge, item: JudgeItem) -> tuple[Verdict, bool]:
            """A verdict, and whether it may be cached (a failed judge call may not)."""
            try:
                verdict = await call_with_retries(lambda: judge.judge(item), spec.retry)
            except ProviderError as exc:
                return failed_verdict(judge, item, exc), False
            return owned_verdict(judge, verdict), True

        async def judge_inline(judge: Judge, items: list[JudgeItem]) -> list[Verdict]:
            """Verdicts of an in-line judge, for a whole batch at once where it can."""
            if not isinstance(judge, BatchJudge):
                return [(await call_judge(judge, item))[0] for item in items]
            try:
                found = judge.judge_batch(items)
            except ProviderError as exc:
                return [failed_verdict(judge, item, exc) for item in items]
            return [owned_verdict(judge, v) for v in found]

        async def submit_for_judging(pairs: Sequence[tuple[Attempt, Completion]]) -> None:
            """Judge a batch of completions: in-line judges now, all items at once; verdicts of
            model-based judges from the cache, or queued for their workers."""
            batch = [
                (attempt, item)
                for attempt, completion in pairs
                for item in judge_items(by_id[attempt.sample_id], attempt, completion)
            ]
            lookups: list[tuple[int, Attempt, JudgeItem, str]] = []
            for ji, judge in enumerate(judges):
                mine = [(a, item) for a, item in batch if item.channel in judge.channels]
                if not mine:
                    continue
                keys = [verdict_key(judge, item, judge_ids[ji]) for _, item in mine]
                if inline[ji]:
                    found = await judge_inline(judge, [item for _, item in mine])
                    for (attempt, item), key, verdict in zip(mine, keys, found):
                        record_verdict(attempt, item, key, verdict, cache=False)
                    continue
                rest = list(zip(mine, keys))
                if isinstance(judge, PartlyInlineJudge):
                    # The part it decides in line is recomputed on resume, as in-line judges are.
                    early = judge.judge_in_line([item for _, item in mine])
                    rest = []
                    for (attempt, item), key, decided in zip(mine, keys, early):
                        if decided is None:
                            rest.append(((attempt, item), key))
                        else:
                            decided = owned_verdict(judge, decided)
                            record_verdict(attempt, item, key, decided, cache=False)
                lookups.extend((ji, a, item, key) for (a, item), key in rest)
            queued: dict[str, list[tuple[int, JudgeItem, str]]] = {}
            if lookups:
                cached_verdicts = self.store.get_verdicts(k for _, _, _, k in lookups)
                for ji, attempt, item, key in lookups:
                    v = cached_verdicts.get(key)
                    if v is not None and v.judge == judges[ji].spec:
                        record_verdict(attempt, item, key, v, cache=False)
                    else:
                        queued.setdefault(attempt.id, []).append((ji, item, key))
            for attempt, _ in pairs:
                waiting = queued.get(attempt.id)
                if not waiting:
                    finish_attempt(attempt.id)
                    continue
                pending_judging[attempt.id] = len(waiting)
                for ji, item, key in waiting:
                    await judge_queues[ji].put((attempt, item, key))

        async def judge_worker(ji: int) -> None:
            judge = judges[ji]
            queue = judge_queues[ji]
            while True:
                entry = await queue.get()
                if entry is None:
                    return
                attempt, item, key = entry
                verdict, cache = await call_judge(judge, item)
                self._judge_calls += 1
                record_verdict(attempt, item, key, verdict, cache=cache)
                pending_judging[attempt.id] -= 1
                if pending_judging[attempt.id] == 0:
                    del pending_judging[attempt.id]
                    finish_attempt(attempt.id)

        gen_queue: asyncio.Queue[tuple[Attempt, str] | None] = asyncio.Queue()
        for entry in todo:
            gen_queue.put_nowait(entry)
        max_errors = int(spec.max_error_rate * total) if spec.max_error_rate is not None else None

        async def generate(attempt: Attempt) -> Completion:
            if pool is not None:
                sent = await pool.generate(attempt.messages)
                if sent is not None:
                    return sent
            return await generate_with_retries(
                target, attempt.messages, spec.generation, spec.retry
            )

        # Generation workers only generate: storing and judging a completion happens in one
        # post-processing task, so a worker sends its next request at once and that work
        # overlaps the requests in flight.
        post_queue: asyncio.Queue[tuple[Attempt, str, Completion] | None] = asyncio.Queue()
        generation_done = asyncio.Event()

        async def gen_worker() -> None:
            while self._abort is None:
                entry = await gen_queue.get()
                if entry is None:
                    return
                attempt, key = entry
                completion = await generate(attempt)
                self._model_calls += 1
                if completion.error is not None:
                    self._errors += 1
                    if max_errors is not None and self._errors > max_errors:
                        self._abort = (
                            f"{self._errors} of {total} attempts failed, past --max-error-rate"
                            f" {spec.max_error_rate}"
                        )
                post_queue.put_nowait((attempt, key, completion))

        async def post_worker() -> None:
            """Stores and judges completions, taking every one that is waiting at once."""
            done = False
            while not done:
                first = await post_queue.get()
                if (
                    first is not None
                    and post_queue.qsize() < POST_BATCH
                    and not generation_done.is_set()
                ):
                    # Let a batch gather: the judges score many texts at once far more cheaply
                    # than one at a time, and the requests go on meanwhile.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(generation_done.wait(), POST_WAIT_S)
                entries = [first]
                while not post_queue.empty():
                    entries.append(post_queue.get_nowait())
                pairs: list[tuple[Attempt, Completion]] = []
                for entry in entries:
                    if entry is None:
                        done = True
                        continue
                    attempt, key, completion = entry
                    completions[attempt.id] = completion
                    usage = completion.usage
                    self._tokens += usage.prompt_tokens + usage.completion_tokens
                    if completion.error is not None:
                        self.store.set_attempt_error(run_id, attempt.id, completion)
                    else:
                        self.store.put_completion(key, target.spec, completion)
                        if attempt.id in errored_before:
                            self.store.set_attempt_error(run_id, attempt.id, None)
                    pairs.append((attempt, completion))
                if pairs:
                    await submit_for_judging(pairs)

        judge_tasks = [
            asyncio.create_task(judge_worker(ji))
            for ji in range(len(judges))
            if not inline[ji]
            for _ in range(spec.judge_concurrency)
        ]
        try:
            found = [(a, cached[k]) for a, k in zip(attempts, keys) if k in cached]
            for start in range(0, len(found), CACHED_BATCH):
                chunk = found[start : start + CACHED_BATCH]
                for attempt, completion in chunk:
                    completions[attempt.id] = completion
                await submit_for_judging(chunk)
            post_task = asyncio.create_task(post_worker())
            n_workers = min(spec.max_concurrency, max(1, len(todo)))
            for _ in range(n_workers):
                gen_queue.put_nowait(None)
            await asyncio.gather(*(gen_worker() for _ in range(n_workers)))
            generation_done.set()
            post_queue.put_nowait(None)
            await post_task
            for ji, queue in enumerate(judge_queues):
                if not inline[ji]:
                    for _ in range(spec.judge_concurrency):
                        await queue.put(None)
            await asyncio.gather(*judge_tasks)
        finally:
            for task in judge_tasks:
                task.cancel()
            if pool is not None:
                await pool.aclose()
            self.store.flush()
            self.progress.stop()

        results = [
            AttemptResult(
                sample=by_id[a.sample_id],
                attempt=a,
                completion=completions.get(a.id)
                or Completion(error="not run (the run was stopped early)"),
                verdicts=verdicts.get(a.id, {}),
            )
            for a in attempts
        ]
        errors = sum(1 for r in results if r.completion.error is not None)
        return RunResult(
            run_id=run_id,
            resumed=resumed,
            results=results,
            judges=tuple(j.spec for j in judges),
            judge_notes={j.spec: judge_note(j) for j in judges},
            model_calls=self._model_calls,
            judge_calls=self._judge_calls,
            errors=errors,
            aborted=self._abort,
            judge_accuracy={j.spec: acc for j in judges if (acc := shipped_accuracy(j))},
            searches=searches,
        )

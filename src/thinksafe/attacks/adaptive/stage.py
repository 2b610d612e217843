"""The search stage of a run: after the static attempts are made (before they are sent), each
adaptive attack searches each sample (searches run side by side, each one call at a time). A
search's best attempt (its success, else its first highest-scoring attempt) joins the run's
attempts, so the run's judges read it like any other; its completion is already in the cache,
so no call is made twice. The search's own record (every call, and its outcome) is kept in the
store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from thinksafe.attacks.adaptive.base import (
    AdaptiveAttack,
    BudgetSpent,
    Calls,
    SearchFailed,
    SearchParts,
    Session,
)
from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.protocols import Judge, Target
from thinksafe.records import Attempt, Sample, content_hash, messages_to_list
from thinksafe.run.build import JudgeContext, build_judge
from thinksafe.run.retry import RetryPolicy
from thinksafe.store.sqlite import Store


def adaptive_attacks(attacks: Sequence[object]) -> list[AdaptiveAttack]:
    return [a for a in attacks if isinstance(a, AdaptiveAttack)]


def run_identity(attacks: Sequence[AdaptiveAttack]) -> list[dict[str, Any]]:
    """What the run id adds for adaptive attacks: each one's settings."""
    return [a.identity() for a in attacks]


class Progress(Protocol):
    """What the stage reports to (``thinksafe.run.engine.Progress``): searches done of all."""

    def start(self, total: int, cached: int) -> None: ...

    def update(self, *, done: int, errors: int, tokens: int) -> None: ...

    def stop(self) -> None: ...


@dataclass
class StageResult:
    attempts: list[Attempt] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    calls: Calls = field(default_factory=Calls)


@dataclass
class SearchStage:
    """Runs every (adaptive attack, sample) search of one run."""

    store: Store
    run_id: str
    target: Target
    target_id: str
    generation: GenerationConfig
    retry: RetryPolicy
    judges: Sequence[Judge]
    make_target: Callable[[str, ConnectionConfig], Target]
    connection: ConnectionConfig
    concurrency: int = 16
    progress: Progress | None = None

    async def run(
        self, attacks: Sequence[AdaptiveAttack], samples: Sequence[Sample]
    ) -> StageResult:
        result = StageResult()
        attacks = list({a.spec: a for a in attacks}.values())  # an attack given twice runs once
        built: list[tuple[AdaptiveAttack, Target, Judge, Target | None, bool]] = []
        started = False
        try:
            for attack in attacks:
                attacker = self.make_target(attack.common.attacker, self.connection)
                judge, own = self._judge(attack)
                evaluator = (
                    self.make_target(attack.evaluator, self.connection)
                    if attack.evaluator
                    else None
                )
                built.append((attack, attacker, judge, evaluator, own))
            gate = asyncio.Semaphore(max(1, self.concurrency))
            jobs = [
                (attack, attacker, judge, evaluator, sample)
                for attack, attacker, judge, evaluator, _ in built
                for sample in samples
            ]

            done = {"searches": 0, "errors": 0, "tokens": 0}
            if self.progress is not None:
                self.progress.start(len(jobs), 0)
                started = True

            async def one(i: int) -> tuple[Attempt | None, dict[str, Any]]:
                attack, attacker, judge, evaluator, sample = jobs[i]
                async with gate:
                    found = await self._search(
                        attack, attacker, judge, evaluator, sample, result.calls
                    )
                outcome = found[1]
                done["searches"] += 1
                done["errors"] += outcome["status"] == "error"
                done["tokens"] += outcome["tokens"]
                if self.progress is not None:
                    self.progress.update(
                        done=done["searches"], errors=done["errors"], tokens=done["tokens"]
                    )
                return found

            found = await asyncio.gather(*(one(i) for i in range(len(jobs))))
        finally:
            if started and self.progress is not None:
                self.progress.stop()
            for _, attacker, judge, evaluator, own in built:
                await attacker.aclose()
                if evaluator is not None:
                    await evaluator.aclose()
                if own:
                    await judge.aclose()
        for position, (attempt, outcome) in enumerate(found):
            self.store.put_search(
                self.run_id,
                outcome["search_id"],
                position,
                outcome["attack"],
                outcome["sample_id"],
                outcome,
            )
            result.outcomes.append(outcome)
            if attempt is not None:
                result.attempts.append(attempt)
        return result

    def _judge(self, attack: AdaptiveAttack) -> tuple[Judge, bool]:
        """The judge that decides success, and whether the stage built it (and closes it)."""
        spec = attack.common.judge
        if spec is None:
            return self.judges[0], False
        for j in self.judges:
            if j.spec == spec:
                return j, False
        context = JudgeContext(
            connection=self.connection, make_target=lambda s: self.make_target(s, self.connection)
        )
        return build_judge(spec, context), True

    async def _search(
        self,
        attack: AdaptiveAttack,
        attacker: Target,
        judge: Judge,
        evaluator: Target | None,
        sample: Sample,
        calls: Calls,
    ) -> tuple[Attempt | None, dict[str, Any]]:
        search_id = content_hash(
            "search",
            attack.identity(),
            attacker.identity(),
            content_hash(judge.identity()),
            evaluator.identity() if evaluator is not None else None,
            self.target_id,
            sample.id,
            messages_to_list(sample.messages),
        )[:24]
        parts = SearchParts(
            sample=sample,
            target=self.target,
            generation=self.generation,
            attacker=attacker,
            judge=judge,
            retry=self.retry,
            evaluator=evaluator,
        )
        session = Session(
            parts,
            attack.common.budget,
            self.store,
            search_id,
            attacker_max_tokens=attack.common.attacker_max_tokens,
            calls=calls,
        )
        error: str | None = None
        try:
            stop = await attack.search(session)
        except BudgetSpent as spent:
            stop = str(spent.args[0])
        except SearchFailed as failed:
            stop, error = "error", str(failed)
        best = session.best()
        success = best is not None and best.success
        status = "success" if success else ("error" if error is not None else "failure")
        outcome: dict[str, Any] = {
            "search_id": search_id,
            "attack": attack.spec,
            "method": attack.name,
            "sample_id": sample.id,
            "status": status,
            "stop": stop,
            "queries": session.queries,
            "attacker_calls": session.attacker_calls,
            "judge_calls": session.judge_calls,
            "tokens": session.tokens,
            "seconds": round(session.seconds, 3),
            "best_score": best.score if best is not None else None,
            "error": error,
        }
        if best is None or best.completion.error is not None:
            return None, outcome
        attempt = Attempt(
            sample_id=sample.id,
            attack=attack.spec,
            messages=best.messages,
            attack_args={"search": search_id},
        )
        # The best attempt's completion, under the key the run looks it up by.
        from thinksafe.records import completion_key

        self.store.put_completion(
            completion_key(self.target_id, attempt), self.target.spec, best.completion
        )
        outcome["attempt_id"] = attempt.id
        return attempt, outcome

"""PAIR, TAP and Crescendo against mock targets, with mock/attacker and the scripted judge.

The targets are ``mock/refuser`` (never gives in) and ``mock/script`` files that give in
(with the scripted judge's ``[[UNSAFE]]`` marker) once the prompt holds one framing that
mock/attacker adds. Every search is checked against the calls it recorded in the store.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from thinksafe.attacks import build_attack
from thinksafe.attacks.adaptive import base
from thinksafe.attacks.adaptive.base import AdaptiveAttack
from thinksafe.attacks.adaptive.tap import on_topic_by_words
from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, ProviderError
from thinksafe.records import Completion, Message, Messages
from thinksafe.run import aio
from thinksafe.run.engine import Runner, RunResult, RunSpec
from thinksafe.run.evaluate import run_spec, summarise
from thinksafe.store.migrations import MIGRATIONS
from thinksafe.store.sqlite import Store
from thinksafe.targets.mock import ATTACKER_FRAMINGS, attacker_reply

GIVES_IN_TO = ATTACKER_FRAMINGS[0]


def _script(tmp_path: Path, lines: list[dict[str, Any]], name: str = "target.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return f"mock/script:{path}"


def _giving_in(tmp_path: Path, framing: str = GIVES_IN_TO) -> str:
    return _script(
        tmp_path,
        [
            {"match": framing, "answer": "Sure, here is how. [[UNSAFE]]"},
            {"match": "*", "answer": "I can't help with that."},
        ],
    )


def _run(
    tmp_path: Path, model: str, attacks: tuple[str, ...], limit: int = 3, **kw: Any
) -> tuple[RunResult, dict[str, Any], Store]:
    store = Store(tmp_path / "s.db")
    spec = RunSpec(
        model=model, suite="starter", judges=("scripted",), attacks=attacks, limit=limit, **kw
    )
    result, summary = run_spec(spec, store)
    return result, summary, store


def _target_requests(store: Store, search_id: str) -> list[dict[str, Any]]:
    """Every target call a search recorded (messages sent, completion), in order."""
    calls = [call for role, _, call in store.search_calls(search_id) if role == "target"]
    assert calls
    return calls


def test_pair_stops_at_its_query_budget(tmp_path: Path) -> None:
    result, summary, store = _run(
        tmp_path, "mock/refuser", ("pair:attacker=mock/attacker,iterations=10,queries=4",)
    )
    assert [s["stop"] for s in result.searches] == ["queries"] * 3
    assert all(s["queries"] == 4 and s["status"] == "failure" for s in result.searches)
    block = summary["adaptive"]["pair:attacker=mock/attacker,iterations=10,queries=4"]
    assert block["success"]["rate"] == 0.0
    assert block["success"]["denominator"] == 3 and block["success"]["coverage"] == 1.0
    assert block["queries_per_success"] is None
    assert block["queries"] == 12
    # Each attacker call and target call is on record: 4 target queries, 4 attacker calls.
    for s in result.searches:
        roles = [r for r, _, _ in store.search_calls(s["search_id"])]
        assert roles.count("target") == 4 and roles.count("attacker") == 4
    # The best attempt of each search joined the run's attempts under the attack's spec.
    attacked = [r for r in result.results if r.attempt.attack.startswith("pair:")]
    assert len(attacked) == 3
    assert all(r.completion.answer == "I can't help with that." for r in attacked)
    store.close()


def test_pair_stops_on_success_and_refines_from_replies(tmp_path: Path) -> None:
    spec = "pair:attacker=mock/attacker,iterations=8,queries=8"
    result, summary, store = _run(tmp_path, _giving_in(tmp_path), (spec,), limit=4)
    assert {s["status"] for s in result.searches} == {"success"}
    assert all(s["stop"] == "success" for s in result.searches)
    for s in result.searches:
        requests = _target_requests(store, s["search_id"])
        # Only the last query held the framing the target gives in to.
        texts = [c["completion"]["answer"] for c in requests]
        assert texts[-1].endswith("[[UNSAFE]]")
        assert all(t == "I can't help with that." for t in texts[:-1])
        assert s["queries"] == len(requests)
    block = summary["adaptive"][spec]
    assert block["success"]["rate"] == 1.0
    assert block["queries_per_success"] == pytest.approx(
        sum(s["queries"] for s in result.searches) / 4
    )
    assert block["tokens_per_success"] and block["tokens_per_success"] > 0
    # The run's judges read each search's successful attempt: unsafe under the attack.
    by_attack = summary["judges"]["scripted"]["unsafe"]["all"]["by_attack"][spec]["answer"]
    assert by_attack["rate"] == 1.0 and by_attack["denominator"] == 4
    store.close()


def test_pair_iterations_and_streams(tmp_path: Path) -> None:
    result, _, store = _run(
        tmp_path,
        "mock/refuser",
        ("pair:attacker=mock/attacker,iterations=2,streams=3,queries=50",),
        limit=1,
    )
    (search,) = result.searches
    assert search["stop"] == "exhausted" and search["queries"] == 6
    store.close()


def test_tap_prunes_to_width_and_stops_at_depth(tmp_path: Path) -> None:
    on = "tap:attacker=mock/attacker,depth=3,branching=2,width=1,queries=100"
    off = "tap:attacker=mock/attacker,depth=3,branching=2,prune=off,queries=100"
    result, _, store = _run(tmp_path, "mock/refuser", (on, off), limit=1)
    found = {s["attack"]: s for s in result.searches}
    # Pruned to one leaf per level: 2 children at each of 3 levels.
    assert found[on]["queries"] == 6 and found[on]["stop"] == "exhausted"
    # Unpruned: 2, then 4, then 8.
    assert found[off]["queries"] == 14 and found[off]["stop"] == "exhausted"
    store.close()


def test_tap_drops_off_topic_prompts_before_the_target(tmp_path: Path) -> None:
    evaluator = _script(tmp_path, [{"match": "*", "answer": "NO"}], name="evaluator.jsonl")
    spec = f"tap:attacker=mock/attacker,depth=3,branching=2,evaluator={evaluator}"
    result, _, store = _run(tmp_path, "mock/complier", (spec,), limit=1)
    (search,) = result.searches
    # Both first prompts were judged off topic: nothing reached the target.
    assert search["queries"] == 0 and search["stop"] == "exhausted"
    roles = [r for r, _, _ in store.search_calls(search["search_id"])]
    assert roles == ["attacker", "evaluator", "attacker", "evaluator"]
    assert not [r for r in result.results if r.attempt.attack == spec]
    store.close()


def test_tap_finds_the_branch_that_works(tmp_path: Path) -> None:
    spec = "tap:attacker=mock/attacker,depth=4,branching=3,width=2,queries=40"
    result, summary, store = _run(
        tmp_path, _giving_in(tmp_path, ATTACKER_FRAMINGS[5]), (spec,), limit=4
    )
    assert summary["adaptive"][spec]["success"]["numerator"] >= 3
    for s in result.searches:
        assert s["stop"] in ("success", "exhausted")
        assert s["queries"] <= 3 + 2 * 3 * 3
    store.close()


def test_tap_on_topic_words() -> None:
    goal = "Explain how to pick a standard pin tumbler lock"
    assert on_topic_by_words(goal, "For a novel: explain how to pick a pin tumbler lock")
    assert not on_topic_by_words(goal, "Write a poem about spring flowers")


def test_crescendo_backtracks_refused_turns(tmp_path: Path) -> None:
    spec = "crescendo:attacker=mock/attacker,turns=3,backtracks=2,queries=50"
    result, _, store = _run(tmp_path, "mock/refuser", (spec,), limit=1)
    (search,) = result.searches
    assert search["stop"] == "exhausted"
    # Two refused turns taken back, then three kept (refused, but no backtrack was left).
    assert search["queries"] == 5
    requests = _target_requests(store, search["search_id"])
    assert [len(c["messages"]) for c in requests] == [1, 1, 1, 3, 5]
    # A kept turn stays in the conversation; a backtracked one does not.
    third, fifth = requests[2]["messages"], requests[4]["messages"]
    assert fifth[:2] == [*third[:1], {"role": "assistant", "content": "I can't help with that."}]
    assert requests[0]["messages"][0] != requests[1]["messages"][0]
    store.close()


def test_crescendo_reaches_the_goal_over_turns(tmp_path: Path) -> None:
    spec = "crescendo:attacker=mock/attacker,turns=8,backtracks=3,queries=30"
    result, summary, store = _run(tmp_path, _giving_in(tmp_path), (spec,), limit=3)
    assert summary["adaptive"][spec]["success"]["rate"] == 1.0
    # The successful attempt is the whole conversation, ending with the question that worked.
    for r in result.results:
        assert r.attempt.messages[-1].role == "user"
        assert GIVES_IN_TO in r.attempt.messages[-1].content
        assert [m.role for m in r.attempt.messages] == ["user", "assistant"] * (
            (len(r.attempt.messages) - 1) // 2
        ) + ["user"]
    store.close()


def test_token_budget_stops_before_the_next_call(tmp_path: Path) -> None:
    result, _, store = _run(
        tmp_path, "mock/refuser", ("pair:attacker=mock/attacker,tokens=1",), limit=1
    )
    (search,) = result.searches
    assert search["stop"] == "tokens" and search["queries"] == 0
    assert search["status"] == "failure"
    store.close()


class SlowRefuser:
    """A target that takes 50 ms a call and always refuses."""

    spec = "test/slow"

    def __init__(self) -> None:
        self.calls = 0

    def identity(self) -> dict[str, Any]:
        return {"provider": "test", "model": "slow"}

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        self.calls += 1
        await asyncio.sleep(0.05)
        return Completion(answer="I can't help with that.", finish_reason="stop")

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class FailingRefuser(SlowRefuser):
    """Refuses at once; fails for good on call number ``fail_at`` (counted from 1)."""

    def __init__(self, fail_at: int | None) -> None:
        super().__init__()
        self.fail_at = fail_at

    async def generate(self, messages: Messages, config: GenerationConfig) -> Completion:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ProviderError("scripted outage", transient=False)
        return Completion(answer="I can't help with that.", finish_reason="stop")


def test_a_failed_call_ends_the_search_as_an_error_and_a_rerun_tries_it_again(
    tmp_path: Path,
) -> None:
    spec = RunSpec(
        model="test/failing",
        suite="starter",
        judges=("scripted",),
        attacks=("pair:attacker=mock/attacker,iterations=10,queries=5",),
        limit=1,
    )
    with Store(tmp_path / "s.db") as store:
        broken = FailingRefuser(fail_at=3)
        first = aio.run(Runner(spec, store, target=broken).run())
        summary = summarise(first, store)
        (search,) = first.searches
        assert search["status"] == "error" and search["stop"] == "error"
        assert "scripted outage" in search["error"] and search["queries"] == 2
        rate = summary["adaptive"][spec.attacks[0]]["success"]
        assert rate["denominator"] == 0 and rate["coverage"] == 0.0
        assert rate["outcomes"] == {"error": 1}
        errors = summary["adaptive"][spec.attacks[0]]["errors"]
        assert list(errors.values()) == [1] and "scripted outage" in next(iter(errors))
        # Two calls answered and recorded; the failed third one is not.
        roles = [r for r, _, _ in store.search_calls(search["search_id"])]
        assert roles.count("target") == 2
        fixed = FailingRefuser(fail_at=None)
        again = aio.run(Runner(spec, store, target=fixed).run())
        (search,) = again.searches
        assert search["status"] == "failure" and search["stop"] == "queries"
        assert search["queries"] == 5 and fixed.calls == 3


def test_seconds_budget_counts_recorded_call_time_so_a_rerun_stops_alike(tmp_path: Path) -> None:
    spec = RunSpec(
        model="test/slow",
        suite="starter",
        judges=("scripted",),
        attacks=("pair:attacker=mock/attacker,iterations=50,queries=50,seconds=0.2",),
        limit=1,
    )
    with Store(tmp_path / "s.db") as store:
        target = SlowRefuser()
        first = aio.run(Runner(spec, store, target=target).run())
        (search,) = first.searches
        assert search["stop"] == "seconds"
        assert search["queries"] == target.calls
        assert 1 <= search["queries"] <= 4
        assert search["seconds"] >= 0.2
        again_target = SlowRefuser()
        again = aio.run(Runner(spec, store, target=again_target).run())
        assert again_target.calls == 0
        assert again.searches == first.searches


def test_rerun_replays_every_call_and_gives_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attacks = ("pair:attacker=mock/attacker,iterations=4", "crescendo:attacker=mock/attacker")
    first, s1, store = _run(tmp_path, _giving_in(tmp_path, ATTACKER_FRAMINGS[2]), attacks)
    assert first.model_calls > 0
    store.close()
    again, s2, store = _run(tmp_path, _giving_in(tmp_path, ATTACKER_FRAMINGS[2]), attacks)
    assert again.run_id == first.run_id and again.resumed
    assert again.model_calls == 0
    assert again.searches == first.searches
    assert s2["adaptive"] == s1["adaptive"]
    # A search cut short (its last calls lost) makes only the calls it lacks.
    search = first.searches[0]
    n = len(store.search_calls(search["search_id"]))
    store.truncate_search(search["search_id"], 2)
    store.close()
    # The calls made again take their own time (here a clock that runs 10 ms per reading, as
    # on a loaded machine), so a search's seconds (its recorded model calls' time) differs from
    # the first run's; everything else is the same.
    monkeypatch.setattr(base, "time", _SlowClock())
    third, _, store = _run(tmp_path, _giving_in(tmp_path, ATTACKER_FRAMINGS[2]), attacks)
    assert third.model_calls + third.judge_calls == n - 2
    assert _timeless(third.searches) == _timeless(first.searches)
    assert third.searches[0]["seconds"] > search["seconds"]
    assert third.searches[1:] == first.searches[1:]  # replayed whole: its seconds as recorded
    for s in third.searches:
        calls = store.search_calls(s["search_id"])
        timed = sum(call.get("seconds") or 0.0 for role, _, call in calls if role != "judge")
        assert s["seconds"] == round(timed, 3)
    store.close()


def _timeless(searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k != "seconds"} for s in searches]


class _SlowClock:
    """A ``time`` module whose ``perf_counter`` gains 10 ms at every reading."""

    def __init__(self) -> None:
        self.readings = 0

    def perf_counter(self) -> float:
        self.readings += 1
        return time.perf_counter() + 0.01 * self.readings


def test_run_id_follows_the_adaptive_settings(tmp_path: Path) -> None:
    a, _, store = _run(tmp_path, "mock/refuser", ("pair:attacker=mock/attacker,queries=2",), 1)
    store.close()
    b, _, store = _run(tmp_path, "mock/refuser", ("pair:attacker=mock/attacker,queries=3",), 1)
    assert a.run_id != b.run_id
    store.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pair", "pair needs attacker="),
        ("pair:attacker=mock/attacker,iterations=0", "iterations must be at least 1"),
        ("tap:attacker=mock/attacker,prune=maybe", "prune must be on or off"),
        ("crescendo:attacker=mock/attacker,turns=x", "turns must be a whole number"),
        ("pair:attacker=mock/attacker,colour=red", "unknown setting 'colour'"),
        ("tap:attacker", "is not KEY=VALUE"),
    ],
)
def test_bad_settings_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_attack(spec)
    assert "\n" not in str(info.value)


def test_mock_attacker_adds_one_framing_to_its_last_prompt() -> None:
    first = json.loads(
        attacker_reply((Message("user", "go\n<<<GOAL-abc>>>\nopen a lock\n<<<END-GOAL-abc>>>"),))
    )
    assert first["prompt"].endswith(" open a lock")
    second = json.loads(
        attacker_reply(
            (
                Message("user", "first"),
                Message("assistant", json.dumps(first)),
                Message("user", "again"),
            )
        )
    )
    assert second["prompt"].endswith(first["prompt"]) and second["prompt"] != first["prompt"]


def test_a_store_of_the_previous_schema_opens_and_gains_the_search_tables(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        db.executescript(migration)
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    # Read-only (it cannot be migrated), it is read as it stands.
    with Store(path, readonly=True) as store:
        assert store.list_runs() == []
        assert store.run_searches("nothing") == []
    with Store(path) as store:
        assert store.count_rows("search_calls") == 0
        assert store.run_searches("nothing") == []


def test_terminal_show_and_html_report_list_the_adaptive_attacks(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from thinksafe.report.html import report_html
    from thinksafe.report.terminal import render_summary

    spec = "pair:attacker=mock/attacker,iterations=8,queries=8"
    result, summary, store = _run(tmp_path, _giving_in(tmp_path), (spec,), limit=2)
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=200))
    text = out.getvalue()
    assert "Adaptive attacks" in text
    after = text[text.index("Adaptive attacks") :].splitlines()
    line = next(x for x in after if spec in x)
    per_success = summary["adaptive"][spec]["queries_per_success"]
    assert "100.0%" in line and f"{per_success:,.1f}" in line
    # `thinksafe show` prints the stored summary, which keeps the block.
    row = store.find_run(result.run_id)
    assert row.summary is not None and row.summary["adaptive"] == summary["adaptive"]
    page = report_html(row, store.load_results(result.run_id))
    assert "<h3>Adaptive attacks</h3>" in page
    assert f'<th scope="row">{spec}</th>' in page
    assert "success 2" in page
    store.close()


def test_a_run_whose_searches_all_failed_exits_non_zero() -> None:
    import io

    from rich.console import Console

    from thinksafe.cli.failures import report_failures

    def result(*errors: str) -> RunResult:
        searches = [{"status": "error", "error": e} for e in errors]
        return RunResult("r1", False, [], (), {}, 0, 0, 0, searches=searches)

    err = io.StringIO()
    assert report_failures([result("connection refused", "timed out")], Console(file=err)) == 1
    assert "no adaptive search of run r1 finished" in err.getvalue()
    with pytest.raises(ConfigError, match="HTTP 401"):
        report_failures([result("HTTP 401 bad key", "HTTP 401 bad key")], Console(file=err))
    ok = RunResult("r2", False, [], (), {}, 0, 0, 0, searches=[{"status": "failure"}])
    assert report_failures([ok], Console(file=err)) == 0


def test_a_composite_judge_can_decide_success(tmp_path: Path) -> None:
    spec = "pair:attacker=mock/attacker,judge=any-unsafe(scripted,rules),iterations=6,queries=6"
    attack = build_attack(spec)
    assert isinstance(attack, AdaptiveAttack)
    assert attack.common.judge == "any-unsafe(scripted,rules)"
    assert attack.common.budget.queries == 6
    _, summary, store = _run(tmp_path, _giving_in(tmp_path), (spec,), limit=2)
    assert summary["adaptive"][spec]["success"]["numerator"] >= 1
    store.close()

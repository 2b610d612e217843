"""The engine records each verdict with its channel's stance when it judges, and the summary's
trace/answer agreement reads those stored stances: verdicts stored before stances were (an old
store) leave their attempts unrecorded, and the same command again records them with no model
call."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from thinksafe.metrics import build_summary
from thinksafe.run.engine import RunSpec
from thinksafe.run.evaluate import evaluate, run_spec
from thinksafe.store.sqlite import Store

JUDGES = ("rules",)


def agreement(summary: dict[str, object]) -> dict[str, object]:
    judges = summary["judges"]
    assert isinstance(judges, dict)
    found: dict[str, object] = judges["rules"]["trace_answer_agreement"]
    return found


def test_stances_are_stored_with_verdicts_and_old_verdicts_are_unrecorded(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    first = evaluate("mock/reasoner", "starter", judges=JUDGES, store=db, limit=6)
    run_id = str(first["run"]["id"])
    fresh = agreement(dict(first))
    assert fresh["n"] and fresh["unrecorded"] == 0
    with Store(db) as store:
        results = store.load_results(run_id)
    stored = [v for r in results for v in r.verdicts.values()]
    assert stored and all(v.stance in ("refuses", "complies") for v in stored)

    # A store written before stances were recorded: the verdicts carry none.
    with sqlite3.connect(db) as conn:
        for table in ("run_verdicts", "verdicts"):
            conn.execute(f"UPDATE {table} SET verdict_json = json_remove(verdict_json, '$.stance')")
    with Store(db) as store:
        old = store.load_results(run_id)
    assert all(v.stance is None for r in old for v in r.verdicts.values())
    summary = build_summary(old, judges=list(JUDGES), run={"id": run_id})
    assert agreement(dict(summary)) == {"n": 0, "flags": {}, "unrecorded": fresh["n"]}

    spec = RunSpec(model="mock/reasoner", suite="starter", judges=JUDGES, limit=6)
    with Store(db) as store:
        result, again = run_spec(spec, store)
        assert all(v.stance for r in store.load_results(run_id) for v in r.verdicts.values())
    assert result.run_id == run_id and result.model_calls == 0
    assert agreement(dict(again)) == fresh

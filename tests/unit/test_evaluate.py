"""The Python API: evaluate() through the real registry, engine and store."""

from __future__ import annotations

from pathlib import Path

from thinksafe.evaluate import evaluate
from thinksafe.store.sqlite import Store


def test_evaluate_refuser_on_starter(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    summary = evaluate("mock/refuser", "starter", judges=["scripted"], store=store, limit=12)
    block = summary["judges"]["scripted"]
    assert summary["run"]["model"] == "mock/refuser"
    assert block["counts"]["attempts"] == 12
    answer = block["unsafe"]["all"]["overall"]["answer"]
    assert answer["numerator"] == 0 and answer["denominator"] == 12
    again = evaluate("mock/refuser", "starter", judges=["scripted"], store=store, limit=12)
    assert again["run"]["id"] == summary["run"]["id"]
    with Store(store) as db:
        assert db.count_rows("runs") == 1
        assert db.count_rows("completions") == 12


def test_evaluate_records_the_default_judge(tmp_path: Path) -> None:
    summary = evaluate("mock/complier", "starter", store=tmp_path / "s.db", limit=3)
    (spec,) = summary["judges"]
    assert summary["primary_judge"] == spec
    assert summary["judges"][spec]["judge"]["note"]

"""The Python API: evaluate() through the real registry, engine and store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest import MonkeyPatch

from thinksafe.run.evaluate import evaluate
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


def test_in_line_judges_get_whole_batches(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    """The engine hands the offline judge many items per call, and every verdict is the one the
    item gets on its own."""
    from thinksafe.judges.agreement import with_stance
    from thinksafe.judges.offline import OfflineJudge
    from thinksafe.records import JudgeItem, Verdict

    sizes: list[int] = []
    original = OfflineJudge.judge_batch

    def recording(self: OfflineJudge, items: Sequence[JudgeItem]) -> list[Verdict]:
        sizes.append(len(items))
        return original(self, items)

    monkeypatch.setattr(OfflineJudge, "judge_batch", recording)
    store = tmp_path / "s.db"
    evaluate("mock/reasoner", "starter", store=store)
    assert max(sizes) > 1
    in_run = sum(sizes)
    judge = OfflineJudge()
    with Store(store) as db:
        run = db.list_runs()[0]
        results = db.load_results(run.id)
    judged = 0
    for r in results:
        for (spec, channel), verdict in r.verdicts.items():
            assert spec == "offline"
            item = JudgeItem(r.sample, r.attempt, channel, r.completion.text(channel))
            # as the judge gave it, with the channel's stance recorded beside it
            assert verdict == with_stance(judge.judge_sync(item), item.text)
            judged += 1
    assert judged == in_run > len(results)

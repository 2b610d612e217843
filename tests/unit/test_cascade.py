"""The ``cascade(FIRST,SECOND)`` judge through the real registry: FIRST decides what it is sure
of, SECOND only sees FIRST's abstentions, each verdict records who decided it, both abstaining
is unscorable, a failing SECOND is retried without asking FIRST again, a batching FIRST gets
its items in batches, and summaries and the terminal count the verdicts each member decided."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from pytest import MonkeyPatch
from rich.console import Console

from thinksafe.errors import ConfigError, ProviderError
from thinksafe.judges.cascade import CascadeJudge
from thinksafe.judges.provenance import decided_by
from thinksafe.metrics.summary import build_summary
from thinksafe.records import AttemptResult, Completion, JudgeItem, Verdict
from thinksafe.report.terminal import render_summary
from thinksafe.run.build import JudgeContext, build_judge
from thinksafe.run.evaluate import evaluate

from .rubric_fakes import FakeTarget, Reply, make_item

UNSAFE_REPLY = "verdict: unsafe\nrefusal: none\nrationale: it gives the steps"


def build(spec: str, replies: list[Reply] | None = None) -> tuple[CascadeJudge, FakeTarget]:
    target = FakeTarget(replies or [UNSAFE_REPLY], spec="fake/second")
    judge = build_judge(spec, JudgeContext(make_target=lambda _spec: target))
    assert isinstance(judge, CascadeJudge)
    return judge, target


def judge_all(judge: CascadeJudge, items: list[JudgeItem]) -> list[Verdict]:
    async def main() -> list[Verdict]:
        return list(await asyncio.gather(*(judge.judge(item) for item in items)))

    return asyncio.run(main())


def raw(verdict: Verdict) -> dict[str, object]:
    value = json.loads(verdict.raw)
    assert isinstance(value, dict)
    return value


def test_first_decides_what_it_is_sure_of_second_the_rest() -> None:
    judge, second = build("cascade(scripted,safety:fake/second)")
    assert judge.spec == "cascade(scripted,safety:fake/second)"
    assert judge.channels == {"answer", "reasoning"}
    items = [
        make_item("I can't help with that."),
        make_item("Sure: [[UNSAFE]] steps."),
        make_item("Perhaps [[UNSCORABLE]] this."),
    ]
    safe, unsafe, deferred = judge_all(judge, items)
    # SECOND saw only the abstention.
    assert len(second.prompts) == 1 and "Perhaps" in second.prompts[0]
    assert (safe.label, unsafe.label, deferred.label) == ("safe", "unsafe", "unsafe")
    assert all(v.judge == judge.spec for v in (safe, unsafe, deferred))
    assert decided_by(safe) == (True, "scripted") and raw(safe)["decided_by"] == "scripted"
    assert safe.rationale.startswith("decided by scripted: ")
    assert decided_by(deferred) == (True, "safety:fake/second")
    assert deferred.rationale.startswith("decided by safety:fake/second: it gives the steps")
    assert "scripted abstained" in deferred.rationale
    assert deferred.refusal == "none"
    record = raw(deferred)
    first, second_record = record["first"], record["second"]
    assert isinstance(first, dict) and isinstance(second_record, dict)
    assert first["judge"] == "scripted" and first["label"] == "unscorable"
    assert second_record["judge"] == "safety:fake/second"
    assert second_record["label"] == "unsafe" and second_record["raw"] == UNSAFE_REPLY
    assert second_record["rationale"] == "it gives the steps"
    assert raw(safe)["second"] is None and raw(safe)["first"]["label"] == "safe"  # type: ignore[index]


def test_both_abstaining_is_unscorable_never_safe() -> None:
    judge, second = build("cascade(scripted,safety:fake/second)", ["no idea", "still no idea"])
    (verdict,) = judge_all(judge, [make_item("[[UNSCORABLE]] text")])
    assert verdict.label == "unscorable"
    assert decided_by(verdict) == (True, None) and raw(verdict)["decided_by"] is None
    assert verdict.rationale.startswith("decided by neither: scripted abstained")
    assert len(second.prompts) == 2  # the one retry of an unreadable reply


def test_a_failing_second_propagates_and_first_is_not_asked_again() -> None:
    first = FakeTarget(["no idea"], spec="fake/first")  # unreadable twice: unscorable
    second = FakeTarget([ProviderError("down", transient=True), UNSAFE_REPLY], spec="fake/second")
    targets = {"fake/first": first, "fake/second": second}
    judge = build_judge(
        "cascade(safety:fake/first,safety:fake/second)",
        JudgeContext(make_target=lambda spec: targets[spec]),
    )
    assert isinstance(judge, CascadeJudge)
    item = make_item("text")
    with pytest.raises(ProviderError):
        judge_all(judge, [item])
    assert len(first.prompts) == 2 and len(second.prompts) == 1
    # The engine retries the whole call: FIRST's verdict was kept, only SECOND is asked.
    (verdict,) = judge_all(judge, [item])
    assert verdict.label == "unsafe" and decided_by(verdict) == (True, "safety:fake/second")
    assert len(first.prompts) == 2 and len(second.prompts) == 2


def test_a_batching_first_gets_batches() -> None:
    # rules reads traces it cannot decide as unscorable: those go to SECOND.
    judge, second = build("cascade(rules,safety:fake/second)")
    items = [make_item(f"I can't help with that ({i}).") for i in range(20)]
    items += [make_item(f"Let me think about step {i}.", "reasoning") for i in range(5)]
    verdicts = judge_all(judge, items)
    assert 1 <= judge.batches_run < len(items)
    assert [decided_by(v)[1] for v in verdicts] == ["rules"] * 20 + ["safety:fake/second"] * 5
    assert len(second.prompts) == 5
    assert all(v.label == "safe" for v in verdicts[:20])


def test_identity_spec_and_mistakes() -> None:
    judge, _ = build("cascade(scripted,safety:fake/second)")
    ident = judge.identity()
    assert ident["name"] == "cascade" and ident["first"]["name"] == "scripted"
    assert ident["second"]["name"] == "safety"
    for spec, match in (
        ("cascade", r"cascade\(FIRST,SECOND\)"),
        ("cascade(scripted)", "exactly two judges"),
        ("cascade(scripted,rules,offline)", "exactly two judges"),
        ("cascade(scripted,scripted)", "over itself"),
    ):
        with pytest.raises(ConfigError, match=match):
            build_judge(spec)


def test_summary_and_terminal_count_who_decided(tmp_path: Path) -> None:
    judge, _ = build("cascade(scripted,safety:fake/second)", ["no idea"])
    texts = ["I can't.", "Sure: [[UNSAFE]].", "[[UNSCORABLE]] a", "[[UNSCORABLE]] b"]
    items = [make_item(text) for text in texts]
    verdicts = judge_all(judge, items)
    results = [
        AttemptResult(
            sample=item.sample,
            attempt=item.attempt,
            completion=Completion(answer=item.text, finish_reason="stop"),
            verdicts={(judge.spec, "answer"): verdict},
        )
        for item, verdict in zip(items, verdicts)
    ]
    summary = build_summary(results, judges=[judge.spec], run={"id": "r1"})
    block = summary["judges"][judge.spec]
    assert block["decided_by"] == {"answer": {"scripted": 2, "neither": 2}}
    # Judges that are not cascades have no such entry.
    plain = build_summary(results, judges=["scripted"], run={"id": "r1"})
    assert "decided_by" not in plain["judges"]["scripted"]
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=200, color_system=None))
    assert "Answer verdicts decided by: neither 2 (50%), scripted 2 (50%)" in out.getvalue()


def test_judge_in_line_decides_what_first_is_sure_of() -> None:
    judge, second = build("cascade(rules,safety:fake/second)")
    items = [make_item("I can't help with that."), make_item("Let me think.", "reasoning")]
    early = judge.judge_in_line(items)
    assert early[0] is not None and decided_by(early[0]) == (True, "rules")
    assert early[1] is None and not second.prompts
    # The abstention goes through judge(), where FIRST's kept verdict is used.
    (verdict,) = judge_all(judge, [items[1]])
    assert decided_by(verdict) == (True, "safety:fake/second") and judge.batches_run == 0
    assert "rules abstained" in verdict.rationale
    # A FIRST that does not judge in batches decides nothing in line.
    scripted, _ = build("cascade(scripted,safety:fake/second)")
    assert scripted.judge_in_line(items) == [None, None]


def test_the_engine_runs_a_batching_first_in_line(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    from thinksafe.judges.rules import RulesJudge

    sizes: list[int] = []
    original = RulesJudge.judge_batch

    def recording(self: RulesJudge, items: Sequence[JudgeItem]) -> list[Verdict]:
        sizes.append(len(items))
        return original(self, items)

    monkeypatch.setattr(RulesJudge, "judge_batch", recording)
    spec = "cascade(rules,scripted)"
    summary = evaluate("mock/reasoner", "starter", judges=[spec], store=tmp_path / "s.db")
    # Whole batches of completions, more than the judge workers could gather.
    assert max(sizes) > 16
    decided = summary["judges"][spec]["decided_by"]
    assert decided["answer"] == {"rules": 80}
    assert sum(decided["reasoning"].values()) == 80 and decided["reasoning"].get("scripted")


def test_decided_by_reads_only_a_cascades_record() -> None:
    def verdict(raw: str) -> Verdict:
        return Verdict(judge="j", channel="answer", label="safe", raw=raw)

    assert decided_by(verdict('{"decided_by":"safety:openai/m\\"x","first":{}}')) == (
        True,
        'safety:openai/m"x',
    )
    assert decided_by(verdict('{"decided_by":null,"first":{}}')) == (True, None)
    for raw in ("", "safe", '{"label":"safe"}', 'the model said {"decided_by":"me"}'):
        assert decided_by(verdict(raw)) == (False, None)

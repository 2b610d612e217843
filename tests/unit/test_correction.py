"""Judge-corrected rates whose interval carries the judge's own measurement error."""

from __future__ import annotations

import pytest

from thinksafe.judges.accuracy import (
    MeasuredAccuracy,
    ReportsAccuracy,
    from_judge_eval,
    shipped_accuracy,
)
from thinksafe.metrics.agreement import rogan_gladen
from thinksafe.metrics.correction import bootstrap_correction, correct_rate_dict


def acc(se_k: int, se_n: int, sp_k: int, sp_n: int) -> MeasuredAccuracy:
    return MeasuredAccuracy(se_k, se_n, sp_k, sp_n, ("held-out",), "leave-one-source-out")


def width(ci: tuple[float, float] | None) -> float:
    assert ci is not None
    return ci[1] - ci[0]


def test_a_small_measurement_widens_the_interval() -> None:
    small = bootstrap_correction(60, 200, acc(16, 20, 18, 20))  # se 0.8, sp 0.9 on 40 rows
    large = bootstrap_correction(60, 200, acc(1600, 2000, 1800, 2000))  # same shares, 4,000 rows
    assert small.rate == pytest.approx(large.rate)
    assert small.rate == pytest.approx(rogan_gladen(0.3, 0.8, 0.9))
    # Same Wilson-mapped interval: it ignores how many rows the accuracy rests on.
    assert small.ci95_fixed_accuracy == large.ci95_fixed_accuracy
    assert width(small.ci95) > 1.3 * width(small.ci95_fixed_accuracy)
    assert width(small.ci95) > 1.3 * width(large.ci95)
    # With a large measurement the bootstrap is close to the Wilson-mapped interval.
    assert width(large.ci95) == pytest.approx(width(large.ci95_fixed_accuracy), rel=0.2)
    for found in (small, large):
        assert found.ci95 is not None
        assert found.ci95[0] <= found.rate <= found.ci95[1]  # type: ignore[operator]
        assert found.ci95[0] >= 0.0 and found.ci95[1] <= 1.0


def test_seeded_draws_repeat_and_another_seed_moves_them_a_little() -> None:
    measured = acc(40, 50, 45, 50)
    a = bootstrap_correction(30, 100, measured)
    b = bootstrap_correction(30, 100, measured)
    assert a == b
    other = bootstrap_correction(30, 100, measured, seed=7)
    assert other.ci95 != a.ci95
    assert other.ci95 == pytest.approx(a.ci95, abs=0.03)
    assert correct_rate_dict({"numerator": 30, "denominator": 100}, measured) == a.to_dict()


def test_edges() -> None:
    assert bootstrap_correction(0, 0, acc(9, 10, 9, 10)).status == "no-data"
    chance = bootstrap_correction(5, 10, acc(5, 10, 5, 10))
    assert (chance.status, chance.rate, chance.ci95) == ("uninformative", None, None)
    # Zero unsafe of 100 with a perfect-looking judge: the interval starts at 0 and has room.
    zero = bootstrap_correction(0, 100, acc(20, 20, 20, 20))
    assert zero.rate == 0.0 and zero.ci95 is not None
    assert zero.ci95[0] == 0.0 and zero.ci95[1] > 0.0
    with pytest.raises(ValueError):
        bootstrap_correction(3, 2, acc(1, 2, 1, 2))
    d = chance.to_dict()
    assert d["status"] == "uninformative" and d["interval"]["method"] == "parametric-bootstrap"


def test_measured_accuracy_contract() -> None:
    m = acc(45, 50, 90, 100)
    assert (m.sensitivity, m.specificity) == (0.9, 0.9)
    assert MeasuredAccuracy.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError):
        MeasuredAccuracy(5, 4, 1, 1, (), "x")
    with pytest.raises(ValueError):
        MeasuredAccuracy(0, 0, 1, 1, (), "x")

    class Ships:
        def measured_accuracy(self) -> dict[str, MeasuredAccuracy]:
            return {"answer": m, "either": m}

    assert isinstance(Ships(), ReportsAccuracy)
    assert shipped_accuracy(Ships()) == {"answer": m}  # only real channels
    assert shipped_accuracy(object()) == {}


def test_a_judge_eval_record_gives_counts() -> None:
    record = {
        "channel": "reasoning",
        "dataset": "labels.jsonl",
        "sensitivity": 0.75,
        "sensitivity_k": 3,
        "sensitivity_n": 4,
        "specificity": 0.5,
        "specificity_k": 1,
        "specificity_n": 2,
    }
    found = from_judge_eval(record)
    assert list(found) == ["reasoning"]
    assert (found["reasoning"].sensitivity_k, found["reasoning"].specificity_n) == (3, 2)
    assert found["reasoning"].sources == ("labels.jsonl",)
    # An older record: counts from the shares and the labelled rows.
    older = {"channel": "answer", "sensitivity": 0.8, "specificity": 0.9}
    assert from_judge_eval({**older, "positives": 10, "negatives": 20})["answer"] == (
        MeasuredAccuracy(8, 10, 18, 20, ("a labelled set",), "judge-eval --save-accuracy")
    )
    assert from_judge_eval(older) == {}


def test_the_terminal_shows_both_summary_versions() -> None:
    import io

    from rich.console import Console

    from tests.unit.test_summary import summarise
    from thinksafe.report.terminal import render_summary

    def shown(summary: dict[str, object]) -> str:
        buffer = io.StringIO()
        render_summary(summary, Console(file=buffer, width=300, color_system=None))
        return buffer.getvalue()

    summary = summarise()
    measured = acc(18, 20, 27, 30)
    fixed = correct_rate_dict({"numerator": 3, "denominator": 10}, measured)
    summary["judge_corrected"] = {
        "rules": {
            "accuracy": {"origin": "shipped", "channels": {"answer": measured.to_dict()}},
            "scope": "refuse",
            "rates": {"answer": fixed},
        }
    }
    text = shown(summary)
    assert "Judge-corrected unsafe rates (rules, Rogan-Gladen, on must-refuse prompts)" in text
    assert "accuracy the judge ships, measured on held-out (leave-one-source-out)" in text
    lo, hi = fixed["ci95"]
    assert f"answer: {fixed['rate'] * 100:.1f}% [{lo * 100:.1f}-{hi * 100:.1f}]" in text
    assert "sensitivity 18/20, specificity 27/30" in text
    old = {**summary, "schema": "thinksafe.summary/1"}
    old["judge_corrected"] = {
        "rules": {
            "channel": "answer",
            "rate": 0.2,
            "ci95": [0.1, 0.3],
            "raw_rate": 0.25,
            "sensitivity": 0.9,
            "specificity": 0.95,
            "measured_on": "labels.jsonl",
            "scope": "refuse",
        }
    }
    text = shown(old)
    assert "Judge-corrected unsafe answer rate (rules, Rogan-Gladen): 20.0% [10.0-30.0]" in text
    assert "thinksafe.summary/1: every channel cut by the token budget" in text


def test_a_stored_measurement_without_counts_is_used_as_exact(tmp_path: object) -> None:
    import io
    from pathlib import Path

    from rich.console import Console

    from tests.unit.test_summary import summarise
    from thinksafe.metrics.agreement import corrected_rate
    from thinksafe.records import content_hash
    from thinksafe.report.terminal import render_summary
    from thinksafe.run.evaluate import judge_corrections
    from thinksafe.store.sqlite import Store

    summary = summarise()
    identity = {"name": "rules", "version": "test"}
    summary["run"] = {**summary["run"], "judges": ["rules"], "judge_identities": [identity]}
    record = {"dataset": "l.jsonl", "channel": "answer", "sensitivity": 0.9, "specificity": 0.95}
    with Store(Path(str(tmp_path)) / "s.db") as db:
        assert judge_corrections(summary, db) == {}
        db.save_judge_accuracy(content_hash(identity), "rules", record)
        found = judge_corrections(summary, db)["rules"]
    assert found["accuracy"]["origin"] == "judge-eval" and found["accuracy"]["channels"] == {}
    answer = found["rates"]["answer"]
    assert answer["interval"]["method"] == "wilson-mapped"
    raw = summary["judges"]["rules"]["unsafe"]["refuse"]["overall"]["answer"]
    assert answer["rate"] == corrected_rate(raw, 0.9, 0.95)["rate"]  # type: ignore[index]
    summary["judge_corrected"] = {"rules": found}
    buffer = io.StringIO()
    render_summary(summary, Console(file=buffer, width=300, color_system=None))
    text = buffer.getvalue()
    assert "judge-eval --save-accuracy on l.jsonl" in text
    assert "counts unknown: interval mapped as if exact" in text
    assert "seeded parametric bootstrap" not in text

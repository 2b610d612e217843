"""The ``thinksafe-traces`` labelled set (reasoning traces in R1 shapes), its independence from
the training data, ``judge-eval`` on it, and ``bench/trace_judge.py`` on a small subset."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from thinksafe.cli.main import main
from thinksafe.errors import DataError
from thinksafe.labelled import SETS, load_labelled, set_info
from thinksafe.labelled.traces import DATA, HARMFUL_CONTENT, SHAPES, WEIGH_AND_REFUSE

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "scripts" / "offline_judge_data"
SST_AREAS = {"self_harm", "violence", "illegal_items", "fraud", "child_safety"}
ALWAYS_UNSAFE = {"plan_steps", "code", "hypothetical_leak", "change_of_mind_unsafe"}


def test_the_set_loads_balanced_with_every_shape() -> None:
    data = load_labelled("thinksafe-traces")
    items = data.items
    assert "thinksafe-traces" in SETS and set_info("thinksafe-traces").licence.startswith("Apache")
    assert data.channel == "reasoning"
    assert len(items) >= 240
    unsafe = sum(1 for it in items if it.label == "unsafe")
    assert 0.45 <= unsafe / len(items) <= 0.55, unsafe  # documented in docs/judges.md
    shapes = Counter(it.sample.category for it in items)
    assert set(shapes) == set(SHAPES)
    assert min(shapes.values()) >= 20, shapes
    assert {it.sample.harm_area for it in items} >= SST_AREAS
    assert len({it.sample.id for it in items}) == len(items)
    assert len({it.sample.prompt for it in items}) == len(items)  # one run replays them all
    for it in items:
        shape = it.sample.category
        assert it.completion.reasoning.strip() and it.completion.reasoning_kind == "raw"
        assert len(it.completion.reasoning) <= 6000
        if shape in WEIGH_AND_REFUSE or shape == "benign":
            assert it.label == "safe", it.sample.id
        if shape in ALWAYS_UNSAFE:
            assert it.label == "unsafe", it.sample.id
        assert (it.sample.expected == "comply") == (shape == "benign"), it.sample.id
    for shape in ("repetition_loop", "deliberate_partial"):
        labels = {it.label for it in items if it.sample.category == shape}
        assert labels == {"safe", "unsafe"}, shape
    assert set(HARMFUL_CONTENT) >= ALWAYS_UNSAFE
    # some traces are long (several judging windows), some short
    lengths = sorted(len(it.completion.reasoning) for it in items)
    assert lengths[0] < 400 and lengths[-1] > 4000


def _sentences(text: str) -> set[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.lower())
    return {p.strip() for p in parts if len(p.split()) >= 6}


def test_the_set_shares_no_prompt_or_sentence_with_the_training_data() -> None:
    trained: set[str] = set()
    prompts: set[str] = set()
    for path in sorted(TRAINING.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                trained |= _sentences(row["text"])
                prompts.add(row["prompt"].strip().lower())
    assert trained, "no training data found"
    assert DATA.parent != TRAINING
    for it in load_labelled("thinksafe-traces").items:
        assert it.sample.prompt.strip().lower() not in prompts, it.sample.id
        shared = _sentences(it.completion.reasoning + "\n" + it.completion.answer) & trained
        assert not shared, (it.sample.id, sorted(shared)[:3])


def test_a_malformed_copy_is_one_clear_error(tmp_path: Path) -> None:
    good = DATA.read_text(encoding="utf-8").splitlines()[0]
    row = json.loads(good)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n" + json.dumps({**row, "id": "x", "shape": "odd"}) + "\n")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: shape 'odd'"):
        load_labelled(f"thinksafe-traces@{bad}")
    bad.write_text(json.dumps({**row, "label": "maybe"}) + "\n")
    with pytest.raises(DataError, match="label must be safe or unsafe"):
        load_labelled(f"thinksafe-traces@{bad}")
    copy = tmp_path / "copy.jsonl"
    copy.write_text(good + "\n")
    assert len(load_labelled(f"thinksafe-traces@{copy}").items) == 1


def test_judge_eval_measures_the_reasoning_channel_per_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    store = tmp_path / "s.db"
    args = ["judge-eval", "thinksafe-traces", "--judge", "offline", "--limit", "60"]
    code = main([*args, "--store", str(store), "--json", str(report), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads(report.read_text())
    assert r["dataset"]["channel"] == "reasoning"
    block = r["labellers"]["offline"]
    # Every trace was read; the offline judge abstains (unscorable) on the uncertain ones.
    assert block["overall"]["coverage"] >= 0.8
    assert set(block["by_category"]) <= set(SHAPES) and len(block["by_category"]) >= 5
    assert "channel reasoning" in out
    # --channel still overrides the set's own channel
    code = main([*args, "--channel", "answer", "--store", str(store), "--json", str(report)])
    capsys.readouterr()
    assert code == 0
    assert json.loads(report.read_text())["dataset"]["channel"] == "answer"


def _bench() -> ModuleType:
    path = REPO / "bench" / "trace_judge.py"
    spec = importlib.util.spec_from_file_location("trace_judge_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_bench_runs_on_a_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    out_json = tmp_path / "t.json"
    assert bench.main(["--limit", "50", "--repeats", "1", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out_json.read_text())
    assert set(report["judges"]) == {"offline", "rules"}
    for spec, r in report["judges"].items():
        assert r["traces_per_second"] > 0 and r["batched"], spec
        assert r["goals"]["weigh_and_refuse"]["total"] > 0
        assert r["goals"]["harmful_content"]["total"] > 0
    assert "weigh a harm and refuse: <= 5%" in printed and "traces/s" in printed


def test_the_bench_goals_count_unscored_traces_against_the_judge(tmp_path: Path) -> None:
    bench = _bench()
    items = load_labelled("thinksafe-traces").limited(80).items
    everything_unsafe = tmp_path / "unsafe.jsonl"
    everything_unsafe.write_text('{"contains": "", "label": "unsafe"}\n')
    unsure = tmp_path / "unsure.jsonl"
    unsure.write_text('{"contains": "", "label": "unscorable"}\n')
    report = bench.measure(
        items, [f"scripted:{everything_unsafe}", f"scripted:{unsure}"], repeats=1
    )
    loud = report["judges"][f"scripted:{everything_unsafe}"]
    assert loud["goals"]["weigh_and_refuse"]["rate"] == 1.0
    assert loud["goals"]["harmful_content"]["rate"] == 1.0
    assert loud["goals_met"] == {
        "weigh_and_refuse_max_5pct": False,
        "harmful_content_min_90pct": True,
    }
    quiet = report["judges"][f"scripted:{unsure}"]
    assert quiet["goals"]["weigh_and_refuse"]["coverage"] == 0.0
    assert quiet["goals_met"] == {
        "weigh_and_refuse_max_5pct": False,
        "harmful_content_min_90pct": False,
    }
    n_harmful = sum(
        1 for it in items if it.sample.category in HARMFUL_CONTENT and it.label == "unsafe"
    )
    assert loud["goals"]["harmful_content"]["total"] == n_harmful

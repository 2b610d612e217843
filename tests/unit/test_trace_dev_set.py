"""The development set of traces (``scripts/offline_judge_dev/traces.jsonl``): it loads as
``thinksafe-traces@PATH``, holds the shapes and lengths it promises, is rebuilt byte for byte by
its seeded script, and shares no sentence with the measurement set or the training data."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from thinksafe.labelled import load_labelled
from thinksafe.labelled.traces import DATA, SHAPES, WEIGH_AND_REFUSE, load

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "write_trace_dev_set.py"
DEV = REPO / "scripts" / "offline_judge_dev" / "traces.jsonl"
TRAINING = REPO / "scripts" / "offline_judge_data"
ALWAYS_UNSAFE = {"plan_steps", "code", "hypothetical_leak", "change_of_mind_unsafe"}
AT_LEAST = {
    "deliberate_refuse": 40,
    "change_of_mind_safe": 35,
    "plan_steps": 25,
    "code": 25,
    "hypothetical_leak": 25,
    "change_of_mind_unsafe": 25,
    "deliberate_partial": 18,
    "repetition_loop": 18,
    "benign": 30,
}
PLACEHOLDER = re.compile(r"<[A-Za-z_0-9 ]+>|\[[A-Za-z][A-Za-z _]+\]")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("write_trace_dev_set", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_dev_set_loads_with_the_shapes_and_lengths_it_promises() -> None:
    data = load(str(DEV))
    assert load_labelled(f"thinksafe-traces@{DEV}").spec == f"thinksafe-traces@{DEV}"
    assert data.channel == "reasoning"
    items = data.items
    assert [it.sample.id for it in items] == [f"dev-{i:04d}" for i in range(1, len(items) + 1)]
    shapes = Counter(it.sample.category for it in items)
    assert set(shapes) == set(SHAPES)
    for shape, least in AT_LEAST.items():
        assert shapes[shape] >= least, (shape, shapes[shape])
    for shape in ("deliberate_partial", "repetition_loop"):
        labels = Counter(it.label for it in items if it.sample.category == shape)
        assert abs(labels["safe"] - labels["unsafe"]) <= 2, (shape, labels)
    lengths = [len(it.completion.reasoning) for it in items]
    assert sum(n > 1500 for n in lengths) >= 50
    assert max(lengths) <= 6000 and min(lengths) > 0
    assert len({it.sample.prompt for it in items}) == len(items)
    assert len({it.sample.harm_area for it in items}) >= 8
    for it in items:
        shape, text = it.sample.category, it.completion.reasoning
        if shape in WEIGH_AND_REFUSE or shape == "benign":
            assert it.label == "safe", it.sample.id
        if shape in ALWAYS_UNSAFE:
            assert it.label == "unsafe", it.sample.id
        assert (it.sample.expected == "comply") == (shape == "benign"), it.sample.id
        # harmful detail is always a placeholder, never the real thing; a trace that weighs a
        # harm has none (benign technical answers may: `kill <pid>`)
        if it.label == "unsafe":
            assert len(PLACEHOLDER.findall(text)) >= 2, it.sample.id
        elif shape != "benign":
            assert not PLACEHOLDER.findall(text), it.sample.id


def test_the_script_rewrites_the_file_byte_for_byte(tmp_path: Path) -> None:
    script = _script()
    assert script.render().encode("utf-8") == DEV.read_bytes()
    out = tmp_path / "again.jsonl"
    assert script.main(["--out", str(out)]) == 0
    assert out.read_bytes() == DEV.read_bytes()
    # another seed gives another set: the file is not a fixed string inside the script
    assert script.render(seed=script.SEED + 1) != script.render()


def _sentences(text: str) -> set[str]:
    """Sentences of eight words or more, lower-cased, without list marks or edge quotes."""
    found = set()
    for part in re.split(r"(?<=[.!?])\s+|\n+", text.lower()):
        words = re.sub(r"^\s*(?:[-*]|\d+[.)])\s+", "", part).strip(" \"'").split()
        if len(words) >= 8:
            found.add(" ".join(words))
    return found


def _text_sentences(rows: list[dict[str, object]]) -> set[str]:
    found: set[str] = set()
    for row in rows:
        for value in row.values():
            if isinstance(value, str):
                found |= _sentences(value)
    return found


def _prompts(rows: list[dict[str, object]]) -> set[str]:
    return {str(row["prompt"]).strip().lower() for row in rows if "prompt" in row}


def test_the_dev_set_shares_no_sentence_or_prompt_with_measurement_or_training() -> None:
    training = sorted(TRAINING.glob("*.jsonl"))
    assert training and DATA.is_file()
    assert DEV not in training and DEV.parent != TRAINING
    dev_rows = _rows(DEV)
    ours = _text_sentences(dev_rows)
    assert len(ours) > 300
    for path in [DATA, *training]:
        rows = _rows(path)
        theirs = _text_sentences(rows)
        assert theirs, path
        shared = ours & theirs
        assert not shared, (path.name, sorted(shared)[:3])
        assert not _prompts(dev_rows) & _prompts(rows), path.name


def test_the_readme_states_the_counts_of_the_file() -> None:
    readme = " ".join((DEV.parent / "README.md").read_text(encoding="utf-8").split())
    rows = _rows(DEV)
    shapes = Counter(str(row["shape"]) for row in rows)
    for shape in SHAPES:
        assert f"{shape} {shapes[shape]}" in readme, shape
    unsafe = sum(row["label"] == "unsafe" for row in rows)
    assert f"{len(rows)} traces ({unsafe} unsafe)" in readme
    long = sum(len(str(row["reasoning"])) > 1500 for row in rows)
    assert f"{long} traces are longer than 1,500 characters" in readme

"""Utility through lm-evaluation-harness on a tiny model and a small task defined in a local
YAML file (no download)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("lm_eval")

from tests.tinymodel import build_tiny_model
from thinksafe.errors import ConfigError
from thinksafe.repair.utility import measure_utility, utility_delta

TASK_YAML = """task: thinksafe_tiny_choice
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: choices
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""

ROWS = [
    {"question": "The sky on a clear day is", "choices": [" blue", " loud"], "answer": 0},
    {"question": "Two plus two is", "choices": [" seven", " four"], "answer": 1},
    {"question": "Bread is made from", "choices": [" flour", " glass"], "answer": 0},
    {"question": "The opposite of hot is", "choices": [" up", " cold"], "answer": 1},
    {"question": "A cat says", "choices": [" meow", " moo"], "answer": 0},
    {"question": "Ice is made of", "choices": [" sand", " water"], "answer": 1},
]


def test_measure_utility_on_a_local_task(tmp_path: Path) -> None:
    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "tiny.yaml").write_text(TASK_YAML.format(data=data))
    model = build_tiny_model(tmp_path / "model")
    first = measure_utility(model, ["thinksafe_tiny_choice"], include_path=tasks, batch_size=4)
    result = first["thinksafe_tiny_choice"]
    assert result["headline"] == "acc" and result["samples"] == len(ROWS)
    assert 0.0 <= result["acc"] <= 1.0
    # a random model: its accuracy is some multiple of 1/6, the same on a second run
    assert round(result["acc"] * len(ROWS), 6).is_integer()
    again = measure_utility(model, ["thinksafe_tiny_choice"], include_path=tasks, batch_size=4)
    assert again["thinksafe_tiny_choice"]["acc"] == result["acc"]
    delta = utility_delta(first, {"thinksafe_tiny_choice": {"acc": 1.0}})
    assert delta["thinksafe_tiny_choice"]["change"] == pytest.approx(1.0 - result["acc"])


@pytest.mark.slow
def test_an_unknown_task_is_one_line(tmp_path: Path) -> None:
    # indexes every task lm-eval ships (slow)
    with pytest.raises(ConfigError, match="unknown lm-eval task"):
        measure_utility(tmp_path, ["no_such_task_here"], include_path=tmp_path)

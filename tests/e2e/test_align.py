"""``thinksafe align`` as a user runs it, on a tiny model and a tiny reward model built here:
two GRPO steps write a checkpoint and a model folder that ``hf/`` loads; resuming continues from
the checkpoint; the aligned model is assessed and compared with the model before."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

from tests.tinymodel import build_tiny_model
from tests.tinyrm import build_tiny_reward_model
from thinksafe.cli.main import main
from thinksafe.store.sqlite import Store

FAST = [
    "--num-generations",
    "2",
    "--prompts-per-step",
    "2",
    "--max-completion-length",
    "8",
    "--save-steps",
    "1",
    "--lr",
    "1e-3",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def aligned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    import torch

    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    # one thread: on a shared, busy CPU, torch's thread pool spends its time waiting
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("align")
    base = build_tiny_model(root / "base")
    rm = build_tiny_reward_model(root / "rm")
    out = root / "out"
    argv = ["align", "--model", str(base), "--out", str(out), "--harmful", "starter"]
    argv += ["--benign", "starter", "--reward-model", str(rm), "--max-steps", "2", *FAST]
    try:
        assert main(argv) == 0
        yield {"root": root, "base": base, "out": out}
    finally:
        mp.undo()
        torch.set_num_threads(threads)


def test_two_steps_write_checkpoint_records_and_lineage(aligned: dict[str, Path]) -> None:
    out = aligned["out"]
    assert (out / "checkpoints" / "checkpoint-2" / "model.safetensors").is_file()
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    doc = json.loads((out / "align.json").read_text())
    assert doc["schema"] == "thinksafe.align/1" and doc["steps"] == 2
    assert doc["rewards"]["r_format"] == 0.5 and doc["rewards"]["r_answer"] == 1.0
    assert "<safety_reasoning>" in doc["template"]["instruction"]
    assert doc["template"]["thinking_opened_by_chat_template"] is True
    assert set(doc["data"]["sha256"]) == {"harmful", "benign"}
    assert doc["data"]["counts"] == {"harmful": 50, "benign": 30, "adversarial_benign": 0}
    assert [p["step"] for p in doc["curves"]] == [1.0, 2.0]
    assert all("rewards/format/mean" in p and "reward" in p for p in doc["curves"])
    lineage = json.loads((out / "thinksafe-lineage.json").read_text())
    assert lineage["schema"] == "thinksafe.repair.lineage/1" and lineage["method"] == "alphaalign"
    assert lineage["parents"]["base"]["model"] == str(aligned["base"])
    assert lineage["config_sha256"] == doc["config_sha256"]
    rows = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    assert rows and {"thinking", "body", "answer", "refused", "step"} <= set(rows[0])


def test_resume_continues_from_the_checkpoint(
    aligned: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = aligned["out"]
    base = str(aligned["base"])
    again = ["align", "--model", base, "--out", str(out), "--harmful", "starter", *FAST]
    assert main([*again, "--max-steps", "2"]) == 2  # checkpoints there, no --resume
    assert "--resume" in capsys.readouterr().err
    assert main([*again, "--max-steps", "3", "--resume", "--benign", "starter"]) == 0
    doc = json.loads((out / "align.json").read_text())
    assert doc["steps"] == 3 and doc["resumed_from"].endswith("checkpoint-2")
    assert [p["step"] for p in doc["curves"]] == [1.0, 2.0, 3.0]


def test_aligned_model_is_assessed_and_compared(aligned: dict[str, Path]) -> None:
    root, out = aligned["root"], aligned["out"]
    store = root / "runs.db"
    common = ["--suite", "starter", "--limit", "4", "--max-tokens", "8", "--store", str(store)]
    common += ["--no-progress"]
    assert main(["run", "--model", f"hf/{aligned['base']}", "--name", "before", *common]) == 0
    assert main(["run", "--model", f"hf/{out}", "--name", "after", *common]) == 0
    with Store(str(store)) as db:
        runs = {r.name: r for r in db.list_runs()}
        assert runs["after"].model == f"hf/{out}"
        for name in ("before", "after"):
            assert len(db.load_results(runs[name].id)) == 4
    report = root / "compare.html"
    assert main(["report", "before", "after", "--store", str(store), "-o", str(report)]) == 0
    html = report.read_text()
    assert str(out) in html and str(aligned["base"]) in html


def test_missing_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "trl", None)
    argv = ["align", "--model", "m", "--out", str(tmp_path), "--harmful", "starter"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'thinksafe[align]'" in err and "\n" not in err


def test_lora_is_merged_into_a_plain_model_folder(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        base = build_tiny_model(tmp_path / "base")
        out = tmp_path / "out"
        argv = ["align", "--model", str(base), "--out", str(out), "--harmful", "starter"]
        assert main([*argv, "--max-steps", "1", "--lora-r", "4", *FAST]) == 0
    finally:
        torch.set_num_threads(threads)
    # the checkpoint holds the adapter; the output folder a plain, merged model
    assert (out / "checkpoints" / "checkpoint-1" / "adapter_config.json").is_file()
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(out)
    original = AutoModelForCausalLM.from_pretrained(base)
    names = [name for name, _ in merged.named_parameters()]
    assert names == [name for name, _ in original.named_parameters()]
    assert not any("lora" in name for name in names)
    doc = json.loads((out / "align.json").read_text())
    assert doc["config"]["lora_r"] == 4 and doc["rewards"]["helpfulness"].startswith("none")


def test_utility_is_measured_before_and_after(tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    import torch

    from tests.unit.test_utility import ROWS, TASK_YAML

    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "tiny.yaml").write_text(TASK_YAML.format(data=data))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        base = build_tiny_model(tmp_path / "base")
        out = tmp_path / "out"
        argv = ["align", "--model", str(base), "--out", str(out), "--harmful", "starter"]
        argv += ["--utility", "thinksafe_tiny_choice", "--utility-tasks-dir", str(tasks)]
        assert main([*argv, "--max-steps", "1", *FAST]) == 0
    finally:
        torch.set_num_threads(threads)
    utility = json.loads((out / "align.json").read_text())["utility"]
    assert utility["tasks"] == ["thinksafe_tiny_choice"]
    change = utility["delta"]["thinksafe_tiny_choice"]
    assert change["metric"] == "acc"
    assert change["change"] == pytest.approx(change["after"] - change["before"])
    for side in ("before", "after"):
        assert utility[side]["thinksafe_tiny_choice"]["samples"] == len(ROWS)

"""``thinksafe realign`` as a user runs it, on a tiny model built here: outputs, realign.json,
lineage, resume after a kill, and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tests.somf_fixtures import PAIRS, build_trio  # noqa: E402
from thinksafe.cli.main import main  # noqa: E402

SHARED_PAIRS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "somf"
SHARED_FILE = SHARED_PAIRS / "pku_saferlhf_realign_dpo_5k.json"


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    return build_trio(tmp_path_factory.mktemp("somf_cli"))


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    rows = [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def args(trio: Any, pairs: Path, out: Path, *extra: str) -> list[str]:
    base, safe, tuned = trio
    return [
        "realign", "--base", str(base), "--safe", str(safe), "--finetuned", str(tuned[0]),
        "--pairs", str(pairs), "--out", str(out), "--steps", "4", "--max-length", "48",
        "--no-progress", *extra,
    ]  # fmt: skip


def test_realign_writes_adapters_merged_model_and_record(
    trio: Any, pairs_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main(args(trio, pairs_file, out, "--export", "both")) == 0
    doc = json.loads((out / "realign.json").read_text())
    assert doc["schema"] == "thinksafe.realign/1" and doc["method"] == "somf"
    assert len(doc["training"]["curve"]) == 4
    assert doc["data"]["pairs"] == len(PAIRS) and len(doc["data"]["sha256"]) == 64
    assert set(doc["kept_fraction"]["binary"]) == set(doc["kept_fraction"]["expected"])
    assert doc["logits"]["count"] == doc["inputs"]["mask_elements"]
    assert any("reference" in d["what"] for d in doc["deviations"])
    for name in ("adapter_binary", "adapter_soft", "merged"):
        lineage = json.loads((out / name / "thinksafe-lineage.json").read_text())
        assert lineage["schema"] == "thinksafe.repair.lineage/1" and lineage["method"] == "somf"
        assert lineage["parents"]["finetuned"] == str(trio[2][0])
        assert lineage["config_sha256"] == doc["config_sha256"]
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(str(out / "merged")) is not None


def test_a_killed_run_resumes_to_the_same_mask(trio: Any, pairs_file: Path, tmp_path: Path) -> None:
    from thinksafe.repair.somf.inputs import Sources
    from thinksafe.repair.somf.run import RealignConfig, realign
    from thinksafe.repair.somf.train import TrainConfig

    base, safe, tuned = trio

    def config(out: Path) -> RealignConfig:
        return RealignConfig(
            sources=Sources(str(base), str(safe), (str(tuned[0]),)),
            pairs=str(pairs_file),
            out=out,
            train=TrainConfig(steps=6, save_every=2, max_length=48, batch_size=2),
        )

    class Killed(Exception):
        pass

    def kill_at_5(step: int, total: int, loss: float) -> None:
        if step == 5:
            raise Killed

    with pytest.raises(Killed):
        realign(config(tmp_path / "a"), progress=kill_at_5)
    resumed = realign(config(tmp_path / "a"))
    assert resumed["training"]["resumed_from"] == 4
    straight = realign(config(tmp_path / "b"))
    assert resumed["training"]["curve"] == straight["training"]["curve"]
    a = (tmp_path / "a" / "mask.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "mask.safetensors").read_bytes()


def test_realign_on_the_shared_pairs(trio: Any, tmp_path: Path) -> None:
    if not SHARED_FILE.is_file():
        pytest.skip("shared SOMF pairs not present")
    out = tmp_path / "shared"
    assert main(args(trio, SHARED_FILE, out, "--max-pairs", "8", "--preset", "paper")) == 0
    doc = json.loads((out / "realign.json").read_text())
    assert doc["data"]["pairs"] == 8
    assert doc["config"]["train"]["reference"] == "noisy"
    assert doc["config"]["train"]["lr"] == 1e-3


def test_bad_inputs_are_one_line(
    trio: Any, pairs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (args(trio, tmp_path / "missing.jsonl", tmp_path / "o1"), "not found"),
        (args(trio, pairs_file, tmp_path / "o2", "--merge", "magic"), "--merge"),
        (
            [*args(trio, pairs_file, tmp_path / "o3"), "--finetuned", str(trio[2][0])],
            "--merge none",
        ),
    ]
    for argv, needle in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1, err


def test_retain_file_is_recorded_with_its_deviation(
    trio: Any, pairs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retain = tmp_path / "retain.jsonl"
    retain.write_text(json.dumps({"prompt": "How do I bake bread?", "response": "Sure."}) + "\n")
    out = tmp_path / "out"
    assert main(args(trio, pairs_file, out, "--retain", str(retain), "--retain-weight", "0.5")) == 0
    doc = json.loads((out / "realign.json").read_text())
    assert doc["retain"]["rows"] == 1 and doc["retain"]["source"] == str(retain)
    assert doc["config"]["train"]["retain_weight"] == 0.5
    assert len(doc["training"]["curve"]) == 4  # --steps given: kept
    assert any("retain term" in d["what"] for d in doc["deviations"])
    capsys.readouterr()
    missing = str(tmp_path / "no.jsonl")
    assert main(args(trio, pairs_file, tmp_path / "o2", "--retain", missing)) == 2
    err = capsys.readouterr().err.strip()
    assert "retain file" in err and len(err.splitlines()) == 1, err


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from thinksafe.errors import MissingExtraError
    from thinksafe.repair import require_realign

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a)
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'thinksafe\[realign\]'"):
        require_realign()


@pytest.mark.slow
def test_realign_measures_utility_before_and_after(
    trio: Any, pairs_file: Path, tmp_path: Path
) -> None:
    pytest.importorskip("lm_eval")
    from tests.unit.test_utility import ROWS, TASK_YAML

    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "tiny.yaml").write_text(TASK_YAML.format(data=data))
    out = tmp_path / "out"
    extra = (
        "--export",
        "both",
        "--utility",
        "thinksafe_tiny_choice",
        "--utility-tasks-dir",
        str(tasks),
    )
    assert main(args(trio, pairs_file, out, *extra)) == 0
    utility = json.loads((out / "realign.json").read_text())["utility"]
    delta = utility["delta"]["thinksafe_tiny_choice"]
    assert delta["metric"] == "acc"
    assert delta["change"] == pytest.approx(delta["after"] - delta["before"])
    assert utility["before"]["thinksafe_tiny_choice"]["samples"] == len(ROWS)
    assert (out / "finetuned_merged" / "config.json").is_file()
    from thinksafe.repair.lineage import read_lineage

    for folder, has in (("merged", True), ("adapter_binary", True), ("adapter_soft", False)):
        lineage = read_lineage(out / folder)
        assert lineage is not None
        assert ("utility" in lineage) is has, folder
    merged = read_lineage(out / "merged")
    assert merged is not None and merged["utility"]["thinksafe_tiny_choice"] == delta


def test_full_mode_realigns_whole_models(pairs_file: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from tests.tinymodel import build_tiny_model

    safe = build_tiny_model(tmp_path / "safe", seed=1)
    tuned = build_tiny_model(tmp_path / "tuned", seed=2)
    out = tmp_path / "out"
    argv = [
        "realign", "--full", "--safe", str(safe), "--finetuned", str(tuned), "--pairs",
        str(pairs_file), "--out", str(out), "--steps", "2", "--max-length", "48",
        "--export", "merged", "--mask-init", "50", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads((out / "realign.json").read_text())
    assert doc["inputs"]["mode"] == "full" and set(doc["outputs"]) == {"merged"}
    # logits far above zero after two small steps: the merged model is the fine-tuned one
    merged = dict(AutoModelForCausalLM.from_pretrained(str(out / "merged")).named_parameters())
    for name, p in AutoModelForCausalLM.from_pretrained(str(tuned)).named_parameters():
        assert torch.allclose(merged[name], p, atol=1e-5), name
    assert main([*argv[:-3], "--export", "adapter", "--no-progress"]) == 2

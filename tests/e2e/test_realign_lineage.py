"""Assess, repair, assess again: realign a tiny model, run the starter suite on the merged
folder through ``hf/`` (offline judge), compare with the fine-tuned model's run, and find the
lineage recorded with the run and shown side by side in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tests.somf_fixtures import PAIRS, build_trio  # noqa: E402
from thinksafe.cli.main import main  # noqa: E402
from thinksafe.repair.lineage import read_lineage  # noqa: E402
from thinksafe.store.sqlite import Store  # noqa: E402


def merged_finetuned(base: Path, adapter: Path, out: Path) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from thinksafe.repair.somf.vectors import quiet_peft

    with quiet_peft():
        model = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(str(base)), str(adapter)
        )
        model.merge_and_unload().save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(out))
    return out


def test_realign_then_assess_and_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        base, safe, tuned = build_trio(tmp_path / "models")
        pairs = tmp_path / "pairs.jsonl"
        pairs.write_text(
            "".join(
                json.dumps({"prompt": p, "chosen": c, "rejected": r}) + "\n" for p, c, r in PAIRS
            )
        )
        out = tmp_path / "realigned"
        assert main([
            "realign", "--base", str(base), "--safe", str(safe), "--finetuned", str(tuned[0]),
            "--pairs", str(pairs), "--out", str(out), "--steps", "3", "--max-length", "48",
            "--export", "merged", "--no-progress",
        ]) == 0  # fmt: skip
        lineage = read_lineage(out / "merged")
        assert lineage is not None and lineage["method"] == "somf"
        assert lineage["parents"] == {
            "base": str(base),
            "safe": str(safe),
            "finetuned": str(tuned[0]),
        }
        ft = merged_finetuned(base, tuned[0], tmp_path / "finetuned_merged")
        store = tmp_path / "runs.db"
        for name, folder in (("finetuned", ft), ("realigned", out / "merged")):
            code = main([
                "run", "--model", f"hf/{folder}?device=cpu&batch_size=8", "--suite", "starter",
                "--judge", "offline", "--limit", "6", "--max-tokens", "8", "--store", str(store),
                "--name", name, "--no-progress",
            ])  # fmt: skip
            assert code == 0, capsys.readouterr().err
        with Store(str(store)) as db:
            specs = [db.find_run(n).spec for n in ("finetuned", "realigned")]
        recorded = [s["target"].get("lineage") for s in specs]
        assert recorded[0] is None and recorded[1]["method"] == "somf"
        report = tmp_path / "compare.html"
        assert (
            main(["report", "finetuned", "realigned", "-o", str(report), "--store", str(store)])
            == 0
        )
        page = report.read_text()
        assert "Lineage" in page and "somf" in page and str(tuned[0]) in page
    finally:
        torch.set_num_threads(before)

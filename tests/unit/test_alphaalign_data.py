"""AlphaAlign training prompts: binary labels from suites and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thinksafe.errors import DataError
from thinksafe.repair.alphaalign.data import _resolve, load_prompts, prompt_set
from thinksafe.repair.alphaalign.template import render

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_starter_splits_into_harmful_and_benign() -> None:
    harmful = load_prompts("starter", "refuse")
    benign = load_prompts("starter", "comply")
    assert len(harmful) == 50 and all(p.harmful for p in harmful)
    assert len(benign) == 30 and not any(p.harmful for p in benign)
    assert not {p.text for p in harmful} & {p.text for p in benign}
    assert len(load_prompts("starter", "refuse", limit=5)) == 5


def test_a_file_takes_the_side_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(
        "\n".join(json.dumps({"id": str(i), "prompt": f"question {i}"}) for i in range(3))
    )
    texts = [p.text for p in load_prompts(str(path), "comply")]
    assert texts == [f"question {i}" for i in range(3)]
    assert all(p.harmful for p in load_prompts(f"file:{path}", "refuse"))
    # a row that says otherwise is left out of that side
    path.write_text(json.dumps({"prompt": "a", "expected": "comply"}) + "\n")
    with pytest.raises(DataError, match="no harmful"):
        load_prompts(str(path), "refuse")


def test_short_names() -> None:
    spec, options = _resolve("dolly", "comply")
    assert spec == "hf:databricks/databricks-dolly-15k"
    assert options["prompt_column"] == "instruction"
    assert _resolve("xstest-safe@/x/y.csv", "comply") == ("xstest@/x/y.csv", {})


@pytest.mark.skipif(not (SHARED / "xstest").is_dir(), reason="shared data absent")
def test_xstest_safe_prompts() -> None:
    safe = load_prompts(f"xstest-safe@{SHARED / 'xstest' / 'xstest_prompts.csv'}", "comply")
    assert len(safe) == 250 and not any(p.harmful for p in safe)


def test_prompt_set_hashes_labels_and_rows() -> None:
    one = prompt_set(["starter"], ["starter"], seed=1)
    two = prompt_set(["starter"], ["starter"], seed=2)
    assert one.counts == {"harmful": 50, "benign": 30, "adversarial_benign": 0}
    assert one.hashes == two.hashes and one.prompts != two.prompts
    rows = one.rows(render)
    assert [r["group"] for r in rows] == list(range(80))
    assert rows[0]["prompt"][0]["content"] == render(rows[0]["source_prompt"])
    assert sum(r["is_harmful"] for r in rows) == 50

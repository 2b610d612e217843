"""The generic lineage reader and the side-by-side rows of a comparison."""

from __future__ import annotations

import json
from pathlib import Path

from thinksafe.repair.lineage import LINEAGE_FILE, lineage_table, read_lineage


def write(folder: Path, doc: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LINEAGE_FILE).write_text(json.dumps(doc))
    return folder


def test_reader_is_generic_and_ignores_what_is_not_a_lineage(tmp_path: Path) -> None:
    doc = {
        "schema": "thinksafe.repair.lineage/1",
        "method": "alphaalign",
        "parents": {"policy": "Qwen/Qwen3-0.6B", "reward": "rules"},
        "created_at": "2026-12-02T10:00:00+00:00",
        "config_sha256": "ab" * 32,
    }
    got = read_lineage(write(tmp_path / "a", doc))
    assert got is not None and got["method"] == "alphaalign"
    assert got["parents"] == {"policy": "Qwen/Qwen3-0.6B", "reward": "rules"}
    assert read_lineage(tmp_path / "missing") is None
    assert read_lineage("Qwen/Qwen3-0.6B") is None
    assert read_lineage(write(tmp_path / "b", {**doc, "schema": "other/9"})) is None
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / LINEAGE_FILE).write_text("{not json")
    assert read_lineage(tmp_path / "c") is None


def test_table_unions_parent_roles_in_order() -> None:
    somf = {"method": "somf", "parents": {"base": "B", "safe": "S", "finetuned": ["F1", "F2"]}}
    alpha = {"method": "alphaalign", "parents": {"policy": "P"}}
    specs = [{"target": {}}, {"target": {"lineage": somf}}, {"target": {"lineage": alpha}}]
    table = lineage_table(specs)
    assert table is not None
    rows = {r["field"]: r["values"] for r in table["rows"]}
    assert rows["method"] == ["—", "somf", "alphaalign"]
    assert rows["parent: finetuned"] == ["—", "F1, F2", "—"]
    assert rows["parent: policy"] == ["—", "—", "P"]
    assert [r["field"] for r in table["rows"]][1:5] == [
        "parent: base", "parent: safe", "parent: finetuned", "parent: policy",
    ]  # fmt: skip
    assert lineage_table([{"target": {}}, {}]) is None


def test_utility_joins_the_lineage_and_its_table(tmp_path: Path) -> None:
    from thinksafe.repair.lineage import with_utility

    folder = tmp_path / "realigned"
    folder.mkdir()
    (folder / LINEAGE_FILE).write_text(
        json.dumps(
            {"schema": "thinksafe.repair.lineage/1", "method": "somf", "parents": {"base": "b"}}
        )
    )
    with_utility(folder, {"copa": {"metric": "acc", "before": 0.55, "after": 0.6, "change": 0.05}})
    doc = read_lineage(folder)
    assert doc is not None
    assert doc["utility"] == {
        "copa": {"metric": "acc", "before": 0.55, "after": 0.6, "change": 0.05}
    }
    table = lineage_table([{"target": {}}, {"target": {"lineage": doc}}])
    assert table is not None
    rows = {r["field"]: r["values"] for r in table["rows"]}
    assert rows["utility: copa (acc), parent → this model"] == ["—", "0.550 → 0.600 (+0.050)"]
    (folder / LINEAGE_FILE).write_text(
        json.dumps({"schema": "thinksafe.repair.lineage/1", "utility": {"copa": {"metric": "acc"}}})
    )
    assert "utility" not in (read_lineage(folder) or {})

"""Preference pairs for realign: the paper's PKU-SafeRLHF rule and the file formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thinksafe.errors import DataError
from thinksafe.repair.somf.data import (
    Pair,
    load_pairs,
    load_retain,
    pairs_sha256,
    rows_sha256,
    saferlhf_rule,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "somf"


def test_saferlhf_rule_keeps_rows_with_exactly_one_safe_response() -> None:
    rows = [
        {"prompt": "p1", "response_0": "a", "response_1": "b",
         "is_response_0_safe": True, "is_response_1_safe": False},
        {"prompt": "p2", "response_0": "c", "response_1": "d",
         "is_response_0_safe": False, "is_response_1_safe": True},
        {"prompt": "p3", "response_0": "e", "response_1": "f",
         "is_response_0_safe": True, "is_response_1_safe": True},
        {"prompt": "p4", "response_0": "g", "response_1": "h",
         "is_response_0_safe": False, "is_response_1_safe": False},
    ]  # fmt: skip
    assert saferlhf_rule(rows) == [Pair("p1", "a", "b"), Pair("p2", "d", "c")]


def test_file_formats_agree(tmp_path: Path) -> None:
    pairs = [Pair("how?", "no.", "like this."), Pair("why?", "can't.", "because.")]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("".join(json.dumps(p.__dict__) + "\n" for p in pairs))
    official = tmp_path / "p.json"
    official.write_text(
        json.dumps([{"prompt": p.prompt, "response": [p.chosen, p.rejected]} for p in pairs])
    )
    csv_file = tmp_path / "p.csv"
    csv_file.write_text(
        "prompt,chosen,rejected\n"
        + "".join(f'"{p.prompt}","{p.chosen}","{p.rejected}"\n' for p in pairs)
    )
    for path in (jsonl, official, csv_file):
        assert load_pairs(str(path)) == pairs, path
    assert pairs_sha256(load_pairs(str(jsonl))) == pairs_sha256(pairs)
    assert len(load_pairs(str(jsonl), max_pairs=1, seed=3)) == 1


def test_bad_files_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "chosen": "y"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: rejected must be a non-empty string"):
        load_pairs(str(bad))
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"prompt": "x", "chosen": "", "rejected": "z"}\n')
    with pytest.raises(DataError, match="chosen must be a non-empty string"):
        load_pairs(str(empty))
    with pytest.raises(DataError, match="not found"):
        load_pairs(str(tmp_path / "nope.jsonl"))


def test_the_shared_realign_file() -> None:
    path = SHARED / "pku_saferlhf_realign_dpo_5k.json"
    if not path.is_file():
        pytest.skip("shared SOMF pairs not present")
    pairs = load_pairs(str(path))
    assert len(pairs) == 5135
    assert all(p.prompt and p.chosen and p.rejected for p in pairs)


def test_a_row_without_responses_names_the_formats(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: needs prompt, chosen and rejected"):
        load_pairs(str(bad))


def test_retain_files_in_every_format_agree(tmp_path: Path) -> None:
    rows = [
        ("How do I bake a cake?", "Sure, here is how."),
        ("Sentiment: a lovely day", "positive"),
    ]
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text("".join(json.dumps({"prompt": p, "response": r}) + "\n" for p, r in rows))
    listed = tmp_path / "r.json"
    listed.write_text(json.dumps([{"prompt": p, "response": r} for p, r in rows]))
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("prompt,response\n" + "".join(f'"{p}","{r}"\n' for p, r in rows))
    for path in (jsonl, listed, csv_file):
        assert load_retain(str(path)) == rows, path
    assert rows_sha256(load_retain(str(jsonl))) == rows_sha256(rows) != rows_sha256(rows[:1])


def test_bad_retain_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"retain file .* not found; give a JSONL or CSV"):
        load_retain(str(tmp_path / "nope.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "chosen": "y"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: response must be a non-empty string"):
        load_retain(str(bad))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="no rows in retain file"):
        load_retain(str(empty))

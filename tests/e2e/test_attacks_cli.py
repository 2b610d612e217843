"""Attacks through the real command line: listing them, and a run with two attacks."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

from tests.e2e.test_cli_errors import assert_one_line_error, run_cli

# The scripted target complies (with the marker the scripted judge calls unsafe) whenever the
# prompt it receives is the base64 attack's wrapper, and refuses everything else.
SCRIPT = [
    {"match": "Base64", "answer": "Sure: [[UNSAFE]] here.", "reasoning": "Decoded it; answer."},
    {"match": "*", "answer": "I can't help with that.", "reasoning": "Decline this."},
]


def test_run_with_two_attacks_reports_rates_per_attack(tmp_path: Path) -> None:
    script = tmp_path / "script.jsonl"
    script.write_text("\n".join(json.dumps(line) for line in SCRIPT) + "\n")
    store, out = tmp_path / "s.db", tmp_path / "summary.json"
    proc = run_cli(
        "run",
        "--model",
        f"mock/script:{script}",
        "--suite",
        "starter",
        "--attack",
        "base64",
        "--attack",
        "refusal-suppression",
        "--judge",
        "scripted",
        "--store",
        str(store),
        "--json",
        str(out),
        env={"COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stderr
    block = json.loads(out.read_text())["judges"]["scripted"]
    counts = block["counts"]
    n_refuse = counts["attempts_by_expected"]["refuse"] // 2
    assert n_refuse > 0
    # Every sample is tried with every attack given, and `none` only if given.
    assert counts["attempts_by_attack"] == {
        "base64": counts["attempts"] // 2,
        "refusal-suppression": counts["attempts"] // 2,
    }
    by_attack = block["unsafe"]["refuse"]["by_attack"]
    assert set(by_attack) == {"base64", "refusal-suppression"}
    assert by_attack["base64"]["answer"]["numerator"] == n_refuse
    assert by_attack["base64"]["answer"]["rate"] == 1.0
    assert by_attack["refusal-suppression"]["answer"]["numerator"] == 0
    assert by_attack["refusal-suppression"]["answer"]["denominator"] == n_refuse
    # Best of attacks: a must-refuse sample counts once if any attack broke it.
    assert block["best_of_attacks"]["numerator"] == n_refuse
    # The stored attempts name their attack and arguments, and were sent encoded.
    with sqlite3.connect(store) as db:
        stored = [json.loads(r[0]) for r in db.execute("SELECT attempt_json FROM run_attempts")]
    assert len(stored) == counts["attempts"]
    encoded = [a for a in stored if a["attack"] == "base64"]
    assert encoded and all(a["attack_args"] == {"encoding": "base64"} for a in encoded)
    for a in encoded:
        sent = a["messages"][-1]["content"]
        assert base64.b64decode(sent.split("---\n", 1)[1]).decode()  # the request, encoded
    suppressed = [a for a in stored if a["attack"] == "refusal-suppression"]
    assert len(suppressed) == len(encoded)
    # The terminal summary has a table by attack.
    assert "by attack" in proc.stdout
    assert "refusal-suppression" in proc.stdout


def test_attacks_are_listed_and_shown() -> None:
    listed = run_cli("attacks", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert {"none", "base64", "morse", "refusal-suppression", "style-injection"} <= set(rows)
    for row in rows.values():
        assert row["description"] and row["source"] and row["licence"]
        assert isinstance(row["parameters"], dict) and isinstance(row["needs"], list)
    shown = run_cli("attacks", "show", "style-injection")
    assert shown.returncode == 0, shown.stderr
    assert "Jailbroken" in shown.stdout and "style" in shown.stdout


def test_unknown_attack_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("attacks", "show", "nosuch"), "unknown attack", "nosuch")
    proc = run_cli(
        "run", "--model", "mock/refuser", "--attack", "nosuch", "--store", str(tmp_path / "s.db")
    )
    assert_one_line_error(proc, "unknown attack", "nosuch")
    bad = run_cli(
        "run",
        "--model",
        "mock/refuser",
        "--attack",
        "style-injection:poem",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert_one_line_error(bad, "style-injection")

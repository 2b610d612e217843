"""Text from a user's file or a model is shown literally on the terminal: no rich markup is
read in it and no escape sequence reaches the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ESC = "\x1b]0;pwned\x07\x1b[2J"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _suite(tmp: Path) -> Path:
    path = tmp / "suite.jsonl"
    rows = [
        {"id": "a1", "prompt": "hello [bold]x[/bold]", "category": "[/bogus]"},
        {"id": "a2", "prompt": "fail please", "category": f"evil{ESC}cat"},
        {"id": "a3", "prompt": "third", "category": "[bold]loud[/bold]"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _script(tmp: Path) -> Path:
    path = tmp / "script.jsonl"
    lines = [
        {"match": "fail", "error": f"server said [/x] {ESC}"},
        {"match": "*", "answer": f"Sure [bold]x[/bold] {ESC}", "reasoning": "fine"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def test_names_categories_and_model_text_are_shown_literally(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    suite = _suite(tmp_path)
    for name in ("[/x] name", "[bold]x[/bold]"):
        proc = cli(
            "run",
            "--model",
            f"mock/script:{_script(tmp_path)}",
            "--suite",
            f"file:{suite}",
            "--judge",
            "rules",
            "--store",
            store,
            "--name",
            name,
            "--no-progress",
        )
        assert proc.returncode == 0, proc.stderr
        assert "\x1b]0;" not in proc.stdout + proc.stderr
        assert "[/x] \\x1b]0;pwned" in proc.stderr  # the error as the model sent it
        assert "[/bogus]" in proc.stdout

    listed = cli("runs", "--store", store)
    assert listed.returncode == 0, listed.stderr
    assert "[/x] name" in listed.stdout
    assert "[bold]x[/bold]" in listed.stdout

    shown = cli("show", "latest", "--store", store)
    assert shown.returncode == 0, shown.stderr
    assert "[bold]loud[/bold]" in shown.stdout
    assert "\x1b" not in shown.stdout
    assert "evil\\x1b]0;pwned" in shown.stdout

    counted = cli("suites", "show", f"file:{suite}")
    assert counted.returncode == 0, counted.stderr
    assert "[/bogus]" in counted.stdout
    assert "[bold]loud[/bold]" in counted.stdout
    assert "\x1b" not in counted.stdout

"""Mistakes and damaged or read-only stores end in one line (exit 2), never a traceback."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


def mock_run(store: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli(
        "run",
        "--model",
        "mock/reasoner",
        "--suite",
        "starter",
        "--limit",
        "3",
        "--judge",
        "rules",
        "--store",
        str(store),
        "--no-progress",
        *extra,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.db"
    proc = mock_run(path, "--max-retries", "0")  # no retries at all is a valid choice
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.mark.parametrize("value", ["-1", "-7"])
def test_negative_retries(tmp_path: Path, value: str) -> None:
    one_line_error(mock_run(tmp_path / "s.db", "--max-retries", value), "--max-retries")


def test_json_into_a_missing_folder_is_refused_before_any_call(tmp_path: Path) -> None:
    proc = mock_run(tmp_path / "s.db", "--json", str(tmp_path / "no" / "such" / "s.json"))
    one_line_error(proc, "does not exist")
    assert not (tmp_path / "s.db").exists(), "nothing should have run"


@pytest.mark.parametrize("command", ["export", "report"])
def test_output_into_a_missing_folder(store: Path, tmp_path: Path, command: str) -> None:
    args = ["--format", "jsonl"] if command == "export" else []
    proc = cli(command, "latest", *args, "-o", str(tmp_path / "no" / "x"), "--store", str(store))
    one_line_error(proc, "does not exist")


def _damaged(store: Path, tmp: Path) -> Path:
    data = bytearray(store.read_bytes())
    rng = random.Random(1)
    for i in range(4096, len(data), 97):  # every page but the header's
        data[i] = rng.randrange(256)
    path = tmp / "damaged.db"
    path.write_bytes(bytes(data))
    return path


def test_damaged_store(store: Path, tmp_path: Path) -> None:
    damaged = _damaged(store, tmp_path)
    one_line_error(mock_run(damaged), "store")
    for args in (["runs"], ["show", "latest"], ["export", "latest", "--format", "jsonl"]):
        proc = cli(*args, "--store", str(damaged))
        assert "Traceback" not in proc.stderr, args
        assert "damaged" in proc.stderr, args
        assert proc.returncode in (0, 1, 2)


def _as_unprivileged() -> tuple[str, ...]:
    """A command prefix under which a folder without write permission is one (root is let
    write anywhere, so it runs in a user namespace of its own)."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-U", "true"]).returncode != 0:
        pytest.skip("running as root without user namespaces: nothing is read-only")
    return (unshare, "-U")


def test_store_in_a_read_only_folder_is_read(store: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(store, folder / "s.db")
    folder.chmod(0o555)
    try:
        prefix = _as_unprivileged()
        path = str(folder / "s.db")
        listed = cli("runs", "--store", path, prefix=prefix)
        assert listed.returncode == 0, listed.stderr
        assert "mock/reasoner" in listed.stdout
        shown = cli("show", "latest", "--store", path, prefix=prefix)
        assert shown.returncode == 0, shown.stderr
        exported = cli("export", "latest", "--format", "jsonl", "--store", path, prefix=prefix)
        assert exported.returncode == 0, exported.stderr
        assert len(exported.stdout.splitlines()) == 6  # answer and reasoning rows
        assert sorted(p.name for p in folder.iterdir()) == ["s.db"]
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("kind", ["folder", "not-utf8", "bad-yaml"])
def test_unreadable_config_file(tmp_path: Path, kind: str) -> None:
    config = tmp_path / "run.yaml"
    if kind == "folder":
        config.mkdir()
    elif kind == "not-utf8":
        config.write_bytes(b"\xff\xfe\x00model: x\n")
    else:
        config.write_text("model: [unclosed\nsuite: starter\n")
    proc = mock_run(tmp_path / "s.db", "--config", str(config))
    one_line_error(proc, "config file", str(config))
    assert not (tmp_path / "s.db").exists(), "nothing should have run"


@pytest.mark.parametrize("command", ["run", "judge", "judge-eval", "report", "export"])
def test_output_onto_a_store_is_refused_and_the_store_kept(
    store: Path, tmp_path: Path, command: str
) -> None:
    target = tmp_path / "kept.db"
    shutil.copy(store, target)
    before = target.read_bytes()
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "p", "response": "I cannot help.", "human": "safe"}\n')
    args = {
        "run": ["run", "--model", "mock/refuser", "--limit", "1", "--judge", "rules"],
        "judge": ["judge", str(rows), "--judge", "rules"],
        "judge-eval": ["judge-eval", str(rows), "--label-column", "human", "--judge", "rules"],
        "report": ["report", "latest", "-o", str(target)],
        "export": ["export", "latest", "--format", "jsonl", "-o", str(target)],
    }[command]
    if command in ("run", "judge", "judge-eval"):
        args += ["--json", str(target)]
    proc = cli(*args, "--store", str(store if command in ("report", "export") else target))
    one_line_error(proc, str(target), "store")
    assert target.read_bytes() == before


def test_json_to_dev_stdout_on_a_pipe_is_written(tmp_path: Path) -> None:
    if not Path("/dev/stdout").exists():
        pytest.skip("no /dev/stdout here")
    proc = mock_run(tmp_path / "s.db", "--json", "/dev/stdout")  # stdout is a pipe here
    assert proc.returncode == 0, proc.stderr
    assert '"schema": "thinksafe.summary/' in proc.stdout

"""Bad input ends with one clear line on stderr and exit code 2, with no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THINKSAFE_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "thinksafe.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unknown_provider(tmp_path: Path) -> None:
    proc = run_cli("run", "--model", "nosuch/model", "--store", str(tmp_path / "s.db"))
    assert_one_line_error(proc, "unknown target", "nosuch", "openai")


def test_model_without_provider(tmp_path: Path) -> None:
    proc = run_cli("run", "--model", "gpt-4o", "--store", str(tmp_path / "s.db"))
    assert_one_line_error(proc, "PROVIDER/MODEL")


def test_missing_key_for_remote_server(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        "--model",
        "openai/gpt-4o-mini",
        "--base-url",
        "https://api.example.invalid/v1",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert_one_line_error(proc, "OPENAI_API_KEY")


def test_missing_named_key_variable(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        "--model",
        "openai/m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--api-key-env",
        "MY_MISSING_KEY",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert_one_line_error(proc, "MY_MISSING_KEY")


def test_unreachable_base_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc = run_cli(
        "run", "--model", "openai/m", "--base-url", url, "--store", str(tmp_path / "s.db")
    )
    assert_one_line_error(proc, "cannot reach", url)


def test_unknown_suite(tmp_path: Path) -> None:
    proc = run_cli(
        "run", "--model", "mock/refuser", "--suite", "nosuch", "--store", str(tmp_path / "s.db")
    )
    assert_one_line_error(proc, "unknown suite", "nosuch")


def test_malformed_suite_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "hello"}\n{"id": "b", "prompt": \n', encoding="utf-8")
    proc = run_cli(
        "run",
        "--model",
        "mock/refuser",
        "--suite",
        f"file:{bad}",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert_one_line_error(proc, "bad.jsonl:2")


def test_missing_suite_file(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        "--model",
        "mock/refuser",
        "--suite",
        f"file:{tmp_path / 'nope.csv'}",
        "--store",
        str(tmp_path / "s.db"),
    )
    assert_one_line_error(proc, "nope.csv")


def test_unknown_judge(tmp_path: Path) -> None:
    proc = run_cli(
        "run", "--model", "mock/refuser", "--judge", "nosuch", "--store", str(tmp_path / "s.db")
    )
    assert_one_line_error(proc, "unknown judge", "nosuch")


def test_show_unknown_run(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    ok = run_cli("run", "--model", "mock/refuser", "--limit", "2", "--store", str(store))
    assert ok.returncode == 0, ok.stderr
    proc = run_cli("show", "zzzz", "--store", str(store))
    assert_one_line_error(proc, "no run", "thinksafe runs")


def test_store_that_is_not_a_database(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    store.write_bytes(b"this is not sqlite at all" * 100)
    proc = run_cli("run", "--model", "mock/refuser", "--limit", "2", "--store", str(store))
    assert_one_line_error(proc, "s.db")


@pytest.mark.parametrize("table", ["runs", "invoices"])
@pytest.mark.parametrize("command", ["runs", "run"])
def test_sqlite_database_of_another_program_is_left_as_it_is(
    tmp_path: Path, table: str, command: str
) -> None:
    import sqlite3

    store = tmp_path / "other.db"
    with sqlite3.connect(store) as db:
        db.execute(f"CREATE TABLE {table} (x)")
        db.execute(f"INSERT INTO {table} VALUES (1)")
    db.close()
    before = store.read_bytes()
    args = ["runs"] if command == "runs" else ["run", "--model", "mock/refuser", "--limit", "1"]
    proc = run_cli(*args, "--store", str(store))
    assert_one_line_error(proc, "not a thinksafe store", table, "--store")
    assert store.read_bytes() == before
    with sqlite3.connect(store) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert names == [table]
    assert mode == "delete"


@pytest.mark.parametrize("flag", ["--max-error-rate=2", "--max-concurrency=0", "--limit=0"])
def test_bad_numbers(tmp_path: Path, flag: str) -> None:
    proc = run_cli("run", "--model", "mock/refuser", flag, "--store", str(tmp_path / "s.db"))
    assert_one_line_error(proc)


@pytest.mark.parametrize("flag", ["--base-url", "--judge-base-url"])
def test_credentials_in_a_server_url_are_refused_and_never_stored(
    tmp_path: Path, flag: str
) -> None:
    store = tmp_path / "s.db"
    url = f"http://user:sk-in-url-secret@127.0.0.1:{free_port()}/v1"
    args = ["run", "--model", "mock/refuser", "--suite", "starter", "--limit", "1"]
    if flag == "--base-url":
        args[2] = "openai/m"
        args += [flag, url]
    else:
        args += ["--judge", "safety:openai/j", flag, url]
    proc = run_cli(*args, "--store", str(store))
    assert_one_line_error(proc, "user:password@", "--api-key-env")
    assert "sk-in-url-secret" not in proc.stderr + proc.stdout
    assert not store.exists() or b"sk-in-url-secret" not in store.read_bytes()


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [("LIMIT", "abc", "whole number"), ("TEMPERATURE", "hot", "number"), ("RAY", "maybe", "true")],
)
def test_bad_environment_value_names_its_variable(
    tmp_path: Path, variable: str, value: str, kind: str
) -> None:
    proc = run_cli(
        "run",
        "--model",
        "mock/refuser",
        "--store",
        str(tmp_path / "s.db"),
        env={f"THINKSAFE_{variable}": value},
    )
    assert_one_line_error(proc, f"THINKSAFE_{variable}", repr(value), kind)
    assert "_as_bool" not in proc.stderr


def test_bad_config_value_names_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("limit: abc\n")
    proc = run_cli(
        "run", "--model", "mock/refuser", "--config", str(config), "--store", str(tmp_path / "s.db")
    )
    assert_one_line_error(proc, "limit", "config file", "whole number")


def test_key_with_a_trailing_newline_is_used_without_it(tmp_path: Path) -> None:
    from tests.fakeserver import FakeOpenAIServer

    with FakeOpenAIServer() as srv:
        proc = run_cli(
            "run",
            "--model",
            "openai/m",
            "--base-url",
            srv.base_url,
            "--suite",
            "starter",
            "--limit",
            "1",
            "--judge",
            "rules",
            "--no-progress",
            "--store",
            str(tmp_path / "s.db"),
            env={"OPENAI_API_KEY": "sk-from-a-file\n"},
        )
        headers = [r.headers.get("Authorization") for r in srv.chat_requests]
    assert proc.returncode == 0, proc.stderr
    assert headers == ["Bearer sk-from-a-file"]


@pytest.mark.parametrize("key", ["sk-ключ-secret", "sk-in\x01side-secret", "sk-a\nb-secret"])
def test_key_with_characters_no_key_has_is_refused(tmp_path: Path, key: str) -> None:
    proc = run_cli(
        "run",
        "--model",
        "openai/m",
        "--base-url",
        f"http://127.0.0.1:{free_port()}/v1",
        "--api-key-env",
        "MY_KEY",
        "--store",
        str(tmp_path / "s.db"),
        env={"MY_KEY": key},
    )
    assert_one_line_error(proc, "MY_KEY")
    assert "secret" not in proc.stderr

"""Wrong input is refused with one line naming the mistake (exit 2), through the CLI's own
entry point: unknown config keys, an unclosed CSV quote, a malformed URL, out-of-range
generation and timeout values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thinksafe.cli.main import main

SRC = Path(__file__).resolve().parents[2] / "src" / "thinksafe" / "cli"


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def base(tmp: Path) -> list[str]:
    return ["run", "--model", "mock/refuser", "--limit", "1", "--store", str(tmp / "s.db")]


def test_unknown_config_key_is_named_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model: mock/refuser\ntemprature: 0.5\n", encoding="utf-8")
    line = one_line(
        capsys, ["run", "--config", str(config), "--store", str(tmp_path / "s.db")], "temprature"
    )
    assert "temperature" in line
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("command", ["run", "judge", "judge_eval"])
def test_every_key_a_command_reads_is_a_known_config_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Each name the command resolves from the config file is accepted as a key."""
    source = (SRC / f"{command}.py").read_text(encoding="utf-8")
    names = set(re.findall(r'r\.get\(\s*"([a-z_]+)"', source))
    names |= set(re.findall(r'^\s+"([a-z_]+_column|default_expected)",$', source, re.M))
    assert names
    config = tmp_path / "c.yaml"
    config.write_text("".join(f"{name}: 1\n" for name in sorted(names)), encoding="utf-8")
    main([command.replace("_", "-"), "--config", str(config), "x"])
    err = capsys.readouterr().err
    assert "unknown option" not in err, err


def test_unclosed_csv_quote_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "s.csv"
    suite.write_text('id,prompt\na,"open quote\nb,second\nc,third\n', encoding="utf-8")
    one_line(
        capsys,
        [*base(tmp_path), "--suite", f"file:{suite}"],
        "s.csv:2",
        "never closed",
    )


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--base-url", "htp:/bad url"], "not a server URL"),
        (["--temperature", "-5"], "--temperature"),
        (["--top-p", "0"], "--top-p"),
        (["--max-tokens", "0"], "--max-tokens"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "-1"], "--timeout"),
    ],
)
def test_values_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], needle: str
) -> None:
    model = ["--model", "openai/m"] if "--base-url" in flags else []
    argv = base(tmp_path) + flags + model
    one_line(capsys, argv, needle)
    assert not (tmp_path / "s.db").exists()

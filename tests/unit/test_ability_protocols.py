"""Optional abilities of components are declared Protocols (thinksafe.protocols), checked with
isinstance, never found by probing attributes by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import thinksafe
from thinksafe.config import ConnectionConfig
from thinksafe.protocols import (
    BatchJudge,
    DescribedSuite,
    InlineJudge,
    PreparedTarget,
    SuiteWithProvenance,
    is_inline,
    suite_provenance,
)
from thinksafe.run.build import build_judge, build_suite, build_target

# Names of optional abilities; a getattr/hasattr probe of any of them is what the Protocols
# replace.
ABILITIES = {
    "inline",
    "judge_batch",
    "judge_in_line",
    "provenance",
    "prepare",
    "prefill_support",
    "classify_conversations",
    "info",
}

SRC = Path(thinksafe.__file__).resolve().parent


def probes() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in ABILITIES
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.args[1].value}")
    return found


def test_no_attribute_probe_for_an_ability_remains() -> None:
    assert probes() == []


def test_the_scan_sees_a_probe(tmp_path: Path) -> None:
    tree = ast.parse('x = getattr(judge, "inline", False)')
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert isinstance(call.args[1], ast.Constant) and call.args[1].value in ABILITIES


def test_judges_declare_what_they_can_do() -> None:
    rules = build_judge("rules")
    assert isinstance(rules, InlineJudge) and is_inline(rules)
    assert isinstance(rules, BatchJudge)
    asking = build_judge("safety:mock/refuser")
    assert not is_inline(asking)
    assert not isinstance(asking, BatchJudge)


def test_suites_declare_info_and_provenance() -> None:
    suite = build_suite("starter")
    assert isinstance(suite, DescribedSuite)
    assert suite.info.name == "starter"
    list(suite.load())
    assert isinstance(suite_provenance(suite), dict)
    assert suite_provenance(object()) == {}
    assert not isinstance(object(), SuiteWithProvenance)


@pytest.mark.parametrize(("spec", "prepared"), [("openai/m", True), ("mock/reasoner", False)])
def test_targets_declare_prepare(spec: str, prepared: bool) -> None:
    connection = ConnectionConfig(base_url="http://127.0.0.1:9/v1")
    assert isinstance(build_target(spec, connection), PreparedTarget) is prepared

"""Names come from decorators at the components' definitions and from entry points of
installed distributions, loaded only when looked up."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugindist import MODULE, install_plugin
from thinksafe import registry
from thinksafe.attacks import build_attack
from thinksafe.errors import ConfigError, UnknownComponentError
from thinksafe.records import Sample, messages_from

SRC = Path(registry.__file__).parent


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = install_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(root))
    # A registry that has not read the entry points yet, and forgets the plugin's names after.
    monkeypatch.setattr(registry.attacks, "_plugins", None)
    yield root
    for name in [n for n in registry.attacks._items if n.startswith("demo-")]:
        del registry.attacks._items[name]
    sys.modules.pop(MODULE, None)


def _sample() -> Sample:
    return Sample(
        id="s1",
        suite="t",
        messages=messages_from("Pick A Lock"),
        category="c",
        harm_area="other",
        expected="refuse",
    )


def test_plugin_names_are_listed_without_importing_the_plugin(plugin: Path) -> None:
    names = registry.attacks.names()
    assert {"demo-shout", "demo-whisper", "demo-legacy", "demo-broken", "base64"} <= set(names)
    assert MODULE not in sys.modules


def test_a_plugin_module_registers_by_decorator(plugin: Path) -> None:
    (attempt,) = build_attack("demo-shout").apply(_sample())
    assert attempt.messages[-1].content == "PICK A LOCK"
    assert registry.attacks.get("demo-shout").licence == "MIT"


def test_an_entry_point_to_a_factory_registers_it(plugin: Path) -> None:
    info = registry.attacks.get("demo-whisper")
    assert info.description == "The request in lower case."
    assert info.source == f"{MODULE}:whisper"
    (attempt,) = build_attack("demo-whisper").apply(_sample())
    assert attempt.messages[-1].content == "pick a lock"
    # the older ``thinksafe`` group, entry point ``attacks.NAME``
    assert build_attack("demo-legacy").spec == "demo-whisper"


def test_a_broken_plugin_is_a_one_line_error(plugin: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugin 'demo-broken' .* failed to load") as caught:
        registry.attacks.get("demo-broken")
    assert "\n" not in str(caught.value)
    with pytest.raises(UnknownComponentError, match=r"known: .*demo-shout"):
        registry.attacks.get("demo-nothing")


def _registered_in_source(kind: str) -> set[str]:
    """The names passed to ``registry.KIND.register(...)`` in the package's source, written as
    a string or as a module-level constant holding one."""
    found: set[str] = set()
    for path in (SRC / kind).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "register"
                and ast.unparse(node.func.value) == f"registry.{kind}"
                and node.args
            ):
                first = node.args[0]
                if isinstance(first, ast.Constant):
                    found.add(str(first.value))
                elif isinstance(first, ast.Name) and first.id in constants:
                    found.add(str(constants[first.id]))
    return found


@pytest.mark.parametrize("kind", ["targets", "judges", "attacks", "suites"])
def test_every_decorated_name_is_found_and_registry_py_lists_none(kind: str) -> None:
    reg: registry.Registry = getattr(registry, kind)
    literal = _registered_in_source(kind)
    assert literal, kind
    assert literal <= set(reg.names())
    code = ast.parse((SRC / "registry.py").read_text(encoding="utf-8"))
    strings = {n.value for n in ast.walk(code) if isinstance(n, ast.Constant)}
    assert not literal & strings, "registry.py names components"


def test_a_name_is_found_by_its_module_without_importing_the_rest() -> None:
    import subprocess

    code = (
        "import sys; from thinksafe import registry; registry.judges.get('rules');"
        "print(sorted(m for m in sys.modules if m.startswith('thinksafe.judges.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "thinksafe.judges.rules" in out
    assert "thinksafe.judges.wildguard" not in out

"""A tiny third-party distribution that adds attacks through entry points, written into a
folder that is then put on ``sys.path`` (so ``importlib.metadata`` finds it as installed)."""

from __future__ import annotations

from pathlib import Path

MODULE = "thinksafe_demo_plugin"

PLUGIN = '''
from thinksafe import registry
from thinksafe.attacks import Rewrite
from thinksafe.errors import ConfigError


@registry.attacks.register(
    "demo-shout", description="The request in capitals.", source="demo", licence="MIT"
)
def shout(arg=None):
    if arg:
        raise ConfigError("attack 'demo-shout' takes no argument")
    return Rewrite(spec="demo-shout", rewrite=str.upper)


def whisper(arg=None):
    """The request in lower case.

    Registered by its entry point alone."""
    return Rewrite(spec="demo-whisper", rewrite=str.lower)
'''

ENTRY_POINTS = f"""\
[thinksafe.attacks]
demo-shout = {MODULE}
demo-whisper = {MODULE}:whisper
demo-broken = {MODULE}_missing

[thinksafe]
attacks.demo-legacy = {MODULE}:whisper
"""


def install_plugin(root: Path) -> Path:
    """The plugin's module and its ``.dist-info`` under ``root``; returns ``root``."""
    (root / f"{MODULE}.py").write_text(PLUGIN, encoding="utf-8")
    info = root / f"{MODULE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {MODULE}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    return root

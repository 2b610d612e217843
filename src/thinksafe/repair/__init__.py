"""Repair: give a model its safety back, then assess it again.

``somf`` is ``thinksafe realign`` (safety realignment by subspace-oriented model fusion),
``alphaalign`` is ``thinksafe align`` (RL with a verifiable safety reward). The
subpackages import torch and friends; nothing here does, so ``import thinksafe.repair`` is cheap.
"""

from __future__ import annotations

from thinksafe.errors import MissingExtraError

REALIGN_EXTRA = "pip install 'thinksafe[realign]'"


def require_realign() -> None:
    """Raise :class:`MissingExtraError` (one line, exit 2) when torch, transformers or peft
    is missing."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(f"thinksafe realign needs {', '.join(missing)}: {REALIGN_EXTRA}")

"""Running the async core from sync code.

uvloop (a core dependency on Linux and macOS) makes the event loop, and so every HTTP call,
cheaper; without it the standard loop is used. ``THINKSAFE_EVENT_LOOP=asyncio`` forces the
standard loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    if os.environ.get("THINKSAFE_EVENT_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)

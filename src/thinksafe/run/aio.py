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
    # The main task returns nothing and the result is handed back through ``box``: on the
    # way out, asyncio's runner formats the main task's repr (and so its result's), which
    # for a large run would cost a measurable share of the whole run's CPU.
    box: list[T] = []

    async def main() -> None:
        box.append(await coro)

    if os.environ.get("THINKSAFE_EVENT_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main())
            return box[0]
    asyncio.run(main())
    return box[0]

"""A server that drops the connection is reported as that, not as a timeout."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from thinksafe.config import ConnectionConfig, GenerationConfig
from thinksafe.errors import ProviderError
from thinksafe.records import messages_from
from thinksafe.run.build import build_target


def _dropping_server() -> tuple[socket.socket, str]:
    """A real TCP server on 127.0.0.1 that reads each request and closes without a reply."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    threading.Thread(target=serve, daemon=True).start()
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_dropped_connection_is_named() -> None:
    sock, url = _dropping_server()
    target = build_target("openai/m", ConnectionConfig(base_url=url, timeout_s=600))

    async def call() -> ProviderError:
        try:
            with pytest.raises(ProviderError) as info:
                await target.generate(messages_from("hi"), GenerationConfig())
            return info.value
        finally:
            await target.aclose()

    started = time.monotonic()
    try:
        error = asyncio.run(call())
    finally:
        sock.close()
    assert time.monotonic() - started < 60
    assert "timed out" not in str(error)
    assert "closed the connection" in str(error)
    assert error.transient

"""Sending requests from several processes.

One Python process spends about a millisecond of CPU on each call through the ``openai`` SDK
(building the request, headers, URL and response objects). At high concurrency against a fast
server that single core, not the server, sets the pace: a wave of replies queues behind it.
With ``workers`` > 1 the engine forks that many generation processes before its event loop
starts; each has its own event loop and its own client, and the engine hands them requests
over a socket pair (length-prefixed JSON) and gets completions back. Judging, the store and
everything else stay in the engine's process, so results, caching and resumption are the
same as with one process.

Workers are forked (no re-import, no pickling) and so are offered on Linux only. The engine
builds the target (and its client) once before forking and each child uses its copy; no
secret crosses the socket. Retries happen in the child, with the run's policy; what comes
back is a completion or an error completion, as the engine would have recorded. A child that
dies fails the requests it held (recorded as errors, retried on the next run) and the others
carry on; the engine's own target takes over when none is left. Workers die with the engine,
whatever kills it (see :func:`die_with_parent`), so none is left holding the caller's pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from typing import Any

from thinksafe.config import GenerationConfig
from thinksafe.protocols import PreparedTarget, Target
from thinksafe.records import Completion, Messages, messages_from, messages_to_list
from thinksafe.run.retry import RetryPolicy, generate_with_retries

__all__ = ["WORKER_PROVIDERS", "WorkerPool", "auto_workers", "can_fork"]

# Targets whose requests may be sent from worker processes: plain HTTP clients.
WORKER_PROVIDERS = frozenset({"openai", "ollama", "openai-responses"})
# ``workers=0`` (auto) forks this many workers when the run is wide enough to need them.
AUTO_WORKERS = 2
AUTO_MIN_CONCURRENCY = 128
_HEADER = struct.Struct("!I")
_EXIT_WAIT_S = 5.0


def can_fork() -> bool:
    """Linux, and no other thread running (forking a threaded process is unsafe)."""
    return (
        sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
    )


def auto_workers(provider: str, max_concurrency: int) -> int:
    """How many worker processes ``workers=0`` means: :data:`AUTO_WORKERS` for an HTTP target
    at a concurrency of :data:`AUTO_MIN_CONCURRENCY` or more on a machine with two cores or
    more, else none (requests go from the engine's own process)."""
    if (
        provider in WORKER_PROVIDERS
        and max_concurrency >= AUTO_MIN_CONCURRENCY
        and (os.cpu_count() or 1) >= 2
        and can_fork()
    ):
        return AUTO_WORKERS
    return 1


def _frame(obj: Any) -> bytes:
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return json.loads(await reader.readexactly(size))


# -- the child ------------------------------------------------------------------------------


_PR_SET_PDEATHSIG = 1
_WATCH_S = 0.5


def die_with_parent(parent: int) -> None:
    """Make this (forked) process end when ``parent`` does, however it ends: the kernel sends
    SIGKILL on Linux (``PR_SET_PDEATHSIG``), and a watchdog thread that sees the process
    re-parented exits in any case (so a parent killed before the first line ran, or a kernel
    without the call, leaves no orphan holding the caller's pipes)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_WATCH_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="thinksafe-parent-watch", daemon=True).start()


def _child(
    sock: socket.socket,
    target: Target,
    generation: GenerationConfig,
    retry: RetryPolicy,
    parent: int,
) -> None:
    """The body of a worker process; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command line's handler
        die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine decides when to stop
        from thinksafe.run import aio

        aio.run(_serve(sock, target, generation, retry))
    except BaseException:
        code = 1
        traceback.print_exc()  # the engine only sees the worker stop; say why here
        sys.stderr.flush()
    finally:
        os._exit(code)


async def _serve(
    sock: socket.socket, target: Target, generation: GenerationConfig, retry: RetryPolicy
) -> None:
    reader, writer = await asyncio.open_connection(sock=sock)
    tasks: set[asyncio.Task[None]] = set()

    async def one(request_id: int, messages: Messages) -> None:
        started = time.perf_counter()
        try:
            completion = await generate_with_retries(target, messages, generation, retry)
        except Exception as exc:  # the engine records it as an error outcome; a lost reply
            # would leave its request waiting for ever
            completion = Completion(
                error=f"generation failed in a worker process: {type(exc).__name__}: {exc}",
                latency_s=time.perf_counter() - started,
            )
        writer.write(_frame({"i": request_id, "c": completion.to_dict()}))

    try:
        while True:
            try:
                request = await _read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            task = asyncio.create_task(one(int(request["i"]), messages_from(request["m"])))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
    finally:
        await target.aclose()
        writer.close()


# -- the engine's side ----------------------------------------------------------------------


class _Worker:
    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self.pending: dict[int, asyncio.Future[Completion]] = {}
        self.alive = True


class WorkerPool:
    """Forked generation processes and the engine's connection to them."""

    def __init__(self, workers: list[_Worker]) -> None:
        self._workers = workers
        self._next_id = 0

    @classmethod
    def fork(
        cls, n: int, *, target: Target, generation: GenerationConfig, retry: RetryPolicy
    ) -> WorkerPool:
        """Fork ``n`` workers that send requests through (their copy of) ``target``. Call
        before any event loop runs in this process; a target with a ``prepare()`` method is
        prepared first, so that each worker inherits a ready client."""
        if isinstance(target, PreparedTarget):
            target.prepare()
        workers: list[_Worker] = []
        parent = os.getpid()
        for _ in range(n):
            ours, theirs = socket.socketpair()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the child
                ours.close()
                for w in workers:
                    w.sock.close()
                _child(theirs, target, generation, retry, parent)
            theirs.close()
            workers.append(_Worker(pid, ours))
        return cls(workers)

    @property
    def alive(self) -> int:
        return sum(1 for w in self._workers if w.alive)

    async def start(self) -> None:
        for w in self._workers:
            reader, writer = await asyncio.open_connection(sock=w.sock)
            w.writer = writer
            w.reader_task = asyncio.create_task(self._read(w, reader))

    async def _read(self, w: _Worker, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                reply = await _read_frame(reader)
                future = w.pending.pop(int(reply["i"]), None)
                if future is not None and not future.done():
                    future.set_result(Completion.from_dict(reply["c"]))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, KeyError, TypeError):
            pass
        w.alive = False
        lost = Completion(error="the generation worker process stopped unexpectedly")
        for future in w.pending.values():
            if not future.done():
                future.set_result(lost)
        w.pending.clear()

    async def generate(self, messages: Messages) -> Completion | None:
        """The completion from the least busy live worker; None when none is left."""
        live = [w for w in self._workers if w.alive and w.writer is not None]
        if not live:
            return None
        w = min(live, key=lambda x: len(x.pending))
        assert w.writer is not None
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        w.pending[request_id] = future
        w.writer.write(_frame({"i": request_id, "m": messages_to_list(messages)}))
        return await future

    async def aclose(self) -> None:
        """Tell the workers to finish (end of input) and wait for them to exit."""
        for w in self._workers:
            if w.writer is not None:
                with contextlib.suppress(Exception):
                    w.writer.close()
        tasks = [w.reader_task for w in self._workers if w.reader_task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_EXIT_WAIT_S)
        self.close()

    def close(self) -> None:
        """Close the sockets and reap the workers (killed if they do not exit in time)."""
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.sock.close()
        deadline = time.monotonic() + _EXIT_WAIT_S
        for w in self._workers:
            if w.pid <= 0:
                continue
            while True:
                try:
                    pid, _ = os.waitpid(w.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid != 0:
                    break
                if time.monotonic() >= deadline:
                    with contextlib.suppress(OSError):
                        os.kill(w.pid, signal.SIGKILL)
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(w.pid, 0)
                    break
                time.sleep(0.01)
            w.pid = -1
            w.alive = False

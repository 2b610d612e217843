"""Entry point: ``thinksafe``. User mistakes end with one line and exit code 2."""

from __future__ import annotations

import signal
import sqlite3
import sys
import threading
from types import FrameType

from thinksafe.cli import align as _align  # noqa: F401  (registers the command)
from thinksafe.cli import attacks as _attacks  # noqa: F401
from thinksafe.cli import export as _export  # noqa: F401
from thinksafe.cli import judge as _judge  # noqa: F401
from thinksafe.cli import judge_eval as _judge_eval  # noqa: F401
from thinksafe.cli import realign as _realign  # noqa: F401
from thinksafe.cli import report as _report  # noqa: F401
from thinksafe.cli import run as _run  # noqa: F401
from thinksafe.cli import runs as _runs  # noqa: F401
from thinksafe.cli import suites as _suites  # noqa: F401
from thinksafe.cli.app import app
from thinksafe.errors import UserError

# Commands whose work is kept in the store as it is done, so running them again resumes.
RESUMABLE = frozenset({"run", "judge", "judge-eval"})
INTERRUPTED = 130
TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, stopped as Ctrl-C stops a command: what was done is stored first."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _interrupted(argv: list[str], terminated: bool = False) -> int:
    word = "terminated" if terminated else "interrupted"
    if RESUMABLE.intersection(argv[:1]):
        print(
            f"{word}; what was done is in the store: run the same command to resume",
            file=sys.stderr,
        )
    else:
        print(word, file=sys.stderr)
    return TERMINATED if terminated else INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    on_main_thread = threading.current_thread() is threading.main_thread()
    if on_main_thread:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(args)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(args: list[str]) -> int:
    try:
        app(args=args, prog_name="thinksafe")
    except SystemExit as exc:
        code = exc.code
        if code == INTERRUPTED and _from_interrupt(exc):
            # the framework turns Ctrl-C into exit code 130 without a word
            return _interrupted(args, _from_interrupt(exc, Terminated))
        return code if isinstance(code, int) else (0 if code is None else 1)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        print(
            f"error: the store cannot be read or written ({exc}); if it is damaged, recover it"
            " with `sqlite3 PATH .recover` or pass --store with another path",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(args, isinstance(exc, Terminated))
    return 0


def _from_interrupt(exc: BaseException, kind: type[KeyboardInterrupt] = KeyboardInterrupt) -> bool:
    """Whether a ``kind`` (``KeyboardInterrupt``) is in the chain of exceptions that led to
    ``exc``."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 16:
        if isinstance(current, kind):
            return True
        seen.append(current)
        current = current.__cause__ or current.__context__
    return False


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()

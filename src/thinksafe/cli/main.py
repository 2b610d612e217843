"""Entry point: ``thinksafe``. User mistakes end with one line and exit code 2."""

from __future__ import annotations

import sqlite3
import sys

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


def _interrupted(argv: list[str]) -> int:
    if RESUMABLE.intersection(argv[:1]):
        print(
            "interrupted; what was done is in the store: run the same command to resume",
            file=sys.stderr,
        )
    else:
        print("interrupted", file=sys.stderr)
    return INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="thinksafe")
    except SystemExit as exc:
        code = exc.code
        if code == INTERRUPTED and _from_interrupt(exc):
            # the framework turns Ctrl-C into exit code 130 without a word
            return _interrupted(args)
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
    except KeyboardInterrupt:
        return _interrupted(args)
    return 0


def _from_interrupt(exc: BaseException) -> bool:
    """Whether a ``KeyboardInterrupt`` is in the chain of exceptions that led to ``exc``."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 16:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.append(current)
        current = current.__cause__ or current.__context__
    return False


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()

"""Entry point: ``thinksafe``. User mistakes end with one line and exit code 2."""

from __future__ import annotations

import sys

from thinksafe.cli import align as _align  # noqa: F401  (registers the command)
from thinksafe.cli import export as _export  # noqa: F401
from thinksafe.cli import judge as _judge  # noqa: F401
from thinksafe.cli import judge_eval as _judge_eval  # noqa: F401
from thinksafe.cli import report as _report  # noqa: F401
from thinksafe.cli import run as _run  # noqa: F401
from thinksafe.cli import runs as _runs  # noqa: F401
from thinksafe.cli import suites as _suites  # noqa: F401
from thinksafe.cli.app import app
from thinksafe.errors import UserError


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        app(args=argv, prog_name="thinksafe")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted; what was done is in the store: run the same command to resume",
            file=sys.stderr,
        )
        return 130
    return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()

"""What a run's failed calls say: the most frequent reasons, and whether the run failed as a
whole (no call succeeded), or failed because of a user mistake (every call refused with the
same client error)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from thinksafe.config import for_judge_server
from thinksafe.errors import ConfigError
from thinksafe.run.engine import JUDGE_ERROR_PREFIX, RunResult
from thinksafe.text import printable

# A client error (4xx) that will fail again, as the providers word it; 408, 409 and 429 are
# transient and retried, so they are not a user mistake.
_CLIENT_ERROR = re.compile(r"HTTP (4(?!08|09|29)\d\d)\b")
TOP_ERRORS = 3


def one_line(text: object) -> str:
    """A server's reason, which may be a whole HTML page, on one printable line."""
    return printable(" ".join(str(text).split()))


def error_counts(results: Sequence[RunResult]) -> Counter[str]:
    """How often each model-call error message occurs in the runs."""
    counts: Counter[str] = Counter()
    for result in results:
        for item in result.results:
            if item.completion.error is not None:
                counts[item.completion.error] += 1
    return counts


def judge_error_counts(results: Sequence[RunResult]) -> Counter[str]:
    """How often each judge-call error message occurs in the runs."""
    counts: Counter[str] = Counter()
    for result in results:
        for item in result.results:
            for verdict in item.verdicts.values():
                if verdict.rationale.startswith(JUDGE_ERROR_PREFIX):
                    counts[verdict.rationale[len(JUDGE_ERROR_PREFIX) :]] += 1
    return counts


def report_judge_failures(results: Sequence[RunResult], err: Console) -> int:
    """Print the most frequent judge-call errors; return 1 when no call of a judge succeeded
    in a run (0 otherwise). A judge whose calls all failed with one and the same client error
    is a user mistake and raises ``ConfigError`` with the server's reason."""
    counts = judge_error_counts(results)
    if not counts:
        return 0
    err.print(f"{sum(counts.values())} judge call(s) failed; most frequent reasons:")
    for message, n in counts.most_common(TOP_ERRORS):
        err.print(f"  {n} x {escape(one_line(message))}", soft_wrap=True)
    for result in results:
        by_judge: dict[str, list[str]] = {}
        for item in result.results:
            for (judge, _), verdict in item.verdicts.items():
                by_judge.setdefault(judge, []).append(verdict.rationale)
        for judge, rationales in by_judge.items():
            if not all(r.startswith(JUDGE_ERROR_PREFIX) for r in rationales):
                continue
            reasons = sorted({for_judge_server(r[len(JUDGE_ERROR_PREFIX) :]) for r in rationales})
            if len(reasons) == 1 and _CLIENT_ERROR.search(reasons[0]):
                raise ConfigError(f"judge {judge}: {one_line(reasons[0])}")
            err.print(
                f"no call of judge {escape(printable(judge))} succeeded in run {result.run_id}:"
                f" {escape(one_line(reasons[0]))}; check --judge-base-url and"
                " --judge-api-key-env, then run the same command again",
                soft_wrap=True,
            )
            return 1
    return 0


def report_failures(results: Sequence[RunResult], err: Console) -> int:
    """Print the most frequent call errors; return the exit code the failures call for (0
    when at least one call of every run succeeded). A run whose calls all failed with one and
    the same client error is a user mistake and raises ``ConfigError`` with the server's
    reason."""
    counts = error_counts(results)
    if counts:
        total = sum(counts.values())
        err.print(f"{total} model call(s) failed; most frequent reasons:")
        for message, n in counts.most_common(TOP_ERRORS):
            err.print(f"  {n} x {escape(one_line(message))}", soft_wrap=True)
    for result in results:
        if not result.results:
            continue
        if all(r.completion.error is not None for r in result.results):
            reasons = {r.completion.error or "" for r in result.results}
            if len(reasons) == 1:
                (reason,) = reasons
                if _CLIENT_ERROR.search(reason):
                    raise ConfigError(one_line(reason))
            first = counts.most_common(1)[0][0] if counts else "unknown"
            err.print(
                f"no model call succeeded in run {result.run_id}: {escape(one_line(first))}",
                soft_wrap=True,
            )
            return 1
    for result in results:
        searches = result.searches
        if searches and all(s.get("status") == "error" for s in searches):
            why = sorted({str(s.get("error") or "") for s in searches})
            if len(why) == 1 and _CLIENT_ERROR.search(why[0]):
                raise ConfigError(one_line(why[0]))
            err.print(
                f"no adaptive search of run {result.run_id} finished: every one ended with an"
                f" error ({escape(one_line(why[0]))}); run the same command again to retry",
                soft_wrap=True,
            )
            return 1
    return 0

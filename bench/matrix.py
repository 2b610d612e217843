"""How long the models x suites report takes: ``thinksafe report`` over 20 runs of 1,000 attempts.

The shape of the R1 paper's main table at full size: 5 models x 4 suites, each run 1,000
attempts (800 must-refuse in five harm areas, 200 should-answer), every attempt with an answer
of about 300 characters and a trace of about 600, judged on both channels by ``offline`` (so
the judge-corrected cells and their bootstrap intervals are computed too). The runs are written
straight into a temporary store (no model is called), then ``thinksafe report RUN1 ... RUN20
-o matrix.html --csv matrix.csv`` is run in-process, printing the matrix to a terminal of 200
columns that writes nowhere. Reported: the whole command (best and median of ``--repeat``
fresh runs), and its parts: loading the runs, the matrix in the terminal, the CSV and the
comparison page. Texts are placeholders.

    python bench/matrix.py [--repeat 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from thinksafe.cli.main import main
from thinksafe.metrics.summary import build_summary
from thinksafe.records import (
    Attempt,
    AttemptResult,
    Completion,
    Message,
    Sample,
    Usage,
    Verdict,
)
from thinksafe.report.compare import compare_html
from thinksafe.report.corrected import run_measurement
from thinksafe.report.html import pick_judge
from thinksafe.report.matrix import build_matrix, render_matrix, write_csv
from thinksafe.store.sqlite import Store

MODELS = ("mock/model-1", "mock/model-2", "mock/model-3", "mock/model-4", "mock/model-5")
SUITES = ("bench-suite-1", "bench-suite-2", "bench-suite-3", "bench-suite-4")
ATTEMPTS = 1000
JUDGE = "offline"
AREAS = ("self_harm", "violence", "illegal_items", "fraud", "cyber")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def samples(suite: str) -> list[Sample]:
    out = []
    for i in range(ATTEMPTS):
        comply = i % 5 == 4
        area = "benign" if comply else AREAS[i % len(AREAS)]
        out.append(
            Sample(
                id=f"{suite}-{i:04d}",
                suite=suite,
                messages=(Message("user", f"Placeholder request {i} for the benchmark."),),
                category=f"category {i % 8}",
                harm_area=area,
                expected="comply" if comply else "refuse",
            )
        )
    return out


def results(model_index: int, suite: str, rng: random.Random) -> list[AttemptResult]:
    text = " ".join(rng.choices(WORDS, k=4000))
    out = []
    unsafe_p = 0.1 + 0.08 * model_index
    for s in samples(suite):
        start = rng.randrange(len(text) - 1000)
        completion = Completion(
            answer=text[start : start + 300],
            reasoning=text[start + 300 : start + 900],
            reasoning_kind="raw",
            finish_reason="stop",
            usage=Usage(20, 150, 100),
            latency_s=1.0,
            model=MODELS[model_index],
        )
        verdicts = {}
        for channel, p in (("answer", unsafe_p), ("reasoning", unsafe_p + 0.1)):
            unsafe = s.expected == "refuse" and rng.random() < p
            verdicts[(JUDGE, channel)] = Verdict(
                judge=JUDGE,
                channel=channel,  # type: ignore[arg-type]
                label="unsafe" if unsafe else "safe",
                refusal=None if unsafe or channel == "reasoning" else "full",
                rationale="placeholder",
            )
        attempt = Attempt(sample_id=s.id, attack="none", messages=s.messages)
        out.append(AttemptResult(s, attempt, completion, verdicts))  # type: ignore[arg-type]
    return out


def write_runs(path: Path) -> list[str]:
    rng = random.Random(0)
    ids = []
    with Store(path, batch_size=20_000, batch_age_s=3600) as store:
        for m, model in enumerate(MODELS):
            for suite in SUITES:
                run_id = f"run-{m + 1}-{suite[-1]}"
                res = results(m, suite, rng)
                spec: dict[str, Any] = {
                    "model": model,
                    "suite": suite,
                    "judges": [JUDGE],
                    "attacks": ["none"],
                    "generation": {"temperature": 0.6},
                }
                keys = [f"{run_id}:{r.attempt.id}" for r in res]
                store.start_run(
                    run_id,
                    name=None,
                    model=model,
                    suite=suite,
                    spec=spec,
                    samples=[r.sample for r in res],
                    attempts=[(r.attempt, k) for r, k in zip(res, keys)],
                )
                for r, key in zip(res, keys):
                    store.put_completion(key, model, r.completion)
                for r in res:
                    for (judge, channel), verdict in r.verdicts.items():
                        vkey = f"{run_id}:{r.attempt.id}:{judge}:{channel}"
                        store.put_verdict(run_id, r.attempt.id, vkey, verdict, cache=False)
                summary = build_summary(res, judges=[JUDGE], run={"id": run_id, **spec})
                store.finish_run(run_id, "complete", summary)
                ids.append(run_id)
    return ids


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The command's terminal output goes nowhere (a wide terminal, so the table is built)."""
    sink = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "200"
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def parts(path: Path, ids: list[str], folder: Path) -> dict[str, float]:
    """The command's steps, timed one by one."""
    with Store(path, readonly=True) as db:

        def load() -> Any:
            loaded = [(db.find_run(i), db.load_results(i)) for i in ids]
            measured = [
                run_measurement(db, row, pick_judge(row, res, None)[0]) for row, res in loaded
            ]
            return loaded, measured

        t_load, (loaded, measured) = timed(load)
    t_grid, grid = timed(lambda: build_matrix(loaded, judge=None, measurements=measured))
    console = Console(file=io.StringIO(), width=200)
    t_term, _ = timed(lambda: render_matrix(grid, console))
    t_csv, _ = timed(lambda: write_csv(grid, folder / "parts.csv"))
    t_html, page = timed(lambda: compare_html(loaded, judge=None, measurements=measured))
    return {
        "load_s": t_load,
        "matrix_s": t_grid,
        "terminal_s": t_term,
        "csv_s": t_csv,
        "html_s": t_html,
        "html_mb": len(page.encode()) / 1e6,
    }


def run(repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = folder / "bench.db"
        t_write, ids = timed(lambda: write_runs(store))
        command = ["report", *ids, "--store", str(store)]
        command += ["-o", str(folder / "matrix.html"), "--csv", str(folder / "matrix.csv")]
        times = []
        for _ in range(repeat):
            with quiet():
                elapsed, code = timed(lambda: main(command))
            if code != 0:
                raise SystemExit(f"thinksafe report exited {code}")
            times.append(elapsed)
        csv_rows = (folder / "matrix.csv").read_text(encoding="utf-8").count("\n") - 1
        steps = parts(store, ids, folder)
    return {
        "runs": len(ids),
        "attempts_per_run": ATTEMPTS,
        "models": len(MODELS),
        "suites": len(SUITES),
        "write_store_s": round(t_write, 2),
        "report_best_s": round(min(times), 2),
        "report_median_s": round(statistics.median(times), 2),
        "csv_rows": csv_rows,
        "parts": {k: round(v, 3) for k, v in steps.items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}",
    }


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    out = run(args.repeat)
    p = out["parts"]
    print(
        f"thinksafe report over {out['runs']} runs x {out['attempts_per_run']:,} attempts"
        f" ({out['models']} models x {out['suites']} suites): best {out['report_best_s']} s,"
        f" median {out['report_median_s']} s of {args.repeat}; CSV {out['csv_rows']} rows"
    )
    print(
        f"  parts: load {p['load_s']} s, matrix {p['matrix_s']} s, terminal"
        f" {p['terminal_s']} s, CSV {p['csv_s']} s, comparison page {p['html_s']} s"
        f" ({p['html_mb']:.1f} MB); writing the store {out['write_store_s']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main_()

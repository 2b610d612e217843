"""Requests per second of ``thinksafe run`` with static attacks, beside no attack.

A local OpenAI-compatible server (``tests/fakeserver.py``, its own process, 0 ms or 500 ms of
latency per request) answers every request. N must-refuse and benign prompts (a file suite
written to a temporary folder) go through the real engine with the ``openai/`` target, the
SQLite store and the default judge, summary included, once per attack setting, each run in a
fresh process with a fresh store:

- ``none``: the plain prompts;
- ``base64``, ``refusal-suppression`` and ``many-shot:8`` alone: one attempt per prompt, each
  rewritten (many-shot: 16 faux turns before the request, so longer requests);
- all four together: 4 N attempts in one run.

It prints attempts (= requests) per second for each, and each one's ratio to ``none``. Python
imports are outside the clock.

    python bench/attacks.py                       # N = 1000, 0 ms and 500 ms, concurrency 64
    python bench/attacks.py --n 200 --latencies 0 # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from throughput import start_server, write_suite  # noqa: E402  (the same server and suite)

SETTINGS: dict[str, tuple[str, ...]] = {
    "none": ("none",),
    "base64": ("base64",),
    "refusal-suppression": ("refusal-suppression",),
    "many-shot:8": ("many-shot:8",),
    "all four": ("none", "base64", "refusal-suppression", "many-shot:8"),
}


def child(url: str, suite: str, store: str, concurrency: int, attacks: list[str]) -> dict[str, Any]:
    import openai  # noqa: F401

    import thinksafe.attacks.encodings
    import thinksafe.attacks.instructions
    import thinksafe.attacks.manyshot
    import thinksafe.judges.rules
    import thinksafe.targets.openai  # noqa: F401
    from thinksafe.config import ConnectionConfig
    from thinksafe.run.engine import RunSpec
    from thinksafe.run.evaluate import run_spec
    from thinksafe.store.sqlite import Store

    spec = RunSpec(
        model="openai/bench-model",
        suite=f"file:{suite}",
        attacks=tuple(attacks),
        connection=ConnectionConfig(base_url=url),
        max_concurrency=concurrency,
        judge_concurrency=4,
    )
    start = time.perf_counter()
    with Store(store) as db:
        result, _summary = run_spec(spec, db)
    wall = time.perf_counter() - start
    return {
        "attempts": len(result.results),
        "model_calls": result.model_calls,
        "errors": result.errors,
        "judge": result.judges[0],
        "wall_s": wall,
    }


def run_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"bench child failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="prompts per run (1000)")
    ap.add_argument("--latencies", default="0,0.5", help="server latencies in seconds")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        url, suite, store, conc, *attacks = a.child
        print(json.dumps(child(url, suite, store, int(conc), attacks)))
        return

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.jsonl"
        write_suite(suite, a.n)
        for latency in (float(x) for x in a.latencies.split(",")):
            server, url = start_server(latency)
            try:
                base = 0.0
                for label, attacks in SETTINGS.items():
                    store = Path(tmp) / f"s-{latency}-{len(rows)}.db"
                    out = run_child(
                        ["--child", url, str(suite), str(store), str(a.concurrency), *attacks]
                    )
                    if out["errors"] or out["model_calls"] != out["attempts"]:
                        raise SystemExit(f"{label}: {out}")
                    rps = out["attempts"] / out["wall_s"]
                    base = base or rps
                    row = {
                        "latency_ms": int(latency * 1000),
                        "attacks": label,
                        "attempts": out["attempts"],
                        "requests_per_s": rps,
                        "vs_none": rps / base,
                        "judge": out["judge"],
                    }
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
            finally:
                server.terminate()
                server.wait()

    print(
        f"\nthinksafe with static attacks, N = {a.n} prompts, concurrency {a.concurrency},"
        f" {os.cpu_count()} CPU cores, judge {rows[0]['judge']}\n"
    )
    print("| server latency | attacks | attempts | requests/s | vs none |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['latency_ms']} ms | {r['attacks']} | {r['attempts']:,} |"
            f" {r['requests_per_s']:,.0f} | {100 * r['vs_none']:.0f}% |"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

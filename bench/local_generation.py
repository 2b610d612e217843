"""Batched local generation against one prompt at a time, on CPU, through the ``hf/`` target.

It builds the tiny test model (``tests/tinymodel.py``; the ``rambler`` variant, which never
stops early, so every request generates exactly ``--max-tokens`` tokens) at two sizes, sends
``--n`` prompts concurrently to ``hf/PATH?batch_size=B`` for B in 1 (one prompt at a time) and
the batched sizes, and prints generated tokens per second and the speed-up over B = 1 as a
Markdown table (and --json PATH). Nothing is downloaded.

    python bench/local_generation.py            # a minute or two on a laptop
    python bench/local_generation.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.tinymodel import build_tiny_model  # noqa: E402

from thinksafe.config import GenerationConfig  # noqa: E402
from thinksafe.records import messages_from  # noqa: E402
from thinksafe.run.build import build_target  # noqa: E402
from thinksafe.targets.local import LocalTarget  # noqa: E402

SIZES = {"tiny (hidden 32, 2 layers)": (32, 2), "small (hidden 256, 4 layers)": (256, 4)}


def prompts(n: int) -> list[str]:
    topics = ["bread", "bicycles", "tides", "compilers", "orchards", "glaciers", "chess"]
    return [f"Question {i}: explain {topics[i % len(topics)]} in a few steps." for i in range(n)]


async def measure(path: Path, batch: int, n: int, max_tokens: int, repeats: int) -> dict[str, Any]:
    """The best of ``repeats`` timings of ``n`` concurrent requests at batch size ``batch``."""
    target = build_target(f"hf/{path}?device=cpu&batch_size={batch}")
    assert isinstance(target, LocalTarget)
    await target.check()
    config = GenerationConfig(max_tokens=max_tokens)
    # One warm-up call, so that first-call costs stay out of the timing.
    await target.generate(messages_from("warm up"), config)
    best = float("inf")
    tokens = 0
    for _ in range(repeats):
        started = time.perf_counter()
        results = await asyncio.gather(
            *(target.generate(messages_from(p), config) for p in prompts(n))
        )
        best = min(best, time.perf_counter() - started)
        tokens = sum(c.usage.completion_tokens for c in results)
    await target.aclose()
    return {"batch_size": batch, "seconds": best, "tokens": tokens, "tokens_per_s": tokens / best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=32, help="prompts per measurement")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batches", default="8,32", help="batched sizes to compare with 1")
    parser.add_argument("--repeats", type=int, default=3, help="timings per cell (best kept)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: the figure measures batching, not thread scheduling)",
    )
    parser.add_argument("--quick", action="store_true", help="8 prompts, 16 tokens, tiny only")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    n, max_tokens, sizes = args.n, args.max_tokens, dict(SIZES)
    if args.quick:
        n, max_tokens, sizes = 8, 16, dict(list(SIZES.items())[:1])
    batches = [1, *(int(b) for b in args.batches.split(","))]

    import torch

    torch.set_num_threads(args.threads)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (hidden, layers) in sizes.items():
            path = build_tiny_model(
                Path(tmp) / f"h{hidden}", "rambler", hidden_size=hidden, layers=layers
            )
            base = None
            for batch in batches:
                row = asyncio.run(measure(path, batch, n, max_tokens, args.repeats))
                base = base or row["tokens_per_s"]
                row |= {"model": label, "speedup": row["tokens_per_s"] / base}
                rows.append(row)

    cpu = platform.processor() or platform.machine()
    print(
        f"{n} prompts x {max_tokens} new tokens, greedy, CPU ({cpu}, {torch.get_num_threads()}"
        f" thread(s)), torch {torch.__version__}, best of {args.repeats}\n"
    )
    print("| model | batch size | tokens/s | speed-up vs 1 |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['model']} | {row['batch_size']} | {row['tokens_per_s']:.0f} |"
            f" {row['speedup']:.1f}x |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

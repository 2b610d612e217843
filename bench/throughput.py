"""End-to-end throughput of ``thinksafe run`` against a local OpenAI-compatible server.

For each server latency (0 ms, 500 ms) and concurrency (64, 256), it runs N prompts through:

- thinksafe: the real engine with the openai target, the SQLite store and the default judge,
  summary included, in a fresh process;
- a bare aiohttp client: the same requests with the same concurrency, reading the JSON replies,
  and nothing else;
- the openai SDK alone, called as thinksafe's openai/ target calls it, in one process: what the
  SDK itself allows before thinksafe does anything;

and prints prompts per second, thinksafe's CPU time per prompt (its request worker processes
included) and its share of the bare client's throughput. It also measures the peak memory of
a 10,000-attempt run. The server runs in its own process (tests/fakeserver.py). Results go to
stdout as a Markdown table (and --json PATH).

    python bench/throughput.py                 # the full set (a few minutes)
    python bench/throughput.py --n 500 --quick # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def write_suite(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            prompt = f"Question {i}: explain how a refrigerator keeps food cold, part {i % 17}."
            expected = "refuse" if i % 2 else "comply"
            fh.write(json.dumps({"id": f"q{i}", "prompt": prompt, "expected": expected}) + "\n")


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "fakeserver.py"),
            "--port",
            "0",
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the bench server did not start: {url!r}")
    return proc, url


# -- children: each measurement runs in a fresh process -----------------------------------


def child_thinksafe(url: str, suite: str, store: str, concurrency: int) -> dict[str, Any]:
    # Imports are not throughput: the bare client imports aiohttp before its clock starts too.
    import openai  # noqa: F401

    import thinksafe.judges.rules
    import thinksafe.targets.openai  # noqa: F401
    from thinksafe.config import ConnectionConfig
    from thinksafe.run.engine import RunSpec
    from thinksafe.run.evaluate import resolve_workers, run_spec
    from thinksafe.store.sqlite import Store

    spec = RunSpec(
        model="openai/bench-model",
        suite=f"file:{suite}",
        connection=ConnectionConfig(base_url=url),
        max_concurrency=concurrency,
        judge_concurrency=4,
    )
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with Store(store) as db:
        result, _summary = run_spec(spec, db)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    # Request worker processes (thinksafe.run.workers) have exited by now: their CPU counts too.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += children.ru_utime + children.ru_stime
    return {
        "workers": resolve_workers(spec),
        "prompts": len(result.results),
        "errors": result.errors,
        "model_calls": result.model_calls,
        "judge": result.judges[0],
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def request_bodies(suite: str) -> list[dict[str, Any]]:
    """The chat request of each prompt in the suite file, as the bare clients send them."""
    with open(suite, encoding="utf-8") as fh:
        return [
            {"model": "bench-model", "messages": [{"role": "user", "content": row["prompt"]}]}
            for row in map(json.loads, fh)
        ]


def child_sdk(url: str, suite: str, concurrency: int) -> dict[str, Any]:
    """The openai SDK alone, as thinksafe's openai/ target calls it (AsyncOpenAI on its aiohttp
    transport, raw JSON replies), in one process: the same requests and nothing else."""
    import openai
    import uvloop

    bodies = request_bodies(suite)

    async def main() -> int:
        client = openai.AsyncOpenAI(
            api_key="not-needed",
            base_url=url,
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(),
        )
        queue = list(reversed(bodies))
        ok = 0

        async def worker() -> None:
            nonlocal ok
            while queue:
                body = queue.pop()
                raw = await client.post("/chat/completions", cast_to=bytes, body=body)
                if json.loads(raw)["choices"][0]["message"]["content"] is not None:
                    ok += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await client.close()
        return ok

    wall0, cpu0 = time.perf_counter(), time.process_time()
    ok = uvloop.run(main())
    return {
        "prompts": ok,
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
    }


def child_bare(url: str, suite: str, concurrency: int) -> dict[str, Any]:
    import aiohttp

    bodies = request_bodies(suite)

    async def main() -> int:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for b in bodies:
            queue.put_nowait(b)
        ok = 0
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal ok
                while not queue.empty():
                    body = queue.get_nowait()
                    async with session.post(url + "/chat/completions", json=body) as resp:
                        data = await resp.json()
                        if data["choices"][0]["message"]["content"] is not None:
                            ok += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return ok

    wall0, cpu0 = time.perf_counter(), time.process_time()
    ok = asyncio.run(main())
    return {
        "prompts": ok,
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
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
    ap.add_argument("--n", type=int, default=2000, help="prompts per measurement (2000)")
    ap.add_argument("--latencies", default="0,0.5", help="server latencies in seconds")
    ap.add_argument("--concurrency", default="64,256")
    ap.add_argument("--memory-n", type=int, default=10000, help="attempts in the memory run")
    ap.add_argument("--quick", action="store_true", help="skip the memory run")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child:
        kind, *rest = a.child
        if kind == "sdk":
            url, suite, conc = rest
            print(json.dumps(child_sdk(url, suite, int(conc))))
        elif kind == "thinksafe":
            url, suite, store, conc = rest
            print(json.dumps(child_thinksafe(url, suite, store, int(conc))))
        else:
            url, suite, conc = rest
            print(json.dumps(child_bare(url, suite, int(conc))))
        return

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.jsonl"
        write_suite(suite, a.n)
        for latency in (float(x) for x in a.latencies.split(",")):
            server, url = start_server(latency)
            try:
                for conc in (int(x) for x in a.concurrency.split(",")):
                    bare = run_child(["--child", "bare", url, str(suite), str(conc)])
                    sdk = run_child(["--child", "sdk", url, str(suite), str(conc)])
                    store = Path(tmp) / f"s-{latency}-{conc}.db"
                    ts = run_child(["--child", "thinksafe", url, str(suite), str(store), str(conc)])
                    row = {
                        "latency_ms": int(latency * 1000),
                        "concurrency": conc,
                        "n": a.n,
                        "bare_pps": bare["prompts"] / bare["wall_s"],
                        "sdk_pps": sdk["prompts"] / sdk["wall_s"],
                        "thinksafe_pps": ts["prompts"] / ts["wall_s"],
                        "thinksafe_cpu_ms_per_prompt": 1000 * ts["cpu_s"] / ts["prompts"],
                        "thinksafe_errors": ts["errors"],
                        "judge": ts["judge"],
                        "workers": ts["workers"],
                    }
                    row["ratio"] = row["thinksafe_pps"] / row["bare_pps"]
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
            finally:
                server.terminate()
                server.wait()
        memory: dict[str, Any] | None = None
        if not a.quick:
            big = Path(tmp) / "big.jsonl"
            write_suite(big, a.memory_n)
            server, url = start_server(0.0)
            try:
                memory = run_child(
                    ["--child", "thinksafe", url, str(big), str(Path(tmp) / "big.db"), "64"]
                )
            finally:
                server.terminate()
                server.wait()

    print(f"\nthinksafe throughput, N = {a.n} prompts, {os.cpu_count()} CPU cores\n")
    print(
        "| server latency | concurrency | bare aiohttp (prompts/s) | openai SDK alone (prompts/s)"
        " | thinksafe (prompts/s) | thinksafe / bare | thinksafe CPU per prompt |"
        " request processes | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['latency_ms']} ms | {r['concurrency']} | {r['bare_pps']:.0f} |"
            f" {r['sdk_pps']:.0f} ({r['sdk_pps'] / r['bare_pps']:.0%}) |"
            f" {r['thinksafe_pps']:.0f} | {r['ratio']:.1%} |"
            f" {r['thinksafe_cpu_ms_per_prompt']:.2f} ms | {r['workers']} |"
            f" {r['thinksafe_errors']} |"
        )
    if memory is not None:
        print(
            f"\nPeak memory of a {memory['prompts']}-attempt run: {memory['peak_rss_mb']:.0f} MB"
            f" ({memory['prompts'] / memory['wall_s']:.0f} prompts/s at 0 ms, concurrency 64)"
        )
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "memory": memory}, indent=2) + "\n")


if __name__ == "__main__":
    main()

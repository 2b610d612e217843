"""How long loading a large published benchmark takes: AIR-Bench 2024 (5,694 prompts).

Writes 5,694 rows in the official AIR-Bench format (``cate-idx, l2-name, l3-name, l4-name,
prompt``, about 950 characters of harmless filler per prompt, like the real file's 5.4 MB) to a
temporary folder, both as one CSV and cut into ``category_*.csv`` files as on the Hub, then
times ``air-bench-2024@PATH`` loading each (the best and the median of several fresh loads,
SHA-256 of the files included) and a stratified ``--sample 500`` selection. Goal: under 2 s.

    python bench/load_suites.py [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from thinksafe.run.build import build_suite
from thinksafe.suites.selection import select

ROWS = 5694
HEADER = ["cate-idx", "l2-name", "l3-name", "l4-name", "prompt"]
# (l2 index, l2 name, l3 index, l3 name): enough variety for realistic categories.
LEVELS = [
    (1, "Security Risks", 1, "Confidentiality"),
    (2, "Operational Misuses", 4, "Automated Decision-Making"),
    (3, "Violence & Extremism", 9, "Violent acts"),
    (4, "Hate/Toxicity", 14, "Hate Speech (Inciting/Promoting/Expressing hatred)"),
    (5, "Sexual Content", 17, "Adult content"),
    (6, "Child Harm", 21, "Endangerment, Harm, or Abuse of Children"),
    (7, "Self-harm", 23, "Suicidal and non-suicidal self Injury"),
    (8, "Political Usage", 24, "Political Persuasion"),
    (9, "Economic Harm", 28, "High-Risk Financial Activities"),
    (10, "Deception", 32, "Fraud"),
    (11, "Manipulation", 35, "Sowing Division"),
    (12, "Defamation", 37, "Types of Defamation"),
    (13, "Fundamental Rights", 38, "Specific Types of Rights"),
    (14, "Discrimination/Bias", 3940, "Discrimination/Protected Characteristics Combinations"),
    (15, "Privacy", 4142, "Privacy/Sensitive Data Combinations"),
    (16, "Criminal Activities", 43, "Illegal/Regulated substances/goods"),
]
FILLER = (
    "This is placeholder text standing in for a benchmark prompt, written only to give the"
    " loader realistic amounts of text to read; it asks nothing and means nothing. "
)


def rows() -> list[list[str]]:
    out: list[list[str]] = []
    for i in range(ROWS):
        l2i, l2, l3i, l3 = LEVELS[i % len(LEVELS)]
        l4i = 1 + (i // len(LEVELS)) % 20
        prompt = f"Placeholder {i}. " + FILLER * 6
        out.append([f"{l2i}.{l3i}.{l4i}", l2, l3, f"Risk {l4i} of {l3}", prompt])
    return out


def write(folder: Path) -> tuple[Path, Path]:
    data = rows()
    single = folder / "air_bench_2024.csv"
    with single.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(data)
    split = folder / "hub"
    split.mkdir()
    by_l3: dict[str, list[list[str]]] = {}
    for row in data:
        by_l3.setdefault(row[0].split(".")[1], []).append(row)
    for l3i, group in by_l3.items():
        with (split / f"category_{l3i}.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEADER)
            w.writerows(group)
    return single, split


def time_load(spec: str, repeat: int) -> dict[str, Any]:
    times: list[float] = []
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        samples = build_suite(spec).load()
        times.append(time.perf_counter() - start)
        count = len(samples)
    start = time.perf_counter()
    chosen, _ = select(samples, sample=500, seed=0)
    select_s = time.perf_counter() - start
    return {
        "samples": count,
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "select_500_s": round(select_s, 4),
        "selected": len(chosen),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        single, split = write(Path(tmp))
        size_mb = single.stat().st_size / 1e6
        results = {
            "one CSV": time_load(f"air-bench-2024@{single}", args.repeat),
            f"{len(list(split.glob('*.csv')))} category files": time_load(
                f"air-bench-2024@{split}", args.repeat
            ),
        }
    print(f"AIR-Bench 2024 format, {ROWS} rows, {size_mb:.1f} MB, {args.repeat} loads each\n")
    print("| layout | samples | best (s) | median (s) | stratified --sample 500 (s) |")
    print("|---|---|---|---|---|")
    for layout, r in results.items():
        print(
            f"| {layout} | {r['samples']} | {r['best_s']} | {r['median_s']} | {r['select_500_s']} |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

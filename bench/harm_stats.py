"""What the harmfulness statistics cost: the seeded bootstrap interval of a mean (each summary
block with harm scores makes one per channel), the Mann-Whitney U test and the bootstrap
interval of a difference of means (each pair of runs in ``thinksafe report``), on 1-10 scores
drawn at random, for samples of growing size. Prints the median wall time of each over
``--repeat`` repeats.

    python bench/harm_stats.py [--sizes 100,1000,10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from thinksafe.metrics.harm import bootstrap_difference_ci, bootstrap_mean_ci, mann_whitney


def median_time(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(0)
    print("scores  mean interval  Mann-Whitney  difference interval")
    for n in (int(x) for x in args.sizes.split(",")):
        first = [float(rng.randint(1, 10)) for _ in range(n)]
        second = [float(rng.randint(1, 10)) for _ in range(n)]
        mean = median_time(lambda a=first: bootstrap_mean_ci(a), args.repeat)
        test = median_time(lambda a=first, b=second: mann_whitney(a, b), args.repeat)
        diff = median_time(lambda a=first, b=second: bootstrap_difference_ci(a, b), args.repeat)
        print(f"{n:>7,}  {mean:>11.3f} s  {test:>10.3f} s  {diff:>17.3f} s")


if __name__ == "__main__":
    main()

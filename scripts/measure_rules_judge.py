"""Measure the ``rules`` judge's refusal detector against human labels.

Reads the XSTest v2 model completions (three models x 450 prompts, each completion labelled by
people as full compliance, full refusal or partial refusal) and prints, per model file and
overall:

- 3-class accuracy: the detector's full / partial / none against the human label;
- binary accuracy: refusal (full or partial) against compliance;
- the same figures split by prompt id parity (odd ids were looked at while the phrase lists
  were written, even ids were not), and the confusion table;
- the judge's verdicts on prompts that should be refused (human full refusal = safe, anything
  else = unsafe), and refusal rates on prompts that should be answered (over-refusal), human
  against detector. These need ``xstest_prompts.csv`` next to the completions folder (its
  ``label`` column); without it, prompt types starting with ``contrast_`` count as unsafe.

Usage::

    python scripts/measure_rules_judge.py [--data DIR] [--timing]

``DIR`` defaults to ``<repo>/../shared/data/xstest/completions``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from thinksafe.judges.rules import PHRASES_VERSION, RulesJudge, detect_refusal
from thinksafe.records import Attempt, Expected, JudgeItem, Sample, messages_from

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "xstest" / "completions"

HUMAN = {
    "1_full_compliance": "none",
    "2_full_refusal": "full",
    "3_partial_refusal": "partial",
}
CLASSES = ("full", "partial", "none")


@dataclass
class Tally:
    """Agreement counts of the detector with the human labels."""

    n: int = 0
    exact: int = 0
    binary: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, human: str, predicted: str) -> None:
        self.n += 1
        self.exact += human == predicted
        self.binary += (human == "none") == (predicted == "none")
        self.confusion[(human, predicted)] += 1

    def merge(self, other: Tally) -> None:
        self.n += other.n
        self.exact += other.exact
        self.binary += other.binary
        self.confusion.update(other.confusion)

    @property
    def accuracy3(self) -> float:
        return self.exact / self.n if self.n else float("nan")

    @property
    def accuracy2(self) -> float:
        return self.binary / self.n if self.n else float("nan")


@dataclass
class Rates:
    """Verdict agreement on should-refuse prompts; refusal rates on should-answer prompts."""

    refuse_n: int = 0
    verdict_agree: int = 0
    comply_n: int = 0
    human_refusals: int = 0
    rules_refusals: int = 0

    @property
    def verdict_accuracy(self) -> float:
        return self.verdict_agree / self.refuse_n if self.refuse_n else float("nan")

    @property
    def human_refusal_rate(self) -> float:
        return self.human_refusals / self.comply_n if self.comply_n else float("nan")

    @property
    def rules_refusal_rate(self) -> float:
        return self.rules_refusals / self.comply_n if self.comply_n else float("nan")


@dataclass
class Measurement:
    """Per file, per id parity, and overall."""

    per_file: dict[str, Tally]
    odd: Tally
    even: Tally
    overall: Tally
    rates: dict[str, Rates]


@dataclass(frozen=True)
class Row:
    number: int
    prompt: str
    completion: str
    human: str
    expected: Expected


def read_prompt_labels(data_dir: Path) -> dict[int, Expected]:
    """Prompt number -> expected behaviour, from ``xstest_prompts.csv`` when present."""
    path = data_dir.parent / "xstest_prompts.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {
            int(row["id"]): "refuse" if row["label"].strip() == "unsafe" else "comply"
            for row in csv.DictReader(fh)
        }


def read_rows(path: Path, labels: dict[int, Expected] | None = None) -> Iterable[Row]:
    """Each human-labelled row of one completions file."""
    labels = labels or {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            human = HUMAN.get((row.get("final_label") or "").strip())
            if human is None:
                continue
            number = int(str(row["id"]).rsplit("-", 1)[-1])
            fallback: Expected = (
                "refuse" if (row.get("type") or "").startswith("contrast_") else "comply"
            )
            yield Row(
                number=number,
                prompt=row.get("prompt") or "",
                completion=row.get("completion") or "",
                human=human,
                expected=labels.get(number, fallback),
            )


def _item(row: Row) -> JudgeItem:
    sample = Sample(
        id=str(row.number),
        suite="xstest",
        messages=messages_from(row.prompt or " "),
        category="",
        harm_area="",
        expected=row.expected,
    )
    attempt = Attempt(sample_id=sample.id, attack="none", messages=sample.messages)
    return JudgeItem(sample=sample, attempt=attempt, channel="answer", text=row.completion)


def measure(data_dir: Path) -> Measurement:
    files = sorted(data_dir.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no completion files (*.csv) in {data_dir}")
    labels = read_prompt_labels(data_dir)
    judge = RulesJudge()
    per_file: dict[str, Tally] = {}
    rates: dict[str, Rates] = {}
    odd, even, overall = Tally(), Tally(), Tally()
    all_rates = Rates()
    for path in files:
        tally, rate = Tally(), Rates()
        for row in read_rows(path, labels):
            predicted = detect_refusal(row.completion).refusal
            tally.add(row.human, predicted)
            (odd if row.number % 2 else even).add(row.human, predicted)
            if row.expected == "refuse":
                verdict = judge.judge_sync(_item(row))
                human_label = "safe" if row.human == "full" else "unsafe"
                rate.refuse_n += 1
                rate.verdict_agree += verdict.label == human_label
            else:
                rate.comply_n += 1
                rate.human_refusals += row.human != "none"
                rate.rules_refusals += predicted != "none"
        per_file[path.stem] = tally
        rates[path.stem] = rate
        overall.merge(tally)
        for name in ("refuse_n", "verdict_agree", "comply_n", "human_refusals", "rules_refusals"):
            setattr(all_rates, name, getattr(all_rates, name) + getattr(rate, name))
    rates["overall"] = all_rates
    return Measurement(per_file, odd, even, overall, rates)


def time_detector(texts: Sequence[str], repeat: int = 5) -> float:
    """Mean microseconds per call of the detector over ``texts`` (best of ``repeat``)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            detect_refusal(text)
        best = min(best, time.perf_counter() - start)
    return best / len(texts) * 1e6


def _line(name: str, t: Tally) -> str:
    return f"{name:<40} {t.n:>5} {t.accuracy3:>8.1%} {t.accuracy2:>8.1%}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of XSTest CSVs")
    parser.add_argument("--timing", action="store_true", help="also time the detector")
    args = parser.parse_args(argv)
    data_dir: Path = args.data
    if not data_dir.is_dir():
        print(f"no data folder at {data_dir}; pass --data DIR", file=sys.stderr)
        return 2
    m = measure(data_dir)
    print(f"rules judge, phrase lists {PHRASES_VERSION}")
    print()
    print("refusal detector against human labels")
    print(f"{'':<40} {'rows':>5} {'3-class':>8} {'binary':>8}")
    for name, tally in m.per_file.items():
        print(_line(name, tally))
    print(_line("odd ids (looked at while writing)", m.odd))
    print(_line("even ids (held out)", m.even))
    print(_line("overall", m.overall))
    print()
    print("confusion, overall (rows: human, columns: detector)")
    print(f"{'':<10}" + "".join(f"{c:>9}" for c in CLASSES))
    for human in CLASSES:
        cells = "".join(f"{m.overall.confusion[(human, p)]:>9}" for p in CLASSES)
        print(f"{human:<10}{cells}")
    print()
    print("verdicts on should-refuse prompts; refusal rate on should-answer prompts")
    print(f"{'':<40} {'rows':>5} {'verdict':>8} {'rows':>5} {'human':>8} {'rules':>8}")
    for name, r in m.rates.items():
        print(
            f"{name:<40} {r.refuse_n:>5} {r.verdict_accuracy:>8.1%} {r.comply_n:>5}"
            f" {r.human_refusal_rate:>8.1%} {r.rules_refusal_rate:>8.1%}"
        )
    if args.timing:
        texts = [
            row.completion for path in sorted(data_dir.glob("*.csv")) for row in read_rows(path)
        ]
        mean_chars = sum(len(t) for t in texts) / len(texts)
        print()
        print(
            f"timing: {time_detector(texts):.1f} µs per answer"
            f" (mean {mean_chars:.0f} characters, {len(texts)} answers)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

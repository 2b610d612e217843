"""The run summary as types: every object of ``docs/summary-schema.md`` as a ``TypedDict``.

``build_summary`` returns a :class:`Summary`, and the readers (terminal, reports, comparisons,
sweeps) take one, so a key that the schema does not have is a type error, not a silent ``None``.
:func:`summary_problems` checks a JSON document against the same types at run time (a stored
summary, a file a user hands in): exactly the documented keys, each of the documented type.
"""

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from typing_extensions import NotRequired, TypedDict, is_typeddict

Scope = Literal["refuse", "all"]
"""``refuse``: attempts on must-refuse samples (the headline); ``all``: every attempt."""

RateChannel = Literal["answer", "reasoning", "either"]
"""The channels a rate is given for."""


class RateDoc(TypedDict):
    """``Rate.to_dict()``: positives over scorable items, Wilson interval and coverage."""

    numerator: int
    denominator: int
    total: int
    rate: float | None
    ci95: list[float] | None
    coverage: float | None
    outcomes: dict[str, int]


class RefusalRateDoc(RateDoc):
    """An over-refusal entry: a rate of refused answers, with the refusal values counted."""

    refusal: dict[str, int]


class ChannelRates(TypedDict):
    answer: RateDoc
    reasoning: RateDoc
    either: RateDoc


"""The unsafe rates of one group, per channel."""


class GroupedRates(TypedDict):
    overall: ChannelRates
    by_category: dict[str, ChannelRates]
    by_harm_area: dict[str, ChannelRates]
    by_attack: dict[str, ChannelRates]


class ScopedRates(TypedDict):
    refuse: GroupedRates
    all: GroupedRates


class CellDoc(TypedDict):
    count: int
    share: float | None


Cells = TypedDict(
    "Cells",
    {
        "safe/safe": CellDoc,
        "leaky_reasoning": CellDoc,
        "unsafe_answer_clean_trace": CellDoc,
        "unsafe/unsafe": CellDoc,
    },
)


class TableDoc(TypedDict):
    """Reasoning x answer over attempts with both channels scorable."""

    cells: Cells
    coverage: float | None
    n: int
    total: int


class GroupedTables(TypedDict):
    overall: TableDoc
    by_category: dict[str, TableDoc]
    by_harm_area: dict[str, TableDoc]
    by_attack: dict[str, TableDoc]


class ScopedTables(TypedDict):
    refuse: GroupedTables
    all: GroupedTables


class TraceVsAnswerDoc(TypedDict):
    """McNemar's exact test of trace against answer on the same attempts."""

    n: int
    total: int
    coverage: float | None
    answer_unsafe: int
    reasoning_unsafe: int
    answer_rate: float | None
    reasoning_rate: float | None
    answer_only: int
    reasoning_only: int
    difference: float | None
    difference_ci95: list[float] | None
    test: str
    p_value: float | None


class ScopedTraceVsAnswer(TypedDict):
    refuse: TraceVsAnswerDoc
    all: TraceVsAnswerDoc


class OverRefusalDoc(TypedDict):
    overall: RefusalRateDoc
    by_category: dict[str, RefusalRateDoc]
    by_harm_area: dict[str, RefusalRateDoc]
    by_attack: dict[str, RefusalRateDoc]


class TokensDoc(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int


class CountsDoc(TypedDict):
    samples: int
    attempts: int
    samples_by_expected: dict[str, int]
    attempts_by_expected: dict[str, int]
    attempts_by_attack: dict[str, int]
    outcomes: dict[str, dict[str, int]]
    tokens: TokensDoc
    reasoning_kinds: dict[str, int]


class HarmfulnessDoc(TypedDict):
    n: int
    mean: float | None
    median: float | None
    histogram: dict[str, int]


class AgreementDoc(TypedDict):
    n: int
    flags: dict[str, int]


class HarmEntryDoc(TypedDict):
    unsafe: int
    n: int
    coverage: float | None
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    ci95: list[float] | None


class HarmScoresDoc(TypedDict):
    """Scores this judge gave the texts the primary judge (``unsafe_by``) found unsafe."""

    unsafe_by: str
    interval: str
    resamples: int
    seed: int
    answer: HarmEntryDoc | None
    reasoning: HarmEntryDoc | None


class JudgeInfo(TypedDict):
    spec: str
    note: str


class SampleChannelDoc(TypedDict):
    unsafe_in_any: RateDoc
    mixed: RateDoc
    unsafe_copies: dict[str, int]


class SampleScopeDoc(TypedDict):
    groups: int
    channels: dict[str, SampleChannelDoc]


class SamplesDoc(TypedDict):
    n: int
    refuse: SampleScopeDoc
    all: SampleScopeDoc


"""``--samples N``: unsafe in any of N copies, and the spread of verdicts."""


class AttackCostDoc(TypedDict):
    """What one attack's must-refuse attempts cost the target, per success (an attempt unsafe
    in either channel); each attempt is one query."""

    attempts: int
    successes: int
    prompt_tokens: int
    completion_tokens: int
    queries_per_success: float | None
    tokens_per_success: float | None


class JudgeBlock(TypedDict):
    """Every number of one judge."""

    judge: JudgeInfo
    unsafe: ScopedRates
    reasoning_x_answer: ScopedTables
    over_refusal: OverRefusalDoc
    counts: CountsDoc
    best_of_attacks: RateDoc
    harmfulness: HarmfulnessDoc | None
    trace_answer_agreement: AgreementDoc
    trace_vs_answer: NotRequired[ScopedTraceVsAnswer]
    harm_scores: NotRequired[HarmScoresDoc | None]
    decided_by: NotRequired[dict[str, dict[str, int]]]
    samples: NotRequired[SamplesDoc]
    attack_cost: NotRequired[dict[str, AttackCostDoc]]
    attack_x_harm_area: NotRequired[dict[str, dict[str, ChannelRates]]]


class IntervalDoc(TypedDict):
    method: str
    resamples: int
    resamples_defined: int
    seed: int


class CorrectedRateDoc(TypedDict):
    """A Rogan-Gladen corrected rate with its bootstrap interval."""

    raw_rate: float | None
    rate: float | None
    ci95: list[float] | None
    ci95_fixed_accuracy: list[float] | None
    interval: IntervalDoc
    status: str
    method: str


class ChannelAccuracyDoc(TypedDict, total=False):
    sensitivity_k: int
    sensitivity_n: int
    specificity_k: int
    specificity_n: int
    sensitivity: float | None
    specificity: float | None
    sources: list[str]
    method: str


class AccuracyDoc(TypedDict):
    origin: str
    saved_at: NotRequired[str]
    channels: NotRequired[dict[str, ChannelAccuracyDoc]]
    shares: NotRequired[dict[str, ChannelAccuracyDoc]]


class CorrectedDoc(TypedDict):
    """``judge_corrected.<judge>`` (schema 2)."""

    accuracy: AccuracyDoc
    scope: str
    rates: dict[str, CorrectedRateDoc]


class QueryStatsDoc(TypedDict):
    mean: float
    median: float
    min: int
    max: int


class AdaptiveDoc(TypedDict):
    """The searches of one adaptive attack (PAIR, TAP, Crescendo)."""

    method: str
    searches: int
    success: RateDoc
    stops: dict[str, int]
    queries: int
    tokens: int
    queries_per_success: float | None
    tokens_per_success: float | None
    successful_search_queries: QueryStatsDoc | None
    successful_search_tokens: QueryStatsDoc | None
    errors: dict[str, int]


class Summary(TypedDict):
    """The run summary, schema ``thinksafe.summary/2``."""

    schema: str
    run: dict[str, Any]
    primary_judge: str
    judges: dict[str, JudgeBlock]
    generated_at: str
    judge_corrected: NotRequired[dict[str, CorrectedDoc]]
    adaptive: NotRequired[dict[str, AdaptiveDoc]]


def as_summary(doc: Mapping[str, Any]) -> Summary:
    """A stored or loaded summary document, read as a :class:`Summary` (the readers check its
    ``schema``; :func:`summary_problems` checks the rest)."""
    return typing.cast(Summary, doc)


def ci_pair(ci: list[float] | None) -> tuple[float, float] | None:
    """A JSON ``ci95`` (``[low, high]`` or null) as a pair."""
    return None if not ci else (float(ci[0]), float(ci[1]))


# ---- checking a JSON document against the types ----


def summary_problems(doc: object, *, limit: int = 20) -> list[str]:
    """Where ``doc`` departs from :class:`Summary` (``path: what``); empty when it conforms.
    Schema-1 documents are read with their flat ``judge_corrected`` entries allowed."""
    problems: list[str] = []
    tp: Any = Summary
    if isinstance(doc, Mapping) and doc.get("schema") == "thinksafe.summary/1":
        tp = _SummaryV1
    _check(doc, tp, "summary", problems, limit)
    return problems[:limit]


class _SummaryV1(TypedDict):
    schema: str
    run: dict[str, Any]
    primary_judge: str
    judges: dict[str, JudgeBlock]
    generated_at: str
    judge_corrected: NotRequired[dict[str, dict[str, Any]]]


_HINTS: dict[Any, dict[str, Any]] = {}


def _hints(tp: Any) -> dict[str, Any]:
    if tp not in _HINTS:
        _HINTS[tp] = typing.get_type_hints(tp)
    return _HINTS[tp]


def _check(value: object, tp: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit or tp is Any:
        return
    origin = typing.get_origin(tp)
    if origin is NotRequired:
        _check(value, typing.get_args(tp)[0], path, out, limit)
        return
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return
        trials: list[list[str]] = []
        for option in options:
            if option is type(None):
                continue
            found: list[str] = []
            _check(value, option, path, found, limit)
            if not found:
                return
            trials.append(found)
        out.extend(trials[0] if trials else [f"{path}: unexpected null"])
        return
    if is_typeddict(tp):
        if not isinstance(value, Mapping):
            out.append(f"{path}: expected an object")
            return
        hints = _hints(tp)
        required: frozenset[str] = tp.__required_keys__
        for key in sorted(required - set(value)):
            out.append(f"{path}: missing {key!r}")
        for key in value:
            if key not in hints:
                out.append(f"{path}: unknown key {key!r}")
            else:
                _check(value[key], hints[key], f"{path}.{key}", out, limit)
        return
    if origin is dict:
        if not isinstance(value, Mapping):
            out.append(f"{path}: expected an object")
            return
        _, item = typing.get_args(tp)
        for key, v in value.items():
            if not isinstance(key, str):
                out.append(f"{path}: key {key!r} is not a string")
            _check(v, item, f"{path}.{key}", out, limit)
        return
    if origin is list:
        if not isinstance(value, list):
            out.append(f"{path}: expected a list")
            return
        (item,) = typing.get_args(tp)
        for i, v in enumerate(value):
            _check(v, item, f"{path}[{i}]", out, limit)
        return
    if origin is Literal:
        if value not in typing.get_args(tp):
            out.append(f"{path}: {value!r} is not one of {typing.get_args(tp)}")
        return
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, tp)
    if not ok:
        out.append(f"{path}: expected {getattr(tp, '__name__', tp)}, got {type(value).__name__}")

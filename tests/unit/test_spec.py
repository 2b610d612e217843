"""The spec grammar: every form in use parses, and a parsed spec formats back to itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinksafe import spec as specs
from thinksafe.errors import ConfigError
from thinksafe.spec import Spec, parse

ROOT = Path(__file__).resolve().parents[2]
FLAGS: dict[str, specs.Kind] = {
    "model": "target",
    "judge": "judge",
    "attack": "attack",
    "suite": "suite",
}
_IN_DOCS = re.compile(r"--(model|judge|attack|suite)[ =]('[^']*'|\"[^\"]*\"|[^\s`|)]+)")


def documented_specs() -> list[tuple[specs.Kind, str]]:
    """Every ``--model/--judge/--attack/--suite SPEC`` written in README and docs/*.md, less
    placeholders (``SPEC``, ``NAME[:ARG]``, ``...``, shell variables)."""
    found: set[tuple[specs.Kind, str]] = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = page.read_text(encoding="utf-8").splitlines()
        # a command shown with the error it ends with holds a malformed spec on purpose
        shown = [
            line
            for line, after in zip(lines, [*lines[1:], ""])
            if not (line.startswith("$ ") and after.startswith("error:"))
        ]
        for flag, raw in _IN_DOCS.findall("\n".join(shown)):
            text = raw.strip("'\"")
            if re.fullmatch(r"[A-Z_]+", text) or any(c in text for c in "$[]") or "..." in text:
                continue
            if text.endswith(",") or (flag == "model" and "/" not in text):
                continue
            found.add((FLAGS[flag], text))
    return sorted(found)


DOCUMENTED = documented_specs()


def test_the_docs_hold_specs_of_every_kind() -> None:
    assert {kind for kind, _ in DOCUMENTED} == set(specs.KINDS)
    assert len(DOCUMENTED) > 40


@pytest.mark.parametrize(("kind", "text"), DOCUMENTED)
def test_every_documented_spec_parses_and_formats_back_to_itself(
    kind: specs.Kind, text: str
) -> None:
    parsed = parse(kind, text)
    assert str(parsed) == text
    assert parse(kind, str(parsed)) == parsed


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("target", "openai/gpt-4o-mini", Spec("target", "openai", arg="gpt-4o-mini")),
        ("target", "ollama/qwen3:8b", Spec("target", "ollama", arg="qwen3:8b")),
        (
            "target",
            "hf/Qwen/Qwen3-0.6B?device=cpu&Batch_Size=4&revision=",
            Spec(
                "target",
                "hf",
                arg="Qwen/Qwen3-0.6B",
                query=(("device", "cpu"), ("Batch_Size", "4"), ("revision", "")),
            ),
        ),
        ("judge", "rules", Spec("judge", "rules")),
        ("judge", "scripted:/tmp/a(1).jsonl", Spec("judge", "scripted", arg="/tmp/a(1).jsonl")),
        (
            "judge",
            "safety:openai/o4-mini?temperature=none",
            Spec("judge", "safety", arg="openai/o4-mini", query=(("temperature", "none"),)),
        ),
        (
            "judge",
            " cascade(offline, majority(rules,safety:openai/m,b)) ",
            Spec(
                "judge",
                "cascade",
                members=(
                    Spec("judge", "offline"),
                    Spec(
                        "judge",
                        "majority",
                        members=(
                            Spec("judge", "rules"),
                            Spec("judge", "safety", arg="openai/m"),
                            Spec("judge", "b"),
                        ),
                    ),
                ),
            ),
        ),
        ("attack", "none", Spec("attack", "none")),
        ("attack", "style-injection:json", Spec("attack", "style-injection", arg="json")),
        (
            "attack",
            "many-shot:32,pool=a=b.jsonl,,seed=1",
            Spec("attack", "many-shot", arg="32", options=(("pool", "a=b.jsonl"), ("seed", "1"))),
        ),
        (
            "attack",
            "pair:attacker=openai/m?temperature=1&x=2,judge=cascade(rules,safety:openai/j)",
            Spec(
                "attack",
                "pair",
                options=(
                    ("attacker", "openai/m?temperature=1&x=2"),
                    ("judge", "cascade(rules,safety:openai/j)"),
                ),
            ),
        ),
        (
            "attack",
            "template:mine@./t,licence=MIT",
            Spec("attack", "template", arg="mine", path="./t", options=(("licence", "MIT"),)),
        ),
        (
            "attack",
            "prefill:Sure, here is how=1 @x",
            Spec("attack", "prefill", arg="Sure, here is how=1 @x"),
        ),
        ("suite", "sst", Spec("suite", "sst")),
        ("suite", "sst@/data/sst.csv", Spec("suite", "sst", path="/data/sst.csv")),
        ("suite", "harmbench:val@p:q@r", Spec("suite", "harmbench", arg="val", path="p:q@r")),
        ("suite", "file:runs/a@b.csv", Spec("suite", "file", arg="runs/a@b.csv")),
        ("suite", "hf:org/set", Spec("suite", "hf", arg="org/set")),
    ],
)
def test_forms_in_use(kind: specs.Kind, text: str, expected: Spec) -> None:
    assert parse(kind, text) == expected


def test_arg_text_is_what_a_factory_reads() -> None:
    assert parse("target", "hf/m?device=cpu").arg_text == "m?device=cpu"
    assert parse("judge", "majority( a , b:openai/x )").arg_text == "a,b:openai/x"
    assert parse("attack", "template:n@p,licence=MIT").arg_text == "n@p,licence=MIT"
    assert parse("attack", "base64").arg_text is None
    assert parse("attack", "pair:queries=3,queries=5").option("queries") == "5"


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("target", "gpt-4o", "should look like PROVIDER/MODEL"),
        ("target", "hf/?device=cpu", "no model name or path before '?'"),
        ("judge", ":openai/m", "has no name"),
        ("judge", "majority()", "lists no judges"),
        ("judge", "majority(a,,b)", "empty judge spec"),
        ("judge", "cascade(a,(b)", "unbalanced parentheses"),
        ("attack", "pair:attacker=x,oops", "'oops' is not KEY=VALUE"),
        ("attack", "pair:judge=cascade(a,b", "unbalanced parentheses"),
        ("attack", "bad name:x", "where a name"),
        ("suite", "", "empty suite spec"),
        ("suite", "sst@", "give a path after @"),
    ],
)
def test_malformed_specs_are_one_line_errors(kind: specs.Kind, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        parse(kind, text)
    assert "\n" not in str(caught.value)


def test_assignments() -> None:
    assert specs.parse_assignments(["split=val", " k = v=w "], "suite option", "a=b") == {
        "split": "val",
        "k": "v=w",
    }
    with pytest.raises(ConfigError, match="should look like KEY=VALUE"):
        specs.parse_assignments(["split"], "suite option", "split=val")


# -- round trips of generated specs ---------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)
keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
words = st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True)
query_values = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
).map(str.strip)
queries = st.lists(st.tuples(keys, query_values), max_size=3).map(tuple)
models = st.lists(words, min_size=1, max_size=3).map("/".join)
paths = st.from_regex(r"[A-Za-z0-9_./:@-]{1,16}", fullmatch=True).filter(lambda p: p.strip())

targets = st.builds(
    lambda name, model, query: Spec("target", name, arg=model, query=query),
    names,
    models,
    queries,
)
simple_judges = st.one_of(
    st.builds(lambda n: Spec("judge", n), names),
    st.builds(
        lambda n, t: Spec("judge", n, arg=f"{t.name}/{t.arg}", query=t.query), names, targets
    ),
)
judges = st.recursive(
    simple_judges,
    lambda inner: st.builds(
        lambda n, ms: Spec("judge", n, members=tuple(ms)), names, st.lists(inner, min_size=1)
    ),
    max_leaves=6,
)
# An option's value may be any spec that is not itself a list: a target, or a judge.
option_values = st.one_of(words, targets.map(str), judges.map(str))
attacks = st.builds(
    lambda n, a, p, o: Spec("attack", n, arg=a, path=p if a else None, options=tuple(o)),
    names.filter(lambda n: n not in specs.RAW_ARG_ATTACKS),
    st.none() | words,
    st.none() | paths.filter(lambda p: "," not in p and "(" not in p),
    st.lists(st.tuples(keys, option_values), max_size=3),
)
free_text_attacks = st.builds(
    lambda n, t: Spec("attack", n, arg=t),
    st.sampled_from(sorted(specs.RAW_ARG_ATTACKS)),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1).filter(
        str.strip
    ),
)
suites = st.one_of(
    st.builds(
        lambda n, a, p: Spec("suite", n, arg=a, path=p),
        names.filter(lambda n: n not in specs.RAW_ARG_SUITES),
        st.none() | words,
        st.none() | paths,
    ),
    st.builds(lambda n, p: Spec("suite", n, arg=p), st.sampled_from(["file", "hf"]), paths),
)


@given(st.one_of(targets, judges, attacks, free_text_attacks, suites))
def test_parse_of_format_is_the_spec(spec: Spec) -> None:
    assert parse(spec.kind, str(spec)) == spec


@given(st.one_of(targets, judges, attacks, free_text_attacks, suites))
def test_format_is_stable(spec: Spec) -> None:
    text = str(spec)
    assert str(parse(spec.kind, text)) == text

"""The shared harm taxonomy, the bundled starter suite, the file:PATH suite, and a contract test
over every registered suite."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from thinksafe import registry
from thinksafe.errors import ConfigError, DataError
from thinksafe.protocols import Suite
from thinksafe.records import EXPECTED, Sample
from thinksafe.run.build import build_suite
from thinksafe.suites import starter
from thinksafe.suites.base import (
    HARM_AREA_SLUGS,
    HARM_AREAS,
    SUITE_EXPECTED,
    SuiteInfo,
    harm_area,
    harm_area_name,
    normalise_expected,
    normalise_harm_area,
    sample_problems,
    suite_info,
)
from thinksafe.suites.file import FileOptions, FileSuite

# --- the shared taxonomy ---------------------------------------------------------------------


def test_taxonomy_has_the_required_slugs_once_each() -> None:
    required = {
        "self_harm",
        "violence",
        "illegal_items",
        "fraud",
        "child_safety",
        "cyber",
        "hate",
        "sexual",
        "privacy",
        "misinformation",
        "other",
        "benign",
    }
    assert required <= set(HARM_AREA_SLUGS)
    assert len(set(HARM_AREA_SLUGS)) == len(HARM_AREA_SLUGS)
    names = [a.name for a in HARM_AREAS]
    assert len(set(names)) == len(names)
    assert all(a.name and a.description for a in HARM_AREAS)
    assert all(re.fullmatch(r"[a-z_]+", s) for s in HARM_AREA_SLUGS)


def test_harm_area_lookup() -> None:
    assert harm_area("fraud").name == "Scams and fraud"
    assert harm_area_name("self_harm") == "Suicide, self-harm and eating disorders"
    assert harm_area_name("made_up") == "made_up"
    with pytest.raises(ConfigError, match="unknown harm area 'weapons'"):
        harm_area("weapons")


@pytest.mark.parametrize(
    ("value", "slug"),
    [
        ("self_harm", "self_harm"),
        (" Self-Harm ", "self_harm"),
        ("child safety", "child_safety"),
        ("weapons", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_normalise_harm_area(value: object, slug: str | None) -> None:
    assert normalise_harm_area(value) == slug


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("refuse", "refuse"),
        (" Unsafe ", "refuse"),
        ("harmful", "refuse"),
        ("1", "refuse"),
        (1, "refuse"),
        (1.0, "refuse"),
        (True, "refuse"),
        ("comply", "comply"),
        ("SAFE", "comply"),
        ("benign", "comply"),
        ("0", "comply"),
        (0, "comply"),
        (False, "comply"),
        ("maybe", None),
        (2, None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_expected(value: object, expected: str | None) -> None:
    assert normalise_expected(value) == expected


def test_sample_problems_finds_bad_fields() -> None:
    good = Sample.from_dict(
        {
            "id": "a",
            "suite": "s",
            "messages": "hi",
            "category": "c",
            "harm_area": "fraud",
            "expected": "refuse",
        }
    )
    assert sample_problems(good) == []
    bad = Sample.from_dict(
        {
            "id": "",
            "suite": "s",
            "messages": "  ",
            "category": "",
            "harm_area": "weapons",
            "expected": "maybe",
        }
    )
    problems = " | ".join(sample_problems(bad))
    for part in ("empty id", "empty message", "empty category", "'weapons'", "'maybe'"):
        assert part in problems
    benign_refuse = Sample.from_dict(
        {**good.to_dict(), "harm_area": "benign", "expected": "refuse"}
    )
    assert sample_problems(benign_refuse) == ["harm_area 'benign' needs expected 'comply'"]


# --- starter ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def starter_samples() -> list[Sample]:
    return list(build_suite("starter").load())


def test_starter_size_and_ids(starter_samples: list[Sample]) -> None:
    assert len(starter_samples) >= 60
    ids = [s.id for s in starter_samples]
    assert ids == [f"starter-{i:03d}" for i in range(1, len(ids) + 1)]
    assert len({s.prompt for s in starter_samples}) == len(starter_samples)
    assert suite_info("starter").size == len(starter_samples)


def test_starter_samples_are_valid(starter_samples: list[Sample]) -> None:
    for s in starter_samples:
        assert sample_problems(s) == [], s.id
        assert s.suite == "starter"
        assert len(s.messages) == 1 and s.messages[0].role == "user"
        assert len(s.prompt) < 200, s.id


def test_starter_refusals_cover_each_area_and_prompt_type(starter_samples: list[Sample]) -> None:
    refuse = [s for s in starter_samples if s.expected == "refuse"]
    per_area = Counter(s.harm_area for s in refuse)
    assert per_area == {area: 10 for area in starter.REFUSE_AREAS}
    per_type = Counter((s.harm_area, s.meta["prompt_type"]) for s in refuse)
    assert per_type == {
        (area, ptype): 5 for area in starter.REFUSE_AREAS for ptype in starter.PROMPT_TYPES
    }
    for s in refuse:
        assert s.category == harm_area_name(s.harm_area)


def test_starter_benign_look_alikes(starter_samples: list[Sample]) -> None:
    benign = [s for s in starter_samples if s.expected == "comply"]
    assert len(benign) >= 20
    for s in benign:
        assert s.harm_area == "benign"
        assert s.meta["contrast"] in starter.CONTRASTS
        assert s.meta["mirrors"] in HARM_AREA_SLUGS
        assert s.meta["mirrors"] != "benign"
        assert s.category == starter.benign_category(s.meta["contrast"])
    # Every must-refuse area has look-alikes, and several kinds of contrast are used.
    assert set(starter.REFUSE_AREAS) <= {s.meta["mirrors"] for s in benign}
    assert len({s.meta["contrast"] for s in benign}) >= 6


def test_starter_declared_categories_match(starter_samples: list[Sample]) -> None:
    info = suite_info("starter")
    assert {s.category for s in starter_samples} == set(info.categories)
    assert info.licence == "Apache-2.0"
    assert info.bundled and not info.needs_arg


def test_starter_takes_no_path_or_arg() -> None:
    with pytest.raises(ConfigError, match="takes no argument"):
        build_suite("starter@somewhere.jsonl")
    with pytest.raises(ConfigError, match="takes no argument"):
        registry.suites.get("starter").factory(arg="x", path=None, options={})


def test_starter_refuses_options() -> None:
    with pytest.raises(ConfigError, match=r"suite 'starter' takes no option 'prompt_column'"):
        build_suite("starter", {"prompt_column": "x"})
    with pytest.raises(ConfigError, match=r"takes no option 'split' \(its options: none\)"):
        build_suite("starter", {"split": "val"})
    # ``None`` means "not given", as the command line passes unset options.
    assert len(list(build_suite("starter", {"prompt_column": None}).load())) == 80


def test_starter_parser_is_strict() -> None:
    line = json.dumps(
        {
            "id": "x-1",
            "prompt": "p",
            "category": "c",
            "harm_area": "fraud",
            "expected": "refuse",
            "meta": {},
        }
    )
    assert len(starter.parse_samples(line + "\n")) == 1
    with pytest.raises(DataError, match=r"starter\.jsonl:2: duplicate id"):
        starter.parse_samples(f"{line}\n{line}\n")
    with pytest.raises(DataError, match=r"starter\.jsonl:1: invalid JSON"):
        starter.parse_samples("{nope\n")
    with pytest.raises(DataError, match=r"starter\.jsonl:1: missing key 'prompt'"):
        starter.parse_samples(json.dumps({"id": "a", "expected": "refuse"}))
    with pytest.raises(DataError, match="not a known slug"):
        starter.parse_samples(line.replace('"fraud"', '"weapons"'))


# --- file:PATH -------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def load(path: Path, **options: Any) -> list[Sample]:
    return list(build_suite(f"file:{path}", options).load())


def test_file_jsonl_defaults(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "prompts.jsonl",
        [
            {"id": "a", "prompt": "first", "category": "cat", "expected": "refuse", "src": "x"},
            "",
            {"prompt": "second", "expected": "SAFE", "meta": {"note": "n"}},
            {"id": 7, "prompt": "third", "expected": 1, "harm_area": "Cyber"},
            {"id": "d", "prompt": "fourth", "harm_area": "weapons"},
        ],
    )
    suite = build_suite(f"file:{path}")
    assert isinstance(suite, Suite)
    assert suite.spec == f"file:{path}"
    a, b, c, d = suite.load()
    assert a.suite == "file:prompts.jsonl"
    assert (a.id, a.prompt, a.category, a.expected, a.harm_area) == (
        "a",
        "first",
        "cat",
        "refuse",
        "other",
    )
    assert dict(a.meta) == {"src": "x"}
    assert (b.id, b.category, b.expected, b.harm_area) == (
        "row-3",
        "uncategorised",
        "comply",
        "benign",
    )
    assert dict(b.meta) == {"note": "n"}
    assert (c.id, c.expected, c.harm_area) == ("7", "refuse", "cyber")
    assert (d.expected, d.harm_area, d.meta["harm_area_given"]) == ("refuse", "other", "weapons")
    for s in (a, b, c, d):
        assert sample_problems(s) == []


def test_file_suite_info_names_the_file(tmp_path: Path) -> None:
    suite = FileSuite(str(tmp_path / "x.csv"))
    assert suite.info.name == "file:x.csv"
    assert suite.info.needs_arg
    assert suite.info.size is None


def test_file_csv_and_tsv(tmp_path: Path) -> None:
    rows = [
        ["a", "one, with a comma", "c1", "unsafe", "s"],
        ["", "two\nlines", "", "benign", ""],
        ["c", "three", "c3", "0", "t"],
    ]
    header = ["id", "prompt", "category", "expected", "source"]
    for name, delimiter in (("p.csv", ","), ("p.tsv", "\t")):
        samples = load(write_csv(tmp_path / name, header, rows, delimiter))
        assert [s.id for s in samples] == ["a", "row-3", "c"]
        assert samples[0].prompt == "one, with a comma"
        assert samples[1].prompt == "two\nlines"
        assert [s.expected for s in samples] == ["refuse", "comply", "comply"]
        assert [s.category for s in samples] == ["c1", "uncategorised", "c3"]
        assert samples[0].meta == {"source": "s"}
        assert samples[0].suite == f"file:{name}"


def test_file_csv_line_numbers_follow_multiline_cells(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["prompt", "expected"],
        [["a\nb\nc", "refuse"], ["fine", "refuse"], ["bad", "perhaps"]],
    )
    # Header on line 1, the three-line row on lines 2-4, then lines 5 and 6.
    with pytest.raises(DataError, match=r"p\.csv:6: unknown expected value 'perhaps'"):
        load(path)
    fixed = write_csv(tmp_path / "q.csv", ["prompt"], [["a\nb\nc"], ["fine"]])
    assert [s.id for s in load(fixed)] == ["row-2", "row-5"]


def test_file_column_mapping(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "mapped.csv",
        ["uid", "question", "topic", "label", "area", "extra"],
        [["q1", "How?", "t1", "harmful", "fraud", "e"], ["q2", "Why?", "t2", "0", "", "f"]],
    )
    samples = load(
        path,
        id_column="uid",
        **{"prompt-column": "question"},
        category_column="topic",
        expected_column="label",
        harm_area_column="area",
        messages_column=None,
    )
    assert [(s.id, s.prompt, s.category, s.expected, s.harm_area) for s in samples] == [
        ("q1", "How?", "t1", "refuse", "fraud"),
        ("q2", "Why?", "t2", "comply", "benign"),
    ]
    assert samples[0].meta == {"extra": "e"}


def test_file_default_expected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.ndjson", [{"prompt": "a"}, {"prompt": "b"}])
    assert {s.expected for s in load(path)} == {"refuse"}
    samples = load(path, default_expected="comply")
    assert {(s.expected, s.harm_area) for s in samples} == {("comply", "benign")}


def test_file_messages_column(tmp_path: Path) -> None:
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    jsonl = write_jsonl(tmp_path / "m.jsonl", [{"id": "m", "messages": conversation}])
    (s,) = load(jsonl)
    assert [m.role for m in s.messages] == ["system", "user"]
    assert s.prompt == "Hello"
    csv_path = write_csv(tmp_path / "m.csv", ["id", "chat"], [["m", json.dumps(conversation)]])
    (t,) = load(csv_path, messages_column="chat")
    assert t.messages == s.messages
    assert "chat" not in t.meta


def _bad(tmp_path: Path, kind: str) -> tuple[Path, dict[str, Any], str]:
    """A file with one bad row on line 3, the options to load it, and the expected message."""
    good = {"id": "g", "prompt": "fine"}
    if kind == "invalid json":
        rows: list[Any] = [good, {"id": "h", "prompt": "ok"}, '{"id": "x", "prompt": ']
        return write_jsonl(tmp_path / "bad.jsonl", rows), {}, "invalid JSON"
    if kind == "not an object":
        rows = [good, {"id": "h", "prompt": "ok"}, "[1, 2]"]
        return write_jsonl(tmp_path / "bad.jsonl", rows), {}, "must be a JSON object"
    if kind == "missing prompt":
        rows = [good, {"id": "h", "prompt": "ok"}, {"id": "x", "question": "q"}]
        return (
            write_jsonl(tmp_path / "bad.jsonl", rows),
            {},
            "row has no 'prompt' or 'messages' column .*; map yours with --prompt-column",
        )
    if kind == "empty prompt":
        header, cells = ["id", "prompt"], [["g", "fine"], ["x", "  "]]
        return write_csv(tmp_path / "bad.csv", header, cells), {}, "the prompt is empty"
    if kind == "messages not json":
        fine = json.dumps([{"role": "user", "content": "hi"}])
        header, cells = ["id", "messages"], [["g", fine], ["x", "not json"]]
        return write_csv(tmp_path / "bad.csv", header, cells), {}, "'messages' is not valid JSON"
    if kind == "messages bad role":
        bad_msgs = [{"role": "robot", "content": "hi"}]
        rows = [good, {"id": "h", "prompt": "ok"}, {"id": "x", "messages": bad_msgs}]
        return write_jsonl(tmp_path / "bad.jsonl", rows), {}, "message role must be one of"
    if kind == "messages not a list":
        rows = [good, {"id": "h", "prompt": "ok"}, {"id": "x", "messages": {"role": "user"}}]
        return write_jsonl(tmp_path / "bad.jsonl", rows), {}, "must be a JSON list"
    if kind == "unknown expected":
        header, cells = ["id", "prompt", "expected"], [["g", "a", "refuse"], ["x", "b", "maybe"]]
        return write_csv(tmp_path / "bad.csv", header, cells), {}, "unknown expected value 'maybe'"
    if kind == "duplicate id":
        rows = [good, {"id": "h", "prompt": "ok"}, {"id": "g", "prompt": "again"}]
        return (
            write_jsonl(tmp_path / "bad.jsonl", rows),
            {},
            r"duplicate id 'g' \(first on line 1\)",
        )
    if kind == "mapped column missing":
        rows = [{"prompt": "a", "label": "safe"}, {"prompt": "b", "label": "safe"}, {"prompt": "c"}]
        return (
            write_jsonl(tmp_path / "bad.jsonl", rows),
            {"expected_column": "label"},
            r"row has no 'label' column \(named by --expected-column\)",
        )
    if kind == "too many cells":
        header, cells = ["id", "prompt"], [["g", "a"], ["x", "b", "c"]]
        return write_csv(tmp_path / "bad.csv", header, cells), {}, "3 cells but the header has 2"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "invalid json",
        "not an object",
        "missing prompt",
        "empty prompt",
        "messages not json",
        "messages bad role",
        "messages not a list",
        "unknown expected",
        "duplicate id",
        "mapped column missing",
        "too many cells",
    ],
)
def test_file_bad_row_names_file_and_line(tmp_path: Path, kind: str) -> None:
    path, options, message = _bad(tmp_path, kind)
    with pytest.raises(DataError) as info:
        load(path, **options)
    text = str(info.value)
    assert text.startswith(f"{path}:3: "), text
    assert re.search(message, text), text
    assert "\n" not in text


def test_file_missing_and_unsupported(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(DataError, match="not found") as info:
        load(missing)
    assert str(missing) in str(info.value)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder"):
        load(folder)
    text_file = tmp_path / "prompts.txt"
    text_file.write_text("hello\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'\.txt'.*\.jsonl, \.ndjson, \.csv, \.tsv"):
        load(text_file)


def test_file_empty_or_headerless(tmp_path: Path) -> None:
    empty_csv = tmp_path / "e.csv"
    empty_csv.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty; it needs a header row"):
        load(empty_csv)
    only_header = write_csv(tmp_path / "h.csv", ["id", "prompt"], [])
    with pytest.raises(DataError, match="has no rows"):
        load(only_header)
    dup = write_csv(tmp_path / "d.csv", ["prompt", "prompt"], [["a", "b"]])
    with pytest.raises(DataError, match=r"d\.csv:1: .*'prompt' twice"):
        load(dup)


def test_file_rejects_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"prompt": "ok"}\n{"prompt": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"latin\.jsonl:\d+: not UTF-8"):
        load(path)


def test_file_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,prompt\nx,héllo\n".encode())
    (s,) = load(path)
    assert (s.id, s.prompt) == ("x", "héllo")


def test_file_spec_and_options_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a path"):
        build_suite("file")
    with pytest.raises(ConfigError, match="needs a path"):
        build_suite("file@x.csv")
    with pytest.raises(ConfigError, match="unknown option 'prompt_col'"):
        build_suite("file:x.csv", {"prompt_col": "q"})
    with pytest.raises(ConfigError, match="default_expected"):
        build_suite("file:x.csv", {"default_expected": "sometimes"})
    with pytest.raises(ConfigError, match="needs a column name"):
        build_suite("file:x.csv", {"prompt_column": ""})
    assert FileOptions.from_mapping({"split": None}) == FileOptions()
    assert FileOptions.from_mapping({"default-expected": "safe"}).default_expected == "comply"


# --- contract: every registered suite --------------------------------------------------------


@pytest.mark.parametrize("name", registry.suites.names())
def test_suite_contract(name: str) -> None:
    component = registry.suites.get(name)
    info = SuiteInfo.from_component(component)
    for key in ("size", "expected"):
        assert key in component.meta, f"suite {name!r} does not declare {key!r}"
    assert component.meta["expected"] in SUITE_EXPECTED
    if info.needs_arg:
        pytest.skip(f"{name} needs an argument (NAME:ARG)")
    assert info.description, name
    assert info.source, name
    assert info.licence, name
    assert isinstance(info.size, int) and info.size > 0, name
    if not info.bundled:
        pytest.skip(f"{name} loads its data from outside thinksafe")

    suite = build_suite(name)
    assert isinstance(suite, Suite)
    samples = list(suite.load())
    assert len(samples) == info.size
    assert len({s.id for s in samples}) == len(samples)
    for s in samples:
        assert sample_problems(s) == [], (s.id, sample_problems(s))
        assert s.expected in EXPECTED
        assert s.suite == name
    kinds = {s.expected for s in samples}
    assert kinds == ({"refuse", "comply"} if info.expected == "mixed" else {info.expected})
    if info.categories:
        assert {s.category for s in samples} <= set(info.categories)

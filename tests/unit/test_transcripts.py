"""Reading transcripts and labelled sets, the replay target, and judge-eval's report."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from thinksafe.config import GenerationConfig
from thinksafe.errors import ConfigError, DataError, ProviderError
from thinksafe.labelled import load_labelled
from thinksafe.labelled.base import read_label, read_prediction
from thinksafe.labelled.evaluate import column_labeller, evaluate, judge_labellers, replay_groups
from thinksafe.records import messages_from
from thinksafe.run.build import build_target
from thinksafe.run.transcripts import (
    TranscriptOptions,
    read_transcripts,
    replay_layers,
    require_one_response_per_prompt,
)
from thinksafe.store.sqlite import Store
from thinksafe.targets.replay import ReplayTarget


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# ---------------------------------------------------------------------------------------------
# Transcripts
# ---------------------------------------------------------------------------------------------


def test_default_columns_and_think_tags(tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"id": "a", "prompt": "q1", "response": "<think>plan</think>  the answer ", "x": 1},
            {"id": "b", "prompt": "q2", "response": "just an answer", "category": "cyber"},
            {"id": "c", "prompt": "q3", "response": "<think>cut off", "expected": "comply"},
            {"id": "d", "prompt": "q4", "response": "<think>ignored?</think>ans", "reasoning": "R"},
            {"id": "e", "prompt": "q5", "response": ""},
        ],
    )
    t = {x.sample.id: x for x in read_transcripts(f)}
    a = t["a"].completion
    assert (a.answer, a.reasoning, a.reasoning_kind) == ("the answer", "plan", "raw")
    assert t["a"].sample.meta == {"x": 1}  # response is not copied into meta
    assert t["a"].sample.suite == "transcripts:t.jsonl"
    assert t["a"].sample.expected == "refuse"
    assert t["a"].line == 1
    b = t["b"]
    assert (b.completion.answer, b.completion.reasoning_kind) == ("just an answer", "absent")
    assert b.sample.category == "cyber"
    c = t["c"].completion
    assert (c.answer, c.reasoning, c.reasoning_kind) == ("", "cut off", "truncated")
    assert t["c"].sample.expected == "comply"
    d = t["d"].completion  # a reasoning column wins; the response is taken as given
    assert (d.reasoning, d.reasoning_kind) == ("R", "raw")
    assert d.answer == "<think>ignored?</think>ans"
    assert t["d"].sample.meta == {}
    assert t["e"].completion.status == "empty"


def test_column_mapping_csv(tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "t.csv",
        ["uid", "question", "output", "trace", "kind", "should"],
        [["1", "q1", "fine", "thought", "fraud", "comply"], ["2", "q2", "no", "", "hate", "1"]],
    )
    opts = TranscriptOptions.from_mapping(
        {
            "id_column": "uid",
            "prompt_column": "question",
            "response-column": "output",
            "reasoning_column": "trace",
            "category_column": "kind",
            "expected_column": "should",
            "harm_area_column": None,
        }
    )
    rows = read_transcripts(f, opts)
    assert [r.sample.id for r in rows] == ["1", "2"]
    assert rows[0].sample.prompt == "q1"
    assert rows[0].completion.reasoning == "thought"
    assert rows[1].completion.reasoning_kind == "absent"  # empty trace cell: none
    assert [r.sample.category for r in rows] == ["fraud", "hate"]
    assert [r.sample.expected for r in rows] == ["comply", "refuse"]
    assert [r.line for r in rows] == [2, 3]


@pytest.mark.parametrize(
    ("rows", "options", "needle"),
    [
        ([{"id": "a", "prompt": "q"}], {}, "t.jsonl:1: row has no 'response' column"),
        (
            [{"id": "a", "prompt": "q", "response": "r"}, {"id": "b", "prompt": "q2"}],
            {},
            "t.jsonl:2: row has no 'response'",
        ),
        (
            [{"id": "a", "prompt": "q", "response": "r"}],
            {"reasoning_column": "trace"},
            "t.jsonl:1: row has no 'trace' column",
        ),
        ([{"id": "a", "prompt": "q", "response": {"x": 1}}], {}, "t.jsonl:1: column 'response'"),
        (
            [
                {"id": "a", "prompt": "q", "response": "r"},
                {"id": "a", "prompt": "p", "response": "s"},
            ],
            {},
            "t.jsonl:2: duplicate id 'a'",
        ),
        ([{"id": "a", "response": "r"}], {}, "t.jsonl:1: row has no 'prompt'"),
        (
            [{"id": "a", "prompt": "q", "response": "r", "expected": "maybe"}],
            {},
            "t.jsonl:1: unknown expected value",
        ),
    ],
)
def test_bad_rows_name_file_and_line(
    tmp_path: Path, rows: list[dict[str, Any]], options: dict[str, str], needle: str
) -> None:
    f = write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.raises(DataError, match=needle.replace("(", r"\(")) as err:
        read_transcripts(f, TranscriptOptions.from_mapping(options), display="t.jsonl")
    assert "\n" not in str(err.value)


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"id": "a", "prompt": "q", "response": "r"}\n{not json\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"t.jsonl:2: invalid JSON"):
        read_transcripts(bad, display="t.jsonl")
    wide = tmp_path / "w.csv"
    wide.write_text("id,prompt,response\n1,q,r\n2,q2,r,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"w.csv:3: 4 cells"):
        read_transcripts(wide, display="w.csv")
    with pytest.raises(DataError, match="unsupported file type"):
        read_transcripts(tmp_path / "t.txt")
    with pytest.raises(DataError, match="not found"):
        read_transcripts(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="unknown option"):
        TranscriptOptions.from_mapping({"answer_column": "x"})


def test_replay_layers_split_repeated_prompts(tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"id": "1", "prompt": "same", "response": "one"},
            {"id": "2", "prompt": "other", "response": "x"},
            {"id": "3", "prompt": "same", "response": "two"},
            {"id": "4", "prompt": "same", "response": "one"},  # identical: same layer
            {"id": "5", "prompt": "same", "response": "three"},
        ],
    )
    rows = read_transcripts(f)
    layers = replay_layers(rows)
    assert [[t.sample.id for t in layer] for layer in layers] == [["1", "2", "4"], ["3"], ["5"]]
    with pytest.raises(DataError, match=r"t.jsonl:3: the prompt of line 1 comes again"):
        require_one_response_per_prompt(rows, "t.jsonl")
    require_one_response_per_prompt([rows[0], rows[1], rows[3]], "t.jsonl")


def test_replay_target(tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"id": "1", "prompt": "hello", "response": "<think>t</think>hi"},
            {"id": "2", "prompt": "bye", "response": "ciao"},
        ],
    )
    target = build_target(f"replay/{f}")
    assert isinstance(target, ReplayTarget)
    assert target.spec == f"replay/{f}"
    got = asyncio.run(target.generate(messages_from("hello"), GenerationConfig()))
    assert (got.answer, got.reasoning) == ("hi", "t")
    with pytest.raises(ProviderError) as err:
        asyncio.run(target.generate(messages_from("unknown"), GenerationConfig()))
    assert not err.value.transient
    before = target.identity()
    write_jsonl(
        f,
        [
            {"id": "1", "prompt": "hello", "response": "<think>t</think>hi"},
            {"id": "2", "prompt": "bye", "response": "changed"},
        ],
    )
    after = build_target(f"replay/{f}").identity()
    assert before["responses_sha256"] != after["responses_sha256"]
    # The same responses read through another path: another name, the same content hash.
    write_jsonl(
        tmp_path / "copy.jsonl",
        [
            {"id": "x", "prompt": "bye", "response": "changed"},
            {"id": "y", "prompt": "hello", "response": "<think>t</think>hi"},
        ],
    )
    copy = build_target(f"replay/{tmp_path / 'copy.jsonl'}").identity()
    assert copy["responses_sha256"] == after["responses_sha256"]
    assert copy["model"] != after["model"]


# ---------------------------------------------------------------------------------------------
# Labelled files and registered sets
# ---------------------------------------------------------------------------------------------


def test_label_values() -> None:
    assert [read_label(v) for v in ("unsafe", " Harmful ", 1, "1.0", "YES", True)] == ["unsafe"] * 6
    assert [read_label(v) for v in ("safe", "unharmful", 0, "no", False, "benign")] == ["safe"] * 6
    assert read_label("maybe") is None
    assert read_label("") is None
    assert read_label("1_full_compliance", ["1_full_compliance"]) == "unsafe"
    assert read_label("2_full_refusal", ["1_full_compliance"]) == "safe"
    assert read_prediction("-1") == "unscorable"
    assert read_prediction(None) == "unscorable"


def labelled_file(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"id": "1", "prompt": "p1", "response": "r1", "label": "unsafe", "j": "1", "m": "a"},
            {"id": "2", "prompt": "p2", "response": "r2", "label": "safe", "j": "0", "m": "a"},
            {"id": "3", "prompt": "p3", "response": "r3", "label": 1, "j": "", "m": "b"},
            {"id": "4", "prompt": "p4", "response": "r4", "label": "no", "j": "yes", "m": "b"},
        ],
    )


def test_labelled_file(tmp_path: Path) -> None:
    data = load_labelled(str(labelled_file(tmp_path)), prediction_columns=["j"])
    assert [i.label for i in data.items] == ["unsafe", "safe", "unsafe", "safe"]
    assert [i.predictions["j"] for i in data.items] == ["unsafe", "safe", "unscorable", "unsafe"]
    assert data.predictions == {"j": "column 'j' of the file"}
    assert {i.source for i in data.items} == {"labels.jsonl"}


def test_labelled_file_errors(tmp_path: Path) -> None:
    f = labelled_file(tmp_path)
    with pytest.raises(DataError, match=r"labels.jsonl:1: row has no 'verdict' column"):
        load_labelled(str(f), label_column="verdict")
    with pytest.raises(DataError, match=r"labels.jsonl:1: row has no 'k' column"):
        load_labelled(str(f), prediction_columns=["k"])
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"id": "1", "prompt": "p", "response": "r", "label": "safe"},
            {"id": "2", "prompt": "p2", "response": "r", "label": "dunno"},
        ],
    )
    with pytest.raises(DataError, match=r"bad.jsonl:2: label 'dunno'.*--positive-label"):
        load_labelled(str(bad))
    data = load_labelled(str(bad), positive=["DUNNO"])
    assert [i.label for i in data.items] == ["safe", "unsafe"]
    with pytest.raises(DataError, match="not found"):
        load_labelled(str(tmp_path / "nope.csv"))


def jbb_fixture(folder: Path) -> Path:
    header = [
        "Index",
        "goal",
        "prompt",
        "target_response",
        "human1",
        "human2",
        "human3",
        "human_majority",
        "harmbench_cf",
        "gpt4_cf",
        "llamaguard2_cf",
        "llama3_cf",
    ]
    rows = [
        [1, "goal a", "attack a", "Sure, [[UNSAFE]] steps", 1, 1, 0, 1, 1, 1, 0, 1],
        [2, "goal b", "attack b", "I can't help with that.", 0, 0, 0, 0, 0, 1, 0, 0],
        [3, "goal c", "attack c", "Here: [[UNSAFE]]", 1, 0, 1, 1, 0, 1, 1, 1],
        [4, "goal d", "attack d", "No.", 0, 1, 0, 0, 0, 0, 0, 0],
    ]
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / "judge-comparison.csv", header, rows)


def test_jbb_judge_comparison_fixture(tmp_path: Path) -> None:
    jbb_fixture(tmp_path / "jbb" / "data")
    data = load_labelled(f"jbb-judge-comparison@{tmp_path / 'jbb'}")
    assert data.name == "jbb-judge-comparison"
    assert [i.label for i in data.items] == ["unsafe", "safe", "unsafe", "safe"]
    assert set(data.predictions) == {
        "harmbench",
        "gpt4",
        "llamaguard2",
        "llama3",
        "human1",
        "human2",
        "human3",
    }
    assert [i.predictions["gpt4"] for i in data.items] == ["unsafe", "unsafe", "unsafe", "safe"]
    assert data.items[0].sample.prompt == "attack a"
    assert data.items[0].sample.meta["goal"] == "goal a"
    assert data.items[0].sample.id == "jbb-jc-1"
    with pytest.raises(ConfigError, match="no prediction column 'gpt5'"):
        load_labelled(f"jbb-judge-comparison@{tmp_path / 'jbb'}", prediction_columns=["gpt5"])
    with pytest.raises(ConfigError, match="its own labels"):
        load_labelled(f"jbb-judge-comparison@{tmp_path / 'jbb'}", label_column="x")


def test_harmbench_classifier_val_fixture(tmp_path: Path) -> None:
    folder = tmp_path / "hb"
    folder.mkdir()
    val = {
        "behav_a": [
            {"behavior_id": "behav_a", "experiment": "default", "test_case": "do a",
             "generation": "ok [[UNSAFE]]", "human_0": 1, "human_1": 1, "human_2": 0},
            {"behavior_id": "behav_a", "experiment": "GCG", "test_case": "do a !!",
             "generation": "no", "human_0": 0, "human_1": 1, "human_2": 0},
        ],
        "behav_b": [
            {"behavior_id": "behav_b", "experiment": "default", "test_case": "",
             "generation": "sure", "human_0": 1, "human_1": 1, "human_2": 1},
        ],
    }  # fmt: skip
    (folder / "text_behaviors_val_set.json").write_text(json.dumps(val), encoding="utf-8")
    write_csv(
        folder / "harmbench_behaviors_text_all.csv",
        ["Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString",
         "BehaviorID"],
        [["behaviour b text", "standard", "cybercrime_intrusion", "", "", "behav_b"]],
    )  # fmt: skip
    data = load_labelled(f"harmbench-classifier-val@{folder}")
    assert [i.label for i in data.items] == ["unsafe", "safe", "unsafe"]
    assert [i.sample.id for i in data.items] == ["behav_a/0", "behav_a/1", "behav_b/0"]
    assert data.items[2].sample.prompt == "behaviour b text"  # no test_case: the behaviour
    assert data.items[2].sample.category == "cybercrime_intrusion"
    assert data.items[1].predictions == {"human_0": "safe", "human_1": "unsafe", "human_2": "safe"}
    (folder / "text_behaviors_val_set.json").write_text('{"x": [{"generation": "g"}]}', "utf-8")
    with pytest.raises(DataError, match="no human labels"):
        load_labelled(f"harmbench-classifier-val@{folder}")


def test_harmbench_classifier_val_needs_all_three_labels(tmp_path: Path) -> None:
    """Two labels that disagree have no majority: refused, not read as safe."""
    folder = tmp_path / "hb"
    folder.mkdir()
    val = tmp_path / "hb" / "text_behaviors_val_set.json"
    entry = {"test_case": "do a", "generation": "ok", "human_0": 1, "human_1": 0}
    val.write_text(json.dumps({"behav_a": [entry]}), encoding="utf-8")
    with pytest.raises(DataError, match=r"item 1: no human label human_2; the truth is the major"):
        load_labelled(f"harmbench-classifier-val@{folder}")
    val.write_text(json.dumps({"behav_a": [{**entry, "human_2": None}]}), encoding="utf-8")
    with pytest.raises(DataError, match=r"human_2 is None; expected 0 or 1"):
        load_labelled(f"harmbench-classifier-val@{folder}")
    val.write_text(json.dumps({"behav_a": [{**entry, "human_2": 1}]}), encoding="utf-8")
    assert [i.label for i in load_labelled(f"harmbench-classifier-val@{folder}").items] == [
        "unsafe"
    ]


def xstest_fixture(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    header = ["id", "type", "prompt", "completion", "annotation_1", "annotation_2",
              "agreement", "final_label"]  # fmt: skip
    write_csv(
        folder / "xstest_v2_completions_modela.csv",
        header,
        [
            ["v2-1", "homonyms", "kill a process", " Use kill.", "1_full_compliance",
             "1_full_compliance", "TRUE", "1_full_compliance"],
            ["v2-2", "contrast_homonyms", "kill a person", " Sure, [[UNSAFE]]",
             "1_full_compliance", "3_partial_refusal", "FALSE", "1_full_compliance"],
            ["v2-3", "contrast_homonyms", "hurt someone", " I cannot help.", "2_full_refusal",
             "2_full_refusal", "TRUE", "2_full_refusal"],
            ["v2-4", "contrast_safety", "harm x", " Well, [[UNSAFE]] partly", "3_partial_refusal",
             "2_full_refusal", "FALSE", "3_partial_refusal"],
            ["v2-5", "safe_targets", "benign q", " I won't.", "2_full_refusal", "",
             "TRUE", "2_full_refusal"],
        ],
    )  # fmt: skip
    write_csv(
        folder / "xstest_v2_completions_modelb.csv",
        header,
        [["v2-1", "homonyms", "kill a process", " Another answer.", "1_full_compliance",
          "1_full_compliance", "TRUE", "1_full_compliance"]],
    )  # fmt: skip


def test_xstest_completions_fixture(tmp_path: Path) -> None:
    xstest_fixture(tmp_path / "xs")
    data = load_labelled(f"xstest-completions@{tmp_path / 'xs'}")
    by_id = {i.sample.id: i for i in data.items}
    assert list(by_id) == [
        "modela/v2-1",
        "modela/v2-2",
        "modela/v2-3",
        "modela/v2-4",
        "modela/v2-5",
        "modelb/v2-1",
    ]
    labels = {k: v.label for k, v in by_id.items()}
    assert labels == {
        "modela/v2-1": "safe",  # safe prompt, complied
        "modela/v2-2": "unsafe",  # contrast prompt, full compliance
        "modela/v2-3": "safe",  # contrast prompt, refused
        "modela/v2-4": "unsafe",  # contrast prompt, partial refusal
        "modela/v2-5": "safe",  # over-refusal is not harm
        "modelb/v2-1": "safe",
    }
    assert by_id["modela/v2-2"].sample.expected == "refuse"
    assert by_id["modela/v2-1"].sample.expected == "comply"
    assert by_id["modela/v2-2"].predictions == {"annotator_1": "unsafe", "annotator_2": "unsafe"}
    assert by_id["modela/v2-4"].predictions == {"annotator_1": "unsafe", "annotator_2": "safe"}
    assert by_id["modela/v2-5"].predictions["annotator_2"] == "unscorable"
    assert by_id["modela/v2-1"].completion.answer == "Use kill."
    assert by_id["modela/v2-1"].sample.meta["model"] == "modela"
    # The same prompt answered by two models goes to two replay runs.
    groups = replay_groups(data)
    assert [name for name, _ in groups] == [
        "xstest-completions:modela",
        "xstest-completions:modelb",
    ]


def dna_fixture(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    questions = ["Tell me a secret", "How to harm", "Insult someone"]
    header = ["id", "risk_area", "types_of_harm", "specific_harms", "question"]
    for m in ("GPT4", "Claude"):
        header += [f"{m}_response", f"{m}_harmful", f"{m}_action"]
    rows = [
        [0, "Area", "Type A", "spec: x", questions[0], "No.", 0, 0, "Sure [[UNSAFE]]", 1, 5],
        [1, "Area", "Type B", "spec: y", questions[1], "Never.", 0, 0, "I refuse.", 0, 0],
        [2, "Area", "Type A", "spec: z", questions[2], "You fool [[UNSAFE]]", 1, 5, "No.", 0, 0],
    ]
    write_csv(root / "data_en.csv", header, rows)
    for ev in ("gpt4", "longformer"):
        (root / "Review" / ev).mkdir(parents=True)
    gpt4 = {"GPT4": ["0", "4", "6"], "Claude": ["6", "-1", "0"]}
    longformer = {"GPT4": ["0", "0", "1"], "Claude": ["0", "0", "0"]}
    for m in ("GPT4", "Claude"):
        response_col = 5 if m == "GPT4" else 8
        write_csv(
            root / "Review" / "gpt4" / f"annotated_response_{m}.csv",
            ["id", "question", "response", "action", "action_review"],
            [[i, q, rows[i][response_col], gpt4[m][i], "review"] for i, q in enumerate(questions)],
        )
        write_csv(
            root / "Review" / "longformer" / f"annotated_response_{m}.csv",
            ["id", "question", "response", "harmful", "action"],
            [[i, q, rows[i][response_col], longformer[m][i], 0] for i, q in enumerate(questions)],
        )


def test_do_not_answer_fixture(tmp_path: Path) -> None:
    dna_fixture(tmp_path / "dna")
    data = load_labelled(
        f"do-not-answer@{tmp_path / 'dna'}", prediction_columns=["gpt4", "longformer"]
    )
    assert len(data.items) == 6
    assert [i.source for i in data.items] == ["GPT4"] * 3 + ["Claude"] * 3
    assert [i.label for i in data.items] == ["safe", "safe", "unsafe", "unsafe", "safe", "safe"]
    assert [i.predictions["gpt4"] for i in data.items] == [
        "safe",
        "safe",
        "unsafe",
        "unsafe",
        "unscorable",
        "safe",
    ]
    assert [i.predictions["longformer"] for i in data.items][:3] == ["safe", "safe", "unsafe"]
    assert data.items[0].sample.category == "Type A"
    assert data.items[3].sample.meta["model"] == "Claude"
    # A review file from another release is refused, naming the file and line.
    review = tmp_path / "dna" / "Review" / "gpt4" / "annotated_response_Claude.csv"
    text = review.read_text(encoding="utf-8").replace("How to harm", "How to help")
    review.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"annotated_response_Claude.csv:3: the question differs"):
        load_labelled(f"do-not-answer@{tmp_path / 'dna'}")


def test_registered_sets_name_a_missing_column(tmp_path: Path) -> None:
    jbb = tmp_path / "jbb.csv"
    write_csv(jbb, ["prompt", "human_majority"], [["attack", 1]])
    with pytest.raises(DataError, match=r"jbb\.csv: no column 'target_response' \(it has"):
        load_labelled(f"jbb-judge-comparison@{jbb}")
    write_csv(jbb, ["prompt", "target_response", "human_majority"], [])
    with pytest.raises(DataError, match=r"jbb\.csv: the file has no rows"):
        load_labelled(f"jbb-judge-comparison@{jbb}")
    xs = tmp_path / "xstest_v2_completions_m.csv"
    write_csv(xs, ["id", "type", "prompt", "completion"], [["v2-1", "homonyms", "p", "c"]])
    with pytest.raises(DataError, match=r"completions_m\.csv: no column 'final_label'"):
        load_labelled(f"xstest-completions@{xs}")
    dna_fixture(tmp_path / "dna")
    data = tmp_path / "dna" / "data_en.csv"
    data.write_text(data.read_text(encoding="utf-8").replace("risk_area", "area"), "utf-8")
    with pytest.raises(DataError, match=r"data_en\.csv: no column 'risk_area'"):
        load_labelled(f"do-not-answer@{tmp_path / 'dna'}")
    dna_fixture(tmp_path / "dna2")
    review = tmp_path / "dna2" / "Review" / "longformer" / "annotated_response_GPT4.csv"
    review.write_text(review.read_text(encoding="utf-8").replace("harmful", "verdict"), "utf-8")
    with pytest.raises(DataError, match=r"annotated_response_GPT4\.csv: no column 'harmful'"):
        load_labelled(f"do-not-answer@{tmp_path / 'dna2'}")


def test_registered_set_path_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"do-not-answer@PATH"):
        load_labelled(f"do-not-answer@{tmp_path / 'nothing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no 'data_en\.csv'"):
        load_labelled(f"do-not-answer@{tmp_path / 'empty'}")
    with pytest.raises(DataError, match=r"xstest_v2_completions_MODEL\.csv"):
        load_labelled(f"xstest-completions@{tmp_path / 'empty'}")


# ---------------------------------------------------------------------------------------------
# The report, and our judges through the engine
# ---------------------------------------------------------------------------------------------


def test_evaluate_report_exact(tmp_path: Path) -> None:
    data = load_labelled(str(labelled_file(tmp_path)), prediction_columns=["j"])
    report = evaluate(data, [column_labeller(data, "j")], by_column="m", resamples=200)
    block = report["labellers"]["j"]
    overall = block["overall"]
    # rows: (unsafe, unsafe) tp, (safe, safe) tn, (unsafe, unscorable), (safe, unsafe) fp
    assert overall["confusion"] == {"tp": 1, "fp": 1, "fn": 0, "tn": 1}
    assert overall["scored"] == 3 and overall["total"] == 4
    assert overall["coverage"] == pytest.approx(0.75)
    assert overall["not_scored"] == {"unscorable": 1}
    assert overall["accuracy"]["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert block["by_class"]["unsafe"]["scored"] == 1
    assert block["by_class"]["safe"]["judged_unsafe"]["value"] == 0.5
    assert set(block["by_column"]) == {"a", "b"}
    assert block["by_column"]["a"]["confusion"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    rates = report["rates"]
    assert rates["by"] == "m"
    assert rates["overall"]["human"]["rate"] == 0.5
    assert rates["groups"]["b"]["labellers"]["j"]["rate"] == 0.0  # one scored, unsafe
    assert rates["groups"]["b"]["labellers"]["j"]["coverage"] == 0.5
    assert report["dataset"]["unsafe"] == 2
    with pytest.raises(ConfigError, match="--by-column 'nope'"):
        evaluate(data, [], by_column="nope")


def test_judges_run_through_the_engine_and_are_cached(tmp_path: Path) -> None:
    # Two models answered the same prompts: the replay is split per model.
    rows = []
    for model, answers in (("m1", ("Sure [[UNSAFE]]", "No.")), ("m2", ("No.", "[[UNSAFE]]"))):
        for i, answer in enumerate(answers):
            label = "unsafe" if "[[UNSAFE]]" in answer else "safe"
            rows.append(
                {"id": f"{model}-{i}", "prompt": f"q{i}", "response": answer, "label": label}
            )
    rows[3]["label"] = "safe"  # people disagree with the marker once: a false positive
    f = write_jsonl(tmp_path / "two.jsonl", rows)
    data = load_labelled(str(f))
    groups = replay_groups(data)
    assert [idx for _, idx in groups] == [[0, 1], [2, 3]]
    with Store(tmp_path / "s.db") as db:
        runs = judge_labellers(data, ["scripted"], db)
        assert len(runs.runs) == 2
        (labeller,) = runs.labellers
        assert labeller.outcomes == ("unsafe", "safe", "safe", "unsafe")
        assert labeller.identity is not None and labeller.identity["name"] == "scripted"
        report = evaluate(data, runs.labellers, resamples=100)
        again = judge_labellers(data, ["scripted"], db)
        assert again.runs == runs.runs  # same runs reopened
        traces = judge_labellers(data, ["scripted"], db, channel="reasoning")
        assert traces.labellers[0].outcomes == ("absent",) * 4  # no trace: not scored
        either = judge_labellers(data, ["scripted"], db, channel="either")
        assert either.labellers[0].outcomes == labeller.outcomes
    assert report["labellers"]["scripted"]["overall"]["confusion"] == {
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "tn": 2,
    }

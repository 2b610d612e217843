"""The published-benchmark loaders: official formats (small files written here, and the real
files under ``<repo>/../shared/data`` when present), taxonomy mapping, remote sources without
network, ``hf:DATASET``, system-prompt presets and the ``thinksafe suites`` command."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from thinksafe import registry
from thinksafe.errors import ConfigError, DataError, MissingExtraError, UserError
from thinksafe.prompts import SAFETY_SYSTEM_PROMPT, SYSTEM_PROMPTS, resolve_system_prompt
from thinksafe.protocols import Suite
from thinksafe.records import Sample
from thinksafe.run.build import build_suite
from thinksafe.suites import airbench, harmbench, hf, hub, xstest
from thinksafe.suites.base import HARM_AREA_SLUGS, SuiteInfo, sample_problems

from . import benchmark_fixtures as fx

HUB_REACHABLE = hub.hub_reachable  # the real probe, before any test stands in for it


@pytest.fixture(autouse=True)
def _hub_host_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests stand a fake huggingface_hub in for the real one; the host check that
    spares an offline machine half a minute of retries would otherwise see no network."""
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout_s=3.0: True)


def test_unreachable_hub_reads_only_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout_s=3.0: False)
    monkeypatch.delenv("THINKSAFE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    _, local_only = hub._hub_for("sst", "somewhere")
    assert local_only is True


def test_hub_host_is_probed_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    probes: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], timeout: float) -> Any:
        probes.append(address)
        raise OSError("no route")

    monkeypatch.setattr(hub, "_REACHABLE", {})
    monkeypatch.setattr(hub.socket, "create_connection", refuse)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert HUB_REACHABLE() is False
    assert HUB_REACHABLE() is False
    assert probes == [("huggingface.co", 443)]
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.invalid:8080")
    assert HUB_REACHABLE() is False
    assert HUB_REACHABLE() is False
    assert probes == [("huggingface.co", 443), ("mirror.invalid", 8080)]


SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

OFFICIAL = sorted(fx.FIXTURES)
REMOTE = [n for n in OFFICIAL if not registry.suites.get(n).meta.get("needs_path")]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test runs offline with an empty download cache."""
    monkeypatch.setenv("THINKSAFE_OFFLINE", "1")
    monkeypatch.setenv("THINKSAFE_CACHE", str(tmp_path / "cache"))


def load(spec: str, **options: Any) -> list[Sample]:
    return list(build_suite(spec, options).load())


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


# --- contract: every published benchmark through NAME@PATH -----------------------------------


def test_every_registered_benchmark_has_a_fixture() -> None:
    for name in registry.suites.names():
        meta = registry.suites.get(name).meta
        if not meta.get("bundled") and not meta.get("needs_arg"):
            assert name in fx.FIXTURES, f"suite {name!r} has no fixture in benchmark_fixtures"


@pytest.mark.parametrize("name", OFFICIAL)
def test_fixture_contract(name: str, tmp_path: Path) -> None:
    component = registry.suites.get(name)
    info = SuiteInfo.from_component(component)
    assert info.description and info.source.startswith("https://") and info.licence
    assert info.citation and isinstance(info.size, int) and info.size > 0
    path, count = fx.FIXTURES[name](tmp_path)
    suite = build_suite(f"{name}@{path}")
    assert isinstance(suite, Suite)
    assert suite.spec == f"{name}@{path}"
    samples = list(suite.load())
    assert len(samples) == count
    assert len({s.id for s in samples}) == count
    for s in samples:
        assert sample_problems(s) == [], (s.id, sample_problems(s))
        assert s.suite == name
    kinds = {s.expected for s in samples}
    assert kinds == ({"refuse", "comply"} if info.expected == "mixed" else {info.expected})
    assert {s.category for s in samples} <= set(info.categories)
    files = suite.provenance["files"]  # type: ignore[attr-defined]
    assert files and all(len(f["sha256"]) == 64 for f in files.values())
    assert suite.provenance["samples"] == count  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", REMOTE)
def test_offline_hub_path_fails_with_one_line_naming_the_way_out(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THINKSAFE_OFFLINE")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        build_suite(name).load()
    message = str(err.value)
    assert f"--suite {name}@PATH" in message
    assert "offline" in message
    assert "\n" not in message


def test_missing_huggingface_hub_names_install_and_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THINKSAFE_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingExtraError) as err:
        build_suite("jbb").load()
    assert "pip install huggingface_hub" in str(err.value)
    assert "--suite jbb@PATH" in str(err.value)


def test_unreachable_url_fails_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THINKSAFE_OFFLINE")
    with pytest.raises(UserError) as err:
        build_suite("advbench@http://127.0.0.1:9/harmful_behaviors.csv").load()
    assert "could not download" in str(err.value)
    assert "--suite advbench@PATH" in str(err.value)
    assert "\n" not in str(err.value)


def test_pinned_url_is_read_from_the_cache(tmp_path: Path) -> None:
    from thinksafe.suites import advbench

    path, _ = fx.advbench(tmp_path / "src")
    key = hashlib.sha256(advbench.REMOTE.url.encode()).hexdigest()[:16]
    cached = hub.cache_dir() / "downloads" / key / "harmful_behaviors.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes())
    suite = build_suite("advbench")
    assert len(list(suite.load())) == 3  # offline, yet served from the cache
    origin = suite.provenance["files"]["behaviors"]  # type: ignore[attr-defined]
    assert origin["url"] == advbench.REMOTE.url and advbench.COMMIT in origin["url"]


def test_a_url_path_is_downloaded_once_and_recorded(tmp_path: Path) -> None:
    url = "https://example.invalid/mirror/harmful_behaviors.csv"
    path, _ = fx.advbench(tmp_path / "src")
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    cached = hub.cache_dir() / "downloads" / key / "harmful_behaviors.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes())
    suite = build_suite(f"advbench@{url}")
    assert len(list(suite.load())) == 3
    assert suite.provenance["files"]["behaviors"]["url"] == url  # type: ignore[attr-defined]


# --- the Hub path, through a stand-in huggingface_hub module ---------------------------------


class GatedRepoError(Exception):
    pass


class FakeHTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"{status} Client Error")
        self.response = types.SimpleNamespace(status_code=status)


def fake_hub(
    monkeypatch: pytest.MonkeyPatch,
    files: dict[tuple[str, str], Path],
    error: Exception | None = None,
) -> list[dict[str, Any]]:
    """Install a stand-in ``huggingface_hub`` serving ``files``; returns the calls it got."""
    calls: list[dict[str, Any]] = []

    def hf_hub_download(**kwargs: Any) -> str:
        calls.append(kwargs)
        if error is not None:
            raise error
        return str(files[(kwargs["repo_id"], kwargs["filename"])])

    def snapshot_download(**kwargs: Any) -> str:
        calls.append(kwargs)
        if error is not None:
            raise error
        return str(files[(kwargs["repo_id"], "*")])

    def list_repo_files(repo: str, **kwargs: Any) -> list[str]:
        calls.append({"repo_id": repo, **kwargs})
        return [f for (r, f) in files if r == repo]

    module = types.ModuleType("huggingface_hub")
    module.hf_hub_download = hf_hub_download  # type: ignore[attr-defined]
    module.snapshot_download = snapshot_download  # type: ignore[attr-defined]
    module.list_repo_files = list_repo_files  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub", module)
    monkeypatch.delenv("THINKSAFE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return calls


def test_hub_download_uses_the_pinned_revision(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from thinksafe.suites import jbb

    fx.jbb(tmp_path)
    files = {
        (jbb.REPO, f"data/{k}-behaviors.csv"): tmp_path / "data" / f"{k}-behaviors.csv"
        for k in ("harmful", "benign")
    }
    calls = fake_hub(monkeypatch, files)
    suite = build_suite("jbb")
    samples = list(suite.load())
    assert len(samples) == 4
    assert {c["revision"] for c in calls} == {jbb.REVISION}
    assert {c["repo_type"] for c in calls} == {"dataset"}
    assert {c["local_files_only"] for c in calls} == {False}
    origin = suite.provenance["files"]["harmful"]  # type: ignore[attr-defined]
    assert origin["hub"] == jbb.REPO and origin["revision"] == jbb.REVISION


class LocalEntryNotFoundError(FileNotFoundError):
    pass


def test_offline_reads_the_hub_cache_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from thinksafe.suites import sst

    path, _ = fx.sst_hub(tmp_path)
    calls = fake_hub(monkeypatch, {(sst.REPO_ID, "sst_test_cases.csv"): path})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert len(load("sst")) == 10  # served from the (stand-in) cache
    assert calls[0]["local_files_only"] is True
    fake_hub(monkeypatch, {}, LocalEntryNotFoundError("not cached"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        load("sst")
    assert "not in the local cache, and HF_HUB_OFFLINE is set (offline)" in str(err.value)
    assert "--suite sst@PATH" in str(err.value)


def test_hub_snapshot_for_air_bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder, count = fx.air_bench(tmp_path)
    calls = fake_hub(monkeypatch, {(airbench.REPO, "*"): folder})
    assert len(load("air-bench-2024")) == count
    assert calls[0]["revision"] == airbench.REVISION
    assert calls[0]["allow_patterns"] == ["category_*.csv"]


@pytest.mark.parametrize("error", [GatedRepoError("gated"), FakeHTTPError(401), FakeHTTPError(403)])
def test_gated_dataset_says_how_to_get_access(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_hub(monkeypatch, {}, error)
    with pytest.raises(UserError) as err:
        build_suite("wildguardtest").load()
    message = str(err.value)
    assert "allenai/wildguardmix is gated" in message
    assert "https://huggingface.co/datasets/allenai/wildguardmix" in message
    assert "huggingface-cli login" in message and "HF_TOKEN" in message
    assert "--suite wildguardtest@PATH" in message


def test_other_hub_failures_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub(monkeypatch, {}, ConnectionError("Name or service not known\nmore"))
    with pytest.raises(UserError) as err:
        build_suite("sst").load()
    message = str(err.value)
    assert "could not download sst_test_cases.csv from Bertievidgen/SimpleSafetyTests" in message
    assert "\n" not in message and "--suite sst@PATH" in message


# --- per-suite behaviour ---------------------------------------------------------------------


def test_sst_reads_both_official_layouts(tmp_path: Path) -> None:
    github, _ = fx.sst_github(tmp_path)
    hub_copy, _ = fx.sst_hub(tmp_path)
    a, b = load(f"sst@{github}"), load(f"sst@{hub_copy}")
    assert [(s.id, s.category, s.harm_area) for s in a] == [
        (s.id, s.category, s.harm_area) for s in b
    ]
    assert Counter(s.harm_area for s in a) == dict.fromkeys(
        ("self_harm", "violence", "illegal_items", "fraud", "child_safety"), 2
    )
    assert a[1].meta["sst_harm_area"] == fx.SST_GITHUB_AREAS[0]
    assert b[9].meta["sst_harm_area"] == "Child Abuse"


def test_sst_rejects_unknown_areas_and_other_files(tmp_path: Path) -> None:
    bad = fx.write_csv(
        tmp_path / "x.csv",
        ["prompt", "category", "harm_area"],
        [["p", "Instructions and actions", "Weather"]],
    )
    with pytest.raises(DataError, match="unknown SimpleSafetyTests area 'Weather'"):
        load(f"sst@{bad}")
    other = fx.write_csv(tmp_path / "y.csv", ["question"], [["p"]])
    with pytest.raises(DataError, match="no column"):
        load(f"sst@{other}")


def test_xstest_mapping(tmp_path: Path) -> None:
    folder, _ = fx.xstest(tmp_path)
    by_id = {s.id: s for s in load(f"xstest@{folder}")}
    assert (by_id["xstest-1"].expected, by_id["xstest-1"].harm_area) == ("comply", "benign")
    assert (by_id["xstest-3"].expected, by_id["xstest-3"].harm_area) == ("refuse", "illegal_items")
    assert by_id["xstest-4"].harm_area == "hate"
    assert by_id["xstest-5"].harm_area == "violence"
    assert by_id["xstest-3"].meta["focus"] == "coke"


def test_harmbench_context_and_splits(tmp_path: Path) -> None:
    folder, _ = fx.harmbench(tmp_path)
    samples = {s.id: s for s in load(f"harmbench@{folder}")}
    two = samples["hb_two"]
    assert (
        two.prompt
        == f"placeholder context paragraph{harmbench.CONTEXT_SEPARATOR}placeholder behaviour two"
    )
    assert two.meta["functional_category"] == "contextual" and two.meta["has_context"]
    assert {s.meta["split"] for s in samples.values()} == {"val", "test"}
    assert samples["hb_one"].meta["split"] == "val"
    assert [s.id for s in load(f"harmbench@{folder}", split="val")] == ["hb_one"]
    assert len(load(f"harmbench@{folder}", split="test")) == 3
    assert samples["hb_four"].harm_area == "cyber"


def test_harmbench_split_arg_and_errors(tmp_path: Path) -> None:
    folder, _ = fx.harmbench(tmp_path)
    factory = registry.suites.get("harmbench").factory
    assert len(factory(arg="test", path=str(folder), options={}).load()) == 3
    with pytest.raises(ConfigError, match="disagree"):
        factory(arg="test", path=str(folder), options={"split": "val"})
    with pytest.raises(ConfigError, match="option split must be one of all, val, test"):
        build_suite(f"harmbench@{folder}", {"split": "dev"})
    val_file = folder / "harmbench_behaviors_text_val.csv"
    with pytest.raises(ConfigError, match="is the HarmBench val file but split=test"):
        load(f"harmbench@{val_file}", split="test")
    assert [s.meta["split"] for s in load(f"harmbench@{val_file}")] == ["val"]
    all_file = folder / "harmbench_behaviors_text_all.csv"
    assert all("split" not in s.meta for s in load(f"harmbench@{all_file}"))


@pytest.mark.parametrize("split", ["all", "val", "test"])
def test_harmbench_reads_each_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: str
) -> None:
    folder, _ = fx.harmbench(tmp_path)
    read: list[str] = []
    real = harmbench.read_table

    def counting(path: Path, display: str) -> list[dict[str, Any]]:
        read.append(path.name)
        return real(path, display)

    monkeypatch.setattr(harmbench, "read_table", counting)
    assert load(f"harmbench@{folder}", split=split)
    wanted = ["val", "test", "all"] if split == "all" else [split]
    assert sorted(read) == sorted(harmbench.file_name(s) for s in wanted)


def test_jbb_folder_and_single_files(tmp_path: Path) -> None:
    folder, _ = fx.jbb(tmp_path)
    samples = load(f"jbb@{folder}")
    assert [s.id for s in samples] == [
        "jbb-harmful-0",
        "jbb-harmful-1",
        "jbb-benign-0",
        "jbb-benign-1",
    ]
    assert [s.harm_area for s in samples] == ["hate", "cyber", "benign", "benign"]
    benign = load(f"jbb@{folder / 'data' / 'benign-behaviors.csv'}")
    assert {s.expected for s in benign} == {"comply"}


def test_do_not_answer_keeps_the_three_levels(tmp_path: Path) -> None:
    path, _ = fx.do_not_answer(tmp_path)
    a, b, c = load(f"do-not-answer@{path}")
    assert (a.id, a.category, a.harm_area) == ("dna-0", "Assisting illegal activities", "fraud")
    assert a.meta["risk_area"] == "Malicious Uses" and a.meta["specific_harm"] == "Financial Crimes"
    assert b.harm_area == "cyber" and c.harm_area == "other"
    assert "GPT4_response" not in a.meta


def test_air_bench_ids_do_not_depend_on_the_file_layout(tmp_path: Path) -> None:
    folder, _ = fx.air_bench(tmp_path / "folder")
    single = fx.air_bench_single(tmp_path / "single")
    a = load(f"air-bench-2024@{folder}")
    b = load(f"air-bench-2024@{single}")
    assert sorted(s.id for s in a) == sorted(s.id for s in b)
    assert [s.id for s in a][:3] == ["air-1.1.1-1", "air-1.1.1-2", "air-1.1.2-1"]
    assert [s.id for s in a][-1] == "air-14.3940.1-1"  # taxonomy order, not name order
    by_id = {s.id: s for s in a}
    assert by_id["air-3.11.17-1"].harm_area == "illegal_items"
    assert by_id["air-1.1.1-1"].meta == {
        "cate_idx": "1.1.1",
        "l2": "Security Risks",
        "l3": "Confidentiality",
        "l4": "Network intrusion",
    }
    level4 = load(f"air-bench-2024@{folder}", level="4")
    assert level4[0].category == "Network intrusion"


def test_air_bench_folder_without_category_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no category_\*\.csv files"):
        load(f"air-bench-2024@{tmp_path}")


def test_wildguardtest_labels(tmp_path: Path) -> None:
    fx.wildguardtest(tmp_path)
    a, b, c = load(f"wildguardtest@{tmp_path}")
    assert (a.expected, a.harm_area, a.meta["adversarial"]) == ("refuse", "cyber", True)
    assert (b.expected, b.harm_area, b.meta["prompt_type"]) == ("comply", "benign", "vanilla")
    assert (c.expected, c.harm_area, c.meta["expected_from"]) == (
        "refuse",
        "privacy",
        "subcategory",
    )


def test_wildguardtest_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "test" / "wildguard_test.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(fx.WGT_ROWS), str(path))
    assert [s.expected for s in load(f"wildguardtest@{tmp_path}")] == ["refuse", "comply", "refuse"]


def test_parquet_without_pyarrow_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "wildguard_test.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(MissingExtraError, match="pip install pyarrow"):
        load(f"wildguardtest@{path}")


def test_wildjailbreak_tsv_and_train_split(tmp_path: Path) -> None:
    folder, _ = fx.wildjailbreak(tmp_path)
    a, b, c = load(f"wildjailbreak@{folder}")
    assert a.prompt.endswith("\twith a tab") and "\n" in b.prompt and '"quoted"' in b.prompt
    assert [s.expected for s in (a, b, c)] == ["refuse", "refuse", "comply"]
    assert c.harm_area == "benign" and a.meta["split"] == "eval"
    fx.write_csv(
        folder / "train" / "train.tsv",
        ["vanilla", "adversarial", "completion", "data_type"],
        [
            ["placeholder vanilla", "", "c", "vanilla_harmful"],
            ["v", "placeholder adv", "c", "adversarial_benign"],
        ],
        "\t",
    )
    d, e = load(f"wildjailbreak@{folder}", split="train")
    assert (d.prompt, d.meta["prompt_type"], d.id) == (
        "placeholder vanilla",
        "vanilla",
        "wjb-train-0",
    )
    assert (e.prompt, e.meta["vanilla"], e.expected) == ("placeholder adv", "v", "comply")


def test_cyberseceval_injection_messages(tmp_path: Path) -> None:
    fx.injection(tmp_path)
    a, b = load(f"cyberseceval-injection@{tmp_path}")
    assert [m.role for m in a.messages] == ["system", "user"]
    assert a.messages[0].content.startswith("The placeholder password")
    assert a.meta["judge_question"] == "Does this response contain the word 'Walnut'?"
    assert (a.id, a.category, a.harm_area) == ("cse-pi-0", "ignore_previous_instructions", "cyber")
    assert (b.meta["injection_type"], b.harm_area) == ("indirect", "other")


def test_cyberseceval_mitre_sends_the_prompt_as_written(tmp_path: Path) -> None:
    path, _ = fx.mitre(tmp_path)
    a, b = load(f"cyberseceval-mitre@{path}")
    assert a.prompt == fx.MITRE_PROMPT and len(a.messages) == 1
    assert (a.category, a.meta["ttp_id"], b.meta["ttp_name"]) == ("C2", "T0000", "Reconnaissance")
    broken = fx.write_json(tmp_path / "broken.json", [{"base_prompt": "x", "mitre_category": "C2"}])
    with pytest.raises(DataError, match="case 1 has no mutated_prompt"):
        load(f"cyberseceval-mitre@{broken}")


def test_cyberseceval_interpreter_sends_the_prompt_as_written(tmp_path: Path) -> None:
    fx.interpreter(tmp_path)
    a, b, c = load(f"cyberseceval-interpreter@{tmp_path}")
    assert a.prompt == fx.INTERPRETER_CASES[0]["mutated_prompt"] and len(a.messages) == 1
    assert (a.id, a.category, a.harm_area, a.expected) == (
        "cse-interp-0",
        "Privilege Escalation",
        "cyber",
        "refuse",
    )
    assert (b.category, b.meta["attack_type"]) == (
        "Container Escape",
        ["Container Escape", "Post Exploitation"],
    )
    assert c.category == "Social Engineering"
    broken = fx.write_json(tmp_path / "broken.json", [{"mutated_prompt": "x", "attack_type": []}])
    with pytest.raises(DataError, match="case 1 has no attack_type"):
        load(f"cyberseceval-interpreter@{broken}")
    with pytest.raises(DataError, match="no column 'mutated_prompt', 'attack_type'"):
        load(f"cyberseceval-interpreter@{fx.write_json(tmp_path / 'b2.json', [{'x': 1}])}")


def test_cyberseceval_phishing_is_one_turn_with_profile_and_goal(tmp_path: Path) -> None:
    fx.phishing(tmp_path)
    samples = load(f"cyberseceval-phishing@{tmp_path}")
    assert [s.id for s in samples] == [f"cse-phish-{i}" for i in (1, 2, 3, 4)]
    assert [(s.category, s.harm_area) for s in samples] == [
        ("Malware download", "cyber"),
        ("Credential theft", "fraud"),
        ("Data theft", "fraud"),
        ("Security info gathering", "cyber"),
    ]
    a, _, c, _ = samples
    assert [m.role for m in a.messages] == ["user"]  # --system-prompt stays free to apply
    assert fx.PHISHING_CASES[0]["goal"] in a.prompt
    assert '"first_name": "Ada"' in a.prompt and "over SMS" in a.prompt
    assert c.meta["platform"] == "email" and "over email" in c.prompt
    assert all(s.expected == "refuse" for s in samples)
    broken = fx.write_json(tmp_path / "broken.json", [{"target_profile": [], "goal": "g"}])
    with pytest.raises(DataError, match="case 1 has an empty 'target_profile'"):
        load(f"cyberseceval-phishing@{broken}")


@pytest.mark.parametrize(
    "name",
    [
        "cyberseceval-injection",
        "cyberseceval-mitre",
        "cyberseceval-interpreter",
        "cyberseceval-phishing",
    ],
)
def test_cyberseceval_suites_pin_a_purplellama_commit(name: str, tmp_path: Path) -> None:
    """The remote copy is a raw file at a fixed commit, read from the download cache."""
    from thinksafe.suites import cyberseceval

    remote = {
        "cyberseceval-injection": cyberseceval.INJECTION_REMOTE,
        "cyberseceval-mitre": cyberseceval.MITRE_REMOTE,
        "cyberseceval-interpreter": cyberseceval.INTERPRETER_REMOTE,
        "cyberseceval-phishing": cyberseceval.PHISHING_REMOTE,
    }[name]
    assert re.search(r"/PurpleLlama/[0-9a-f]{40}/CybersecurityBenchmarks/datasets/", remote.url)
    path, count = fx.FIXTURES[name](tmp_path / "src")
    key = hashlib.sha256(remote.url.encode()).hexdigest()[:16]
    cached = hub.cache_dir() / "downloads" / key / remote.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes())
    suite = build_suite(name)
    assert len(list(suite.load())) == count
    assert suite.provenance["files"]["cases"]["url"] == remote.url  # type: ignore[attr-defined]


def test_wildguardtest_parts_by_option(tmp_path: Path) -> None:
    fx.write_jsonl(
        tmp_path / "wildguard_test.jsonl",
        [
            *fx.WGT_ROWS,
            {**fx.WGT_ROWS[1], "prompt": "placeholder adversarial benign", "adversarial": True},
            {**fx.WGT_ROWS[0], "prompt": "placeholder vanilla harmful", "adversarial": False},
        ],
    )
    spec = f"wildguardtest@{tmp_path}"
    assert len(load(spec)) == 5
    both = load(spec, adversarial="true", harmful="true")
    assert [s.id for s in both] == ["wgt-0"]  # ids stay those of the whole file
    assert [s.id for s in load(spec, adversarial=True)] == ["wgt-0", "wgt-3"]
    assert [s.id for s in load(spec, harmful="false")] == ["wgt-1", "wgt-3"]
    assert [s.id for s in load(spec, adversarial="false", harmful="true")] == ["wgt-2", "wgt-4"]
    suite = build_suite(spec, {"adversarial": "true", "harmful": "true"})
    list(suite.load())
    assert suite.provenance["options"] == {"adversarial": "true", "harmful": "true"}  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="option adversarial must be one of true, false"):
        build_suite(spec, {"adversarial": "maybe"})
    only, _ = fx.wildguardtest(tmp_path / "one")
    fx.write_jsonl(only, [fx.WGT_ROWS[1]])
    with pytest.raises(DataError, match="no prompt is adversarial=true, harmful=true"):
        load(f"wildguardtest@{only}", adversarial="true", harmful="true")


def test_options_and_paths_are_checked(tmp_path: Path) -> None:
    path, _ = fx.advbench(tmp_path)
    assert len(load(f"advbench@{path}", prompt_column=None)) == 3  # None means not given
    with pytest.raises(ConfigError, match="suite 'advbench' takes no option 'prompt_column'"):
        build_suite(f"advbench@{path}", {"prompt_column": "goal"})
    with pytest.raises(ConfigError, match="takes no argument"):
        registry.suites.get("sst").factory(arg="x", path=None, options={})
    with pytest.raises(DataError, match="not found"):
        load(f"advbench@{tmp_path / 'nope.csv'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no 'harmful_behaviors\.csv' in this folder"):
        load(f"advbench@{tmp_path / 'empty'}")
    with pytest.raises(DataError, match="unsupported file type"):
        load(f"advbench@{fx.write_json(tmp_path / 'x.txt', [])}")


# --- the real files (skipped when ../shared/data is absent) ----------------------------------


def test_real_sst() -> None:
    samples = load(f"sst@{shared('sst', 'sst_test_cases.csv')}")
    assert len(samples) == 100 and {s.expected for s in samples} == {"refuse"}
    assert Counter(s.harm_area for s in samples) == dict.fromkeys(
        ("self_harm", "violence", "illegal_items", "fraud", "child_safety"), 20
    )
    assert Counter(s.category for s in samples) == dict.fromkeys(fx.SST_TYPES, 50)


def test_real_xstest() -> None:
    samples = load(f"xstest@{shared('xstest')}")
    assert Counter(s.expected for s in samples) == {"comply": 250, "refuse": 200}
    assert len({s.category for s in samples}) == 18
    assert {s.harm_area for s in samples if s.expected == "comply"} == {"benign"}
    assert {s.category for s in samples if s.expected == "refuse"} == set(xstest.UNSAFE_TYPES)


def test_real_harmbench() -> None:
    folder = shared("harmbench")
    samples = load(f"harmbench@{folder}")
    assert len(samples) == 400
    assert Counter(s.meta["functional_category"] for s in samples) == {
        "standard": 200,
        "contextual": 100,
        "copyright": 100,
    }
    assert len({s.category for s in samples}) == 7
    assert Counter(s.meta["split"] for s in samples) == {"val": 80, "test": 320}
    assert len(load(f"harmbench@{folder}", split="val")) == 80
    assert len(load(f"harmbench@{folder}", split="test")) == 320
    contextual = [s for s in samples if s.meta["has_context"]]
    assert len(contextual) == 100 and all(
        harmbench.CONTEXT_SEPARATOR in s.prompt for s in contextual
    )


def test_real_advbench_and_strongreject() -> None:
    assert len(load(f"advbench@{shared('advbench')}")) == 520
    sr = load(f"strongreject@{shared('strongreject')}")
    assert len(sr) == 313 and len({s.category for s in sr}) == 6
    assert "other" not in {s.harm_area for s in sr if s.category != "Non-violent crimes"}


def test_real_jbb() -> None:
    samples = load(f"jbb@{shared('jbb')}")
    assert Counter(s.expected for s in samples) == {"refuse": 100, "comply": 100}
    for kind in ("refuse", "comply"):
        cats = Counter(s.category for s in samples if s.expected == kind)
        assert cats == dict.fromkeys(cats, 10) and len(cats) == 10


def test_real_do_not_answer() -> None:
    samples = load(f"do-not-answer@{shared('do-not-answer')}")
    assert len(samples) == 939
    assert len({s.category for s in samples}) == 12
    assert len({s.meta["risk_area"] for s in samples}) == 5
    assert len({(s.category, s.meta["specific_harm"]) for s in samples}) == 61
    assert set(Counter(s.harm_area for s in samples)) <= set(HARM_AREA_SLUGS) - {"benign"}


# --- hf:DATASET ------------------------------------------------------------------------------


def test_hf_choose_files() -> None:
    files = [
        "README.md",
        "data/train-00000-of-00001.parquet",
        "data/test-00000-of-00002.parquet",
        "data/test-00001-of-00002.parquet",
        "dataset_info.json",
    ]
    assert hf.choose_files(files, dataset="o/d", split="test", config=None) == files[2:4]
    with pytest.raises(ConfigError, match=r"several splits \(test, train\); pick one with --split"):
        hf.choose_files(files, dataset="o/d", split=None, config=None)
    with pytest.raises(ConfigError, match="no split 'dev'; splits: test, train"):
        hf.choose_files(files, dataset="o/d", split="dev", config=None)
    configs = ["en/test.csv", "fr/test.csv"]
    with pytest.raises(ConfigError, match="several configs"):
        hf.choose_files(configs, dataset="o/d", split=None, config=None)
    assert hf.choose_files(configs, dataset="o/d", split=None, config="fr") == ["fr/test.csv"]
    assert hf.choose_files(["prompts.csv"], dataset="o/d", split=None, config=None) == [
        "prompts.csv"
    ]
    with pytest.raises(DataError, match="no CSV"):
        hf.choose_files(["README.md"], dataset="o/d", split=None, config=None)


def test_hf_suite_maps_columns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = fx.write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"question": "placeholder a", "label": "unsafe"},
            {"question": "placeholder b", "label": "safe"},
        ],
    )
    calls = fake_hub(monkeypatch, {("o/d", "test.jsonl"): data, ("o/d", "README.md"): data})
    suite = build_suite(
        "hf:o/d", {"prompt_column": "question", "expected_column": "label", "revision": "abc"}
    )
    a, b = suite.load()
    assert (a.suite, a.id, a.prompt, a.expected) == ("hf:o/d", "row-1", "placeholder a", "refuse")
    assert (b.expected, b.harm_area) == ("comply", "benign")
    assert calls[-1]["revision"] == "abc"
    assert suite.provenance["files"]["test.jsonl"]["sha256"]  # type: ignore[attr-defined]
    assert suite.info.name == "hf:o/d"  # type: ignore[attr-defined]


def test_hf_suite_errors() -> None:
    with pytest.raises(ConfigError, match="needs a dataset"):
        build_suite("hf")
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        build_suite("hf:o/d", {"colour": "red"})
    with pytest.raises(UserError, match="file:PATH"):
        build_suite("hf:o/d").load()  # offline


# --- system prompts --------------------------------------------------------------------------


def test_system_prompt_presets() -> None:
    assert set(SYSTEM_PROMPTS) == {"safety", "none"}
    assert resolve_system_prompt("safety") == SAFETY_SYSTEM_PROMPT
    assert resolve_system_prompt(" Safety ") == SAFETY_SYSTEM_PROMPT
    assert resolve_system_prompt("none") is None
    assert resolve_system_prompt(None) is None
    assert resolve_system_prompt("  ") is None
    assert resolve_system_prompt("Be terse.") == "Be terse."
    assert resolve_system_prompt("nonee") == "nonee"
    assert "safety" in SAFETY_SYSTEM_PROMPT.lower() and "\n" not in SAFETY_SYSTEM_PROMPT


# --- the command line ------------------------------------------------------------------------


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from thinksafe.cli import suites as _suites  # noqa: F401  (registers the command)
    from thinksafe.cli.main import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_every_suite(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["suites", "--json"], capsys)
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == set(registry.suites.names())
    assert rows["harmbench"]["size"] == 400 and rows["harmbench"]["licence"] == "MIT"
    assert rows["wildguardtest"]["data"] == "Hub (gated)"
    assert rows["cyberseceval-mitre"]["data"] == "GitHub (pinned)"
    code, out, _ = run_cli(["suites"], capsys)
    assert code == 0 and "air-bench-2024" in out and "5,694" in out


def test_cli_show_counts_without_prompt_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = fx.harmbench(tmp_path)
    code, out, _ = run_cli(["suites", "show", f"harmbench@{folder}", "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["samples"] == 4 and summary["expected"] == {"refuse": 4}
    assert summary["categories"]["copyright"] == {"samples": 1, "refuse": 1, "comply": 0}
    assert summary["harm_areas"]["cyber"] == 1 and summary["example_id"] == "hb_one"
    assert "placeholder behaviour" not in out
    code, out, _ = run_cli(["suites", "show", f"harmbench@{folder}", "-o", "split=val"], capsys)
    assert code == 0 and "1 samples" in out and "placeholder" not in out


def test_cli_show_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["suites", "show", "sst"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--suite sst@PATH" in err
    code, _, err = run_cli(["suites", "show", "sst", "-o", "nokey"], capsys)
    assert code == 2 and "KEY=VALUE" in err

"""``wildguardtest`` and ``wildjailbreak``: adversarial harmful and adversarial benign prompts
from AI2's WildGuard and WildTeaming work. Both datasets are gated on the Hub: accept their
terms on the dataset page and log in (``huggingface-cli login`` or ``HF_TOKEN``).

``wildguardtest`` (``allenai/wildguardmix``, ``test/wildguard_test.parquet``): 1,725 prompts,
vanilla and adversarial, labelled ``prompt_harm_label`` harmful (must refuse) or unharmful
(must answer); ``category`` is the ``subcategory`` (``benign`` or one of 13 risk categories),
``meta.adversarial`` says whether the prompt is a jailbreak-style rewrite. A row without a
prompt label takes its expectation from its subcategory (``meta.expected_from``). Options
``adversarial=true|false`` and ``harmful=true|false`` keep one part (both ``true``: the
adversarial harmful prompts); ids stay those of the whole file.

``wildjailbreak`` (``allenai/wildjailbreak``, ``eval/eval.tsv``): 2,210 adversarial prompts,
2,000 harmful (must refuse) and 210 benign (must answer); ``category`` is the ``data_type``.
Option ``split=train`` reads ``train/train.tsv`` instead (about 262,000 rows, four data types;
the adversarial prompt is used when there is one, else the vanilla one).

Neither dataset publishes a commit that could be checked without network while this loader was
written, so both follow ``main``; option ``revision`` pins a commit. These loaders are tested on
small files written in the official formats, not on the real data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from thinksafe import registry
from thinksafe.errors import DataError
from thinksafe.records import Expected, Sample, messages_from
from thinksafe.suites.base import normalise_expected
from thinksafe.suites.hub import HubFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    parse_file,
    read_table,
    require_columns,
    text,
)

# --- wildguardtest ---------------------------------------------------------------------------

WGT = "wildguardtest"
WGT_REPO = "allenai/wildguardmix"
WGT_FILE = "test/wildguard_test.parquet"
WGT_NAMES: tuple[str, ...] = (
    "wildguard_test.parquet",
    "wildguard_test.jsonl",
    "wildguard_test.json",
    "wildguard_test.csv",
)

SUBCATEGORY_AREAS: dict[str, str] = {
    "benign": "benign",
    "private_information_individual": "privacy",
    "sensitive_information_organization_government": "privacy",
    "social_stereotypes_and_unfair_discrimination": "hate",
    "toxic_language_hate_speech": "hate",
    "violence_and_physical_harm": "violence",
    "fraud_assisting_illegal_activities": "fraud",
    "cyberattack": "cyber",
    "mental_health_over-reliance_crisis": "self_harm",
    "defamation_encouraging_unethical_or_unsafe_actions": "misinformation",
    "causing_material_harm_by_disseminating_misinformation": "misinformation",
    "disseminating_false_or_misleading_information_encouraging_disinformation_campaigns": (
        "misinformation"
    ),
    "copyright_violations": "other",
    "sexual_content": "sexual",
    "others": "other",
}
SUBCATEGORIES: tuple[str, ...] = tuple(SUBCATEGORY_AREAS)
UNLABELLED = "unlabelled"


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def wgt_expected(label: str, subcategory: str) -> tuple[Expected, str]:
    """Expected behaviour and what it was read from (the prompt label, else the subcategory)."""
    low = label.lower()
    if low == "harmful":
        return "refuse", "prompt_harm_label"
    if low == "unharmful":
        return "comply", "prompt_harm_label"
    return ("comply" if subcategory == "benign" else "refuse"), "subcategory"


def parse_wildguardtest(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    require_columns(rows, ("prompt", "prompt_harm_label"), display, f"WildGuardTest {WGT_FILE}")
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        subcategory = text(row, "subcategory")
        label = text(row, "prompt_harm_label")
        if not subcategory and not label:
            raise DataError(f"{display}: row {i + 1} has neither prompt_harm_label nor subcategory")
        expected, source = wgt_expected(label, subcategory)
        area = "benign" if expected == "comply" else SUBCATEGORY_AREAS.get(subcategory, "other")
        if area == "benign" and expected == "refuse":
            area = "other"
        adversarial = as_bool(row.get("adversarial", False))
        samples.append(
            Sample(
                id=f"wgt-{i}",
                suite=WGT,
                messages=messages_from(cell(row, "prompt", display, i)),
                category=subcategory or UNLABELLED,
                harm_area=area,
                expected=expected,
                meta={
                    "adversarial": adversarial,
                    "prompt_type": "adversarial" if adversarial else "vanilla",
                    "prompt_harm_label": label,
                    "expected_from": source,
                },
            )
        )
    return samples


BOOL_CHOICES: tuple[str, ...] = ("true", "false")


def keep_part(samples: list[Sample], options: Mapping[str, str]) -> list[Sample]:
    """The samples the ``adversarial`` and ``harmful`` options keep (all when neither is given);
    ``harmful`` follows the expected behaviour (``refuse`` is harmful)."""
    kept = samples
    if "adversarial" in options:
        want = options["adversarial"] == "true"
        kept = [s for s in kept if bool(s.meta.get("adversarial")) is want]
    if "harmful" in options:
        want = options["harmful"] == "true"
        kept = [s for s in kept if (s.expected == "refuse") is want]
    return kept


class WildGuardTestSuite(OfficialSuite):
    NAME = WGT
    OPTIONS: ClassVar[Mapping[str, Sequence[str] | None]] = {
        "revision": None,
        "adversarial": BOOL_CHOICES,
        "harmful": BOOL_CHOICES,
    }

    def __init__(
        self,
        *,
        path: str | None = None,
        arg: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        given = dict(options or {})
        for key in ("adversarial", "harmful"):
            if isinstance(given.get(key), (bool, str)):
                given[key] = str(given[key]).strip().lower()
        super().__init__(path=path, arg=arg, options=given)

    def locate(self) -> dict[str, Located]:
        revision = self.options.get("revision", "main")
        remote = HubFile(WGT_REPO, WGT_FILE, revision=revision, gated=True)
        return self.locate_one("test", remote, WGT_NAMES)

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        samples = parse_file(files["test"], parse_wildguardtest)
        kept = keep_part(samples, self.options)
        if samples and not kept:
            chosen = ", ".join(
                f"{k}={self.options[k]}" for k in ("adversarial", "harmful") if k in self.options
            )
            raise DataError(
                f"{files['test'].display}: no prompt is {chosen}; drop or change the option"
            )
        return kept


@registry.suites.register(
    WGT,
    description="WildGuardTest: 1,725 vanilla and adversarial prompts, harmful (must refuse)"
    " or unharmful (must answer); gated on the Hub",
    source=f"https://huggingface.co/datasets/{WGT_REPO}",
    licence="ODC-BY-1.0",
    citation="Han et al. (2024). WildGuard: Open One-Stop Moderation Tools for Safety Risks,"
    " Jailbreaks, and Refusals of LLMs. arXiv:2406.18495",
    size=1725,
    expected="mixed",
    categories=[*SUBCATEGORIES, UNLABELLED],
    gated=True,
    options={
        "revision": "a Hub commit (default main)",
        "adversarial": "true: only adversarial prompts; false: only vanilla ones",
        "harmful": "true: only harmful prompts (must refuse); false: only unharmful ones",
    },
    remote=HubFile(WGT_REPO, WGT_FILE, revision="main").url,
    files=list(WGT_NAMES),
    fixtures_only=True,
)
def make_wildguardtest(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> WildGuardTestSuite:
    """``wildguardtest`` (gated Hub dataset) or ``wildguardtest@PATH``."""
    return WildGuardTestSuite(path=path, arg=arg, options=options)


# --- wildjailbreak ---------------------------------------------------------------------------

WJB = "wildjailbreak"
WJB_REPO = "allenai/wildjailbreak"
WJB_SPLITS: tuple[str, ...] = ("eval", "train")
DATA_TYPES: tuple[str, ...] = (
    "adversarial_harmful",
    "adversarial_benign",
    "vanilla_harmful",
    "vanilla_benign",
)


def wjb_file(split: str) -> str:
    return f"{split}/{split}.tsv"


def wjb_expected(data_type: str, label: str) -> Expected | None:
    if data_type.endswith("_harmful"):
        return "refuse"
    if data_type.endswith("_benign"):
        return "comply"
    return normalise_expected(label)


def parse_wildjailbreak(rows: list[dict[str, Any]], display: str, split: str) -> list[Sample]:
    require_columns(rows, ("adversarial", "data_type"), display, f"WildJailbreak {split}.tsv")
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        data_type = cell(row, "data_type", display, i)
        label = text(row, "label")
        expected = wjb_expected(data_type, label)
        if expected is None:
            raise DataError(
                f"{display}: row {i + 1}: data_type {data_type!r} is neither *_harmful nor"
                " *_benign and there is no 0/1 label"
            )
        adversarial = text(row, "adversarial")
        vanilla = text(row, "vanilla")
        prompt = adversarial or vanilla
        if not prompt:
            raise DataError(f"{display}: row {i + 1} has no prompt")
        meta: dict[str, Any] = {
            "split": split,
            "prompt_type": "adversarial" if adversarial else "vanilla",
        }
        if label:
            meta["label"] = label
        if vanilla and adversarial:
            meta["vanilla"] = vanilla
        samples.append(
            Sample(
                id=f"wjb-{split}-{i}",
                suite=WJB,
                messages=messages_from(prompt),
                category=data_type,
                harm_area="other" if expected == "refuse" else "benign",
                expected=expected,
                meta=meta,
            )
        )
    return samples


class WildJailbreakSuite(OfficialSuite):
    NAME = WJB
    OPTIONS: ClassVar[Mapping[str, Sequence[str] | None]] = {"split": WJB_SPLITS, "revision": None}
    ARG_OPTION = "split"

    @property
    def split(self) -> str:
        return self.options.get("split", "eval")

    def locate(self) -> dict[str, Located]:
        split = self.split
        revision = self.options.get("revision", "main")
        remote = HubFile(WJB_REPO, wjb_file(split), revision=revision, gated=True)
        return self.locate_one(split, remote, (wjb_file(split), f"{split}.tsv"))

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        split, f = next(iter(files.items()))
        return parse_wildjailbreak(read_table(f.path, f.display), f.display, split)


@registry.suites.register(
    WJB,
    description="WildJailbreak eval: 2,000 adversarial harmful prompts (must refuse) and 210"
    " adversarial benign ones (must answer); gated on the Hub",
    source=f"https://huggingface.co/datasets/{WJB_REPO}",
    licence="ODC-BY-1.0",
    citation="Jiang et al. (2024). WildTeaming at Scale: From In-the-Wild Jailbreaks to"
    " (Adversarially) Safer Language Models. arXiv:2406.18510",
    size=2210,
    expected="mixed",
    categories=list(DATA_TYPES),
    gated=True,
    options={"split": list(WJB_SPLITS), "revision": "a Hub commit (default main)"},
    remote=HubFile(WJB_REPO, wjb_file("eval"), revision="main").url,
    files=[wjb_file(s) for s in WJB_SPLITS],
    fixtures_only=True,
)
def make_wildjailbreak(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> WildJailbreakSuite:
    """``wildjailbreak`` (gated Hub dataset) or ``wildjailbreak@PATH``; option ``split``."""
    return WildJailbreakSuite(path=path, arg=arg, options=options)

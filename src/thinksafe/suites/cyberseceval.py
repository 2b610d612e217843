"""``cyberseceval-injection`` and ``cyberseceval-mitre``: two benchmarks of Meta's CyberSecEval
(the ``CybersecurityBenchmarks`` of PurpleLlama), read from their JSON files. They have no
Hub copy: give ``NAME@PATH`` (the file, a folder holding it, or an ``https://`` URL of it).

``cyberseceval-injection`` (``datasets/prompt_injection/prompt_injection.json``, 251 cases;
the multilingual file has the same fields): each case is a system prompt (``test_case_prompt``)
that a developer wrote and a user turn (``user_input``) carrying a direct or indirect
injection. The model must not follow the injection (``expected: refuse``); the benchmark's own
``judge_question`` (did the injection succeed?) is kept in ``meta`` for a judge to ask.
``category`` is the ``injection_variant``; security-violating cases map to ``cyber``,
logic-violating ones to ``other``.

``cyberseceval-mitre`` (``datasets/mitre/mitre_benchmark_100_per_category_with_augmentation.json``,
1,000 prompts, 100 per MITRE ATT&CK tactic): requests for help with a cyber attack, sent as
written in ``mutated_prompt`` (as the benchmark does); ``category`` is the ``mitre_category``,
the TTP and the ``base_prompt`` stay in ``meta``; all are ``cyber`` and must be refused.

These loaders are tested on small files written in the official formats, not on the real data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.errors import DataError, UserError
from thinksafe.records import Message, Sample
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    parse_file,
    require_columns,
    text,
)

REPO_URL = "https://github.com/meta-llama/PurpleLlama"
BENCH_DIR = "CybersecurityBenchmarks/datasets"
CITATION = (
    "Bhatt et al. (2023). Purple Llama CyberSecEval: A Secure Coding Benchmark for Language"
    " Models. arXiv:2312.04724; Bhatt et al. (2024). CyberSecEval 2: A Wide-Ranging"
    " Cybersecurity Evaluation Suite for Large Language Models. arXiv:2404.13161"
)


def need_path(suite: str, official: str) -> UserError:
    return UserError(
        f"suite {suite!r} reads PurpleLlama's {BENCH_DIR}/{official} ({REPO_URL}): download it"
        f" and run --suite {suite}@PATH (a folder holding it, or an https:// URL of it)"
    )


class _CyberSecEvalSuite(OfficialSuite):
    OFFICIAL: tuple[str, ...] = ()

    def locate(self) -> dict[str, Located]:
        if self.path is None:
            raise need_path(self.NAME, self.OFFICIAL[0])
        return {"cases": self.located_path([n.rsplit("/", 1)[-1] for n in self.OFFICIAL])}


# --- prompt injection ------------------------------------------------------------------------

INJECTION = "cyberseceval-injection"
INJECTION_VARIANTS: tuple[str, ...] = (
    "ignore_previous_instructions",
    "indirect_reference",
    "token_smuggling",
    "system_mode",
    "different_user_input_language",
    "information_overload",
    "few_shot_attack",
    "many_shot_attack",
    "repeated_token_attack",
    "output_formatting_manipulation",
    "hypothetical_scenario",
    "payload_splitting",
    "virtualization",
    "persuasion",
    "mixed_techniques",
)
RISK_AREAS: dict[str, str] = {"security-violating": "cyber", "logic-violating": "other"}


def parse_injection(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    require_columns(
        rows,
        ("test_case_prompt", "user_input", "judge_question"),
        display,
        "CyberSecEval prompt_injection.json",
    )
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        risk = text(row, "risk_category")
        prompt_id = text(row, "prompt_id") or str(i)
        samples.append(
            Sample(
                id=f"cse-pi-{prompt_id}",
                suite=INJECTION,
                messages=(
                    Message("system", cell(row, "test_case_prompt", display, i)),
                    Message("user", cell(row, "user_input", display, i)),
                ),
                category=text(row, "injection_variant") or "unspecified",
                harm_area=RISK_AREAS.get(risk, "other"),
                expected="refuse",
                meta={
                    "judge_question": cell(row, "judge_question", display, i),
                    "injection_type": text(row, "injection_type"),
                    "injection_variant": text(row, "injection_variant"),
                    "risk_category": risk,
                    "speaking_language": text(row, "speaking_language"),
                },
            )
        )
    return samples


class InjectionSuite(_CyberSecEvalSuite):
    NAME = INJECTION
    OFFICIAL = (
        "prompt_injection/prompt_injection.json",
        "prompt_injection/prompt_injection_multilingual.json",
        "prompt_injection/prompt_injection_multilingual_machine_translated.json",
    )

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["cases"], parse_injection)


@registry.suites.register(
    INJECTION,
    description="CyberSecEval prompt injection: 251 system prompts with a direct or indirect"
    " injection in the user turn (must not follow it); needs NAME@PATH",
    source=f"{REPO_URL}/tree/main/{BENCH_DIR}/prompt_injection",
    licence="MIT",
    citation=CITATION,
    size=251,
    expected="refuse",
    categories=list(INJECTION_VARIANTS),
    needs_path=True,
    files=list(InjectionSuite.OFFICIAL),
    fixtures_only=True,
)
def make_injection(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> InjectionSuite:
    """``cyberseceval-injection@PATH``."""
    return InjectionSuite(path=path, arg=arg, options=options)


# --- MITRE -----------------------------------------------------------------------------------

MITRE = "cyberseceval-mitre"
TACTICS: tuple[str, ...] = (
    "C2",
    "Collection",
    "Discovery",
    "Evasion",
    "Execution",
    "Exfil",
    "Lateral Movement",
    "Persistence",
    "Privilege Escalation",
    "Recon",
)
PROMPT_FIELDS: tuple[str, ...] = ("mutated_prompt", "test_case_prompt", "user_prompt")


def parse_mitre(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    if not rows:
        raise DataError(f"{display}: the file has no cases")
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        prompt = next((text(row, f) for f in PROMPT_FIELDS if text(row, f)), "")
        category = text(row, "mitre_category") or text(row, "category")
        if not prompt or not category:
            missing = "mutated_prompt" if not prompt else "mitre_category"
            raise DataError(
                f"{display}: case {i + 1} has no {missing}; is this the official CyberSecEval"
                " MITRE file?"
            )
        ttp = row.get("ttp_id_name_mapping")
        ttp = ttp if isinstance(ttp, dict) else {}
        messages: list[Message] = []
        if text(row, "system_prompt"):
            messages.append(Message("system", text(row, "system_prompt")))
        messages.append(Message("user", prompt))
        samples.append(
            Sample(
                id=f"cse-mitre-{i}",
                suite=MITRE,
                messages=tuple(messages),
                category=category,
                harm_area="cyber",
                expected="refuse",
                meta={
                    "ttp_id": str(ttp.get("TTP_ID", "")),
                    "ttp_name": str(ttp.get("TTP_Name", "")),
                    "base_prompt": text(row, "base_prompt"),
                },
            )
        )
    return samples


class MitreSuite(_CyberSecEvalSuite):
    NAME = MITRE
    OFFICIAL = (
        "mitre/mitre_benchmark_100_per_category_with_augmentation.json",
        "mitre/mitre_benchmark_100_per_category.json",
    )

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["cases"], parse_mitre)


@registry.suites.register(
    MITRE,
    description="CyberSecEval MITRE: 1,000 requests for help with cyber attacks, 100 per"
    " ATT&CK tactic (must refuse); needs NAME@PATH",
    source=f"{REPO_URL}/tree/main/{BENCH_DIR}/mitre",
    licence="MIT",
    citation=CITATION,
    size=1000,
    expected="refuse",
    categories=list(TACTICS),
    needs_path=True,
    files=list(MitreSuite.OFFICIAL),
    fixtures_only=True,
)
def make_mitre(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> MitreSuite:
    """``cyberseceval-mitre@PATH``."""
    return MitreSuite(path=path, arg=arg, options=options)

"""``do-not-answer``: Do-Not-Answer, 939 questions a responsible model should not answer.

Each question carries a three-level risk taxonomy: 5 risk areas, 12 types of harm and 61
specific harms. ``category`` is the type of harm (12: fine enough to act on, coarse enough to
report); all three levels are kept in ``meta`` (``risk_area``, ``types_of_harm``,
``specific_harms`` as written, and ``specific_harm``, its name before the colon). Official
file: ``data_en.csv`` on the Hub (``LibrAI/do-not-answer``); its columns with the responses of
six models are not read here.

The harm area follows the type of harm, refined by the specific harm where a type spans
several areas (``Assisting illegal activities`` covers drugs, fraud, hacking and violence).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thinksafe import registry
from thinksafe.records import Sample, messages_from
from thinksafe.suites.hub import HubFile
from thinksafe.suites.official import (
    Located,
    OfficialSuite,
    cell,
    parse_file,
    require_columns,
    text,
)

NAME = "do-not-answer"
REPO = "LibrAI/do-not-answer"
FILE_NAME = "data_en.csv"
REMOTE = HubFile(REPO, FILE_NAME, revision="c53bd1d0f91b2c908fe6a16d7cda3cf8c69c46c4")

TYPE_AREAS: dict[str, str] = {
    "Adult Content": "sexual",
    "Assisting illegal activities": "illegal_items",
    "Causing material harm by disseminating misinformation e.g. in medicine or law": (
        "misinformation"
    ),
    "Compromise privacy by leaking or inferring private information (person/individual)": (
        "privacy"
    ),
    "Disseminating false or misleading information": "misinformation",
    "Mental Health or Overreliance Crisis": "other",
    "Nudging or advising users to perform unethical or unsafe actions": "other",
    "Reducing the cost of disinformation campaigns": "misinformation",
    "Risks from leaking or inferring sensitive information (organization/gov)": "privacy",
    "Social stereotypes and unfair discrimination": "hate",
    "Toxic language (hate speech)": "hate",
    "Treat Chatbot as a Human": "other",
}
TYPES: tuple[str, ...] = tuple(TYPE_AREAS)

# Specific harms (the name before the colon) whose area differs from their type's.
SPECIFIC_AREAS: dict[str, str] = {
    "Animal Abuse/Cruelty/Poaching": "violence",
    "Copyright Infringement": "other",
    "Financial Crimes": "fraud",
    "Illegal Digital Activities": "cyber",
    "Illegitimate surveillance and censorship": "privacy",
    "Sexual Exploitation and Pornography": "sexual",
    "Terrorist Activities": "violence",
    "Threats and Intimidation": "violence",
    "Violence and Physical Harm": "violence",
    "Graphic Violence": "violence",
    "Self-Harm": "self_harm",
    "Endorsement of Cyberbullying or Online Harassment": "hate",
    "Trolling or Flame baiting": "hate",
    "Defamatory Content": "misinformation",
    "Cybersecurity Vulnerabilities": "cyber",
}


def specific_name(value: str) -> str:
    return value.split(":", 1)[0].strip()


def harm_area_of(types_of_harm: str, specific: str) -> str:
    return SPECIFIC_AREAS.get(specific, TYPE_AREAS.get(types_of_harm, "other"))


def parse_rows(rows: list[dict[str, Any]], display: str) -> list[Sample]:
    require_columns(
        rows,
        ("id", "risk_area", "types_of_harm", "specific_harms", "question"),
        display,
        "Do-Not-Answer data_en.csv",
    )
    samples: list[Sample] = []
    for i, row in enumerate(rows):
        types_of_harm = cell(row, "types_of_harm", display, i)
        specific_harms = text(row, "specific_harms")
        specific = specific_name(specific_harms)
        samples.append(
            Sample(
                id=f"dna-{cell(row, 'id', display, i)}",
                suite=NAME,
                messages=messages_from(cell(row, "question", display, i)),
                category=types_of_harm,
                harm_area=harm_area_of(types_of_harm, specific),
                expected="refuse",
                meta={
                    "risk_area": text(row, "risk_area"),
                    "types_of_harm": types_of_harm,
                    "specific_harms": specific_harms,
                    "specific_harm": specific,
                },
            )
        )
    return samples


class DoNotAnswerSuite(OfficialSuite):
    NAME = NAME

    def locate(self) -> dict[str, Located]:
        return self.locate_one("questions", REMOTE, (FILE_NAME,))

    def parse(self, files: Mapping[str, Located]) -> list[Sample]:
        return parse_file(files["questions"], parse_rows)


@registry.suites.register(
    NAME,
    description="Do-Not-Answer: 939 risky questions, 5 risk areas / 12 types of harm / 61"
    " specific harms (must not be answered)",
    source=f"https://huggingface.co/datasets/{REPO}",
    licence="Apache-2.0",
    citation="Wang et al. (2023). Do-Not-Answer: A Dataset for Evaluating Safeguards in LLMs."
    " arXiv:2308.13387",
    size=939,
    expected="refuse",
    categories=list(TYPES),
    remote=REMOTE.url,
    files=[FILE_NAME],
)
def make_do_not_answer(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> DoNotAnswerSuite:
    """``do-not-answer`` (from the Hub) or ``do-not-answer@PATH``."""
    return DoNotAnswerSuite(path=path, arg=arg, options=options)

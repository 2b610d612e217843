"""What labelled sets share: the item and set types, reading label values, finding files.

A labelled set is a list of responses that people have already judged safe or unsafe (the
truth), each a :class:`~thinksafe.run.transcripts.Transcript` so our judges can read it through the
engine, optionally with the verdicts of published judges on the same rows (``predictions``).
The positive class is **unsafe**.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from thinksafe.errors import DataError, UserError
from thinksafe.records import Completion, Label, Sample
from thinksafe.run.transcripts import Transcript
from thinksafe.suites.official import require_in_folder

Truth = Literal["safe", "unsafe"]
SetChannel = Literal["answer", "reasoning", "either"]

UNSAFE_VALUES: frozenset[str] = frozenset(
    {"unsafe", "harmful", "1", "1.0", "yes", "y", "true", "t", "positive", "jailbroken"}
)
"""Label values read as unsafe (compared lower-cased, spaces trimmed)."""

SAFE_VALUES: frozenset[str] = frozenset(
    {
        "safe",
        "harmless",
        "unharmful",
        "not harmful",
        "not_harmful",
        "benign",
        "0",
        "0.0",
        "no",
        "n",
        "false",
        "f",
        "negative",
    }
)
"""Label values read as safe."""


def _plain(value: object) -> str | None:
    """A cell as lower-case text; ``None`` for a missing or empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return None
    text = str(value).strip().lower()
    return text or None


def read_label(value: object, positive: Collection[str] = ()) -> Truth | None:
    """A human label as ``unsafe`` or ``safe``; ``None`` when the value is empty or unknown.

    With ``positive`` values given, those values (any case) are unsafe and every other
    non-empty value is safe; otherwise the common forms apply (unsafe, harmful, 1, yes, true
    are unsafe; safe, harmless, unharmful, benign, 0, no, false are safe).
    """
    text = _plain(value)
    if text is None:
        return None
    if positive:
        return "unsafe" if text in {p.strip().lower() for p in positive} else "safe"
    if text in UNSAFE_VALUES:
        return "unsafe"
    if text in SAFE_VALUES:
        return "safe"
    return None


def read_prediction(value: object) -> Label:
    """A published judge's verdict: ``unsafe``, ``safe``, or ``unscorable`` for an empty or
    unknown value (never counted as safe)."""
    truth = read_label(value)
    return "unscorable" if truth is None else truth


@dataclass(frozen=True)
class LabelledItem:
    """One response with its human label and, optionally, published judges' verdicts.

    ``source`` names what produced the response (a model, a file): rows of one source that
    share a prompt are replayed in separate runs.
    """

    transcript: Transcript
    label: Truth
    predictions: Mapping[str, Label] = field(default_factory=dict)
    source: str = ""

    @property
    def sample(self) -> Sample:
        return self.transcript.sample

    @property
    def completion(self) -> Completion:
        return self.transcript.completion


@dataclass(frozen=True)
class LabelledSet:
    """A loaded labelled set."""

    spec: str
    name: str
    items: tuple[LabelledItem, ...]
    label_rule: str
    predictions: Mapping[str, str] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    channel: SetChannel = "answer"
    """The channel the labels describe: what ``judge-eval`` measures unless told otherwise."""

    def limited(self, limit: int | None) -> LabelledSet:
        """The first ``limit`` items (all when ``None``)."""
        if limit is None:
            return self
        return LabelledSet(
            self.spec,
            self.name,
            self.items[:limit],
            self.label_rule,
            self.predictions,
            self.provenance,
            self.channel,
        )


Loader = Callable[[str | None], LabelledSet]


@dataclass(frozen=True)
class LabelledSetInfo:
    """A registered labelled set: its metadata and its loader (``path`` is ``NAME@PATH``'s
    PATH, or ``None`` for the official remote copy)."""

    name: str
    description: str
    source: str
    licence: str
    citation: str
    files: tuple[str, ...]
    load: Loader
    predictions: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def local_path(name: str, path: str) -> Path:
    """``PATH`` of ``NAME@PATH`` as an existing file or folder."""
    local = Path(path).expanduser()
    if not local.exists():
        raise DataError(
            f"{path}: not found ({local.resolve()}); give {name}@PATH a local copy of the"
            " official files (a file or a folder)"
        )
    return local


def require_file(name: str, path: str, names: Sequence[str]) -> tuple[Path, str]:
    """The official file ``PATH`` names (the file itself, or one of ``names`` in the folder:
    :func:`~thinksafe.suites.official.find_in_folder`) and how messages show it."""
    local = local_path(name, path)
    if local.is_file():
        return local, path
    found = require_in_folder(name, local, names, path, spec=f"{name}@PATH")
    return found, f"{path}/{found.name}"


def hub_url(repo: str, filename: str, revision: str) -> str:
    """The plain HTTPS address of a file of a public Hugging Face dataset repository."""
    return f"https://huggingface.co/datasets/{repo}/resolve/{revision}/{filename}"


def fetch_url(url: str, name: str) -> Path:
    """A remote official file, downloaded once into the thinksafe cache (see
    :func:`thinksafe.suites.hub.url_download`); any failure is one line that names
    ``NAME@PATH``."""
    from thinksafe.suites import hub

    try:
        return hub.url_download(hub.UrlFile(url), suite=name)
    except UserError as exc:
        reason = str(exc).replace(", " + hub.way_out(name), "").rstrip(" ,;.")
        reason = reason.replace(f"suite {name!r} needs", "it needs")
        raise UserError(
            f"labelled set {name!r}: {reason}; or download the official files yourself and run"
            f" thinksafe judge-eval {name}@PATH"
        ) from None


def column_names(rows: Iterable[Mapping[str, Any]]) -> str:
    for row in rows:
        return ", ".join(repr(k) for k in row) or "none"
    return "none"

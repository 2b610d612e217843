"""Replay of published attack artifacts: the jailbreak prompts an attack found, sent again.

``jbb-artifact:METHOD,model=MODEL`` reads JailbreakBench's artifact of attack METHOD against
MODEL (``attack-artifacts/METHOD/TYPE/MODEL.json`` in the JailbreakBench/artifacts repository,
MIT), fetched once at a pinned commit and cached like a suite's official files;
``jbb-artifact:METHOD@PATH`` reads a local copy (the file, or a folder laid out like the
repository). For each sample of the run whose request is one of the artifact's behaviours
(matched by its goal, else, for a must-refuse JailbreakBench sample, by its behaviour name),
the recorded jailbreak prompt is sent in place of the request. A sample the artifact holds no
prompt for is sent nothing and is counted as ``no_artifact``: an outcome of its own, never safe.

Nothing of the artifacts is shipped: the file is read where it is published, and every run
records its URL, commit, file, SHA-256 and licence (``attack_sources``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinksafe import registry
from thinksafe.attacks import Attack, AttackContext, replace_last_user
from thinksafe.errors import ConfigError, DataError, UserError
from thinksafe.records import Attempt, Sample
from thinksafe.spec import attack_args
from thinksafe.suites.hub import UrlFile, is_url, sha256_file, url_download

REPO = "JailbreakBench/artifacts"
REPO_URL = f"https://github.com/{REPO}"
RAW = f"https://raw.githubusercontent.com/{REPO}"
LICENCE = "MIT"
NO_ARTIFACT = "no_artifact"

# The commit each method's files are read at (the repository's history, as published).
COMMITS: dict[str, str] = {
    "PAIR": "1b8eaeb1d71869cf2621cbe8f1f3dbf6b8fe8d4c",
    "GCG": "1b8eaeb1d71869cf2621cbe8f1f3dbf6b8fe8d4c",
    "JBC": "1b8eaeb1d71869cf2621cbe8f1f3dbf6b8fe8d4c",
    "prompt_with_random_search": "1ca21dea45638450b1457a09da389cf9f700ed67",
    "DSN": "909e68c01d94222b8ad2e397a017e2e12e2adb73",
}
# The folder (attack type) of each method's files; GCG against a closed model is a transfer.
TYPES: dict[str, str] = {
    "PAIR": "black_box",
    "GCG": "white_box",
    "JBC": "manual",
    "prompt_with_random_search": "black_box",
    "DSN": "white_box",
}
ATTACK_TYPES: tuple[str, ...] = ("black_box", "white_box", "transfer", "manual")
MODELS: tuple[str, ...] = (
    "vicuna-13b-v1.5",
    "llama-2-7b-chat-hf",
    "gpt-3.5-turbo-1106",
    "gpt-4-0125-preview",
)
USAGE = (
    "--attack 'jbb-artifact:METHOD,model=MODEL' (METHOD: "
    + ", ".join(COMMITS)
    + f"; MODEL: {', '.join(MODELS)}) or --attack 'jbb-artifact:METHOD@PATH'"
)


def canonical_method(name: str) -> str:
    """The method's name as the repository spells it (case aside); unknown names unchanged."""
    return next((m for m in COMMITS if m.lower() == name.lower()), name)


def default_type(method: str, model: str) -> str | None:
    if method == "GCG" and model.startswith("gpt-"):
        return "transfer"
    return TYPES.get(method)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Entry:
    """One behaviour of an artifact: its goal, behaviour name and recorded jailbreak prompt
    (``None`` when the attack submitted none)."""

    index: int
    goal: str
    behavior: str
    prompt: str | None
    jailbroken: bool | None


def parse_artifact(data: bytes, display: str) -> tuple[dict[str, Any], list[Entry]]:
    """The ``parameters`` and the entries of an artifact file in JailbreakBench's format."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{display}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{display}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jailbreaks"), list):
        raise DataError(
            f"{display}: not a JailbreakBench artifact (it needs a 'jailbreaks' list); give the"
            " file attack-artifacts/METHOD/TYPE/MODEL.json"
        )
    found = doc.get("parameters")
    params: dict[str, Any] = found if isinstance(found, dict) else {}
    entries: list[Entry] = []
    for i, item in enumerate(doc["jailbreaks"]):
        if not isinstance(item, dict) or not isinstance(item.get("goal"), str):
            raise DataError(f"{display}: jailbreak {i} has no 'goal' text")
        prompt = item.get("prompt")
        jailbroken = item.get("jailbroken")
        entries.append(
            Entry(
                index=int(item.get("index", i)),
                goal=item["goal"],
                behavior=str(item.get("behavior") or ""),
                prompt=prompt if isinstance(prompt, str) and prompt.strip() else None,
                jailbroken=jailbroken if isinstance(jailbroken, bool) else None,
            )
        )
    return dict(params), entries


def _local_file(method: str, path: str, model: str | None, kind: str | None) -> Path:
    where = Path(path).expanduser()
    if where.is_file():
        return where
    if not where.is_dir():
        raise ConfigError(f"{path}: not found; give jbb-artifact:{method}@PATH a file or a folder")
    if model is None:
        raise ConfigError(
            f"{path} is a folder: name the model too, e.g. --attack"
            f" 'jbb-artifact:{method}@{path},model=vicuna-13b-v1.5'"
        )
    kinds = [kind] if kind else list(ATTACK_TYPES)
    for base in (where / "attack-artifacts" / method, where / method, where):
        for k in kinds:
            if (base / k / f"{model}.json").is_file():
                return base / k / f"{model}.json"
    found = sorted(
        p
        for p in where.rglob(f"{model}.json")
        if method in p.parts and (not kind or kind in p.parts)
    )
    if not found:
        raise ConfigError(f"no {method}/TYPE/{model}.json under {path}")
    return found[0]


def _download(url: str, method: str, what: str) -> Path:
    """The cached copy of ``url`` (downloaded once), or one line naming the local way."""
    try:
        return url_download(UrlFile(url), suite=f"jbb-artifact:{method}")
    except UserError as exc:
        first = str(exc).split(", or run from")[0]
        raise UserError(
            f"{first}, or give a local copy of {what}: --attack 'jbb-artifact:{method}@PATH'"
        ) from None


class ArtifactReplay:
    """Sends, for each sample, the artifact's recorded jailbreak prompt for its behaviour."""

    def __init__(self, spec: str, entries: Sequence[Entry], provenance: Mapping[str, Any]):
        self.spec = spec
        self._provenance = dict(provenance)
        self._by_goal = {_norm(e.goal): e for e in entries}
        behaviors: dict[str, list[Entry]] = {}
        for e in entries:
            if e.behavior:
                behaviors.setdefault(_norm(e.behavior), []).append(e)
        self._by_behavior = {k: v[0] for k, v in behaviors.items() if len(v) == 1}
        self._missing: dict[tuple[str, str], dict[str, str]] = {}

    def match(self, sample: Sample) -> tuple[Entry, str] | None:
        """The artifact's entry for ``sample`` and how it was found (``goal``, ``behavior``)."""
        entry = self._by_goal.get(_norm(sample.prompt))
        if entry is not None:
            return entry, "goal"
        behavior = str(sample.meta.get("behavior") or "")
        if sample.suite == "jbb" and sample.expected == "refuse" and behavior:
            found = self._by_behavior.get(_norm(behavior))
            if found is not None:
                return found, "behavior"
        return None

    async def prepare(self, samples: Sequence[Sample], context: AttackContext) -> None:
        """Before the run: which samples have no prompt; a run where none has is refused."""
        matched = 0
        for sample in samples:
            found = self.match(sample)
            if found is None or found[0].prompt is None:
                self._note_missing(sample)
            else:
                matched += 1
        if samples and not matched:
            raise ConfigError(
                f"{self.spec}: no sample of this run is a behaviour the artifact holds a prompt"
                " for; run it on --suite jbb (or a suite with JailbreakBench's goals)"
            )

    def _note_missing(self, sample: Sample) -> None:
        self._missing[(sample.suite, sample.id)] = {
            "sample_id": sample.id,
            "suite": sample.suite,
            "category": sample.category,
            "harm_area": sample.harm_area,
            "expected": sample.expected,
        }

    @property
    def provenance(self) -> dict[str, Any]:
        """Where the prompts came from, and the samples that had none (``no_artifact``)."""
        missing = [self._missing[k] for k in sorted(self._missing)]
        return {**self._provenance, NO_ARTIFACT: missing}

    def apply(self, sample: Sample) -> list[Attempt]:
        found = self.match(sample)
        if found is None or found[0].prompt is None:
            self._note_missing(sample)
            return []
        entry, how = found
        return [
            Attempt(
                sample_id=sample.id,
                attack=self.spec,
                messages=replace_last_user(sample.messages, entry.prompt or ""),
                attack_args={
                    "artifact": {
                        "index": entry.index,
                        "matched_by": how,
                        "jailbroken_as_published": entry.jailbroken,
                        "sha256": self._provenance.get("sha256"),
                    }
                },
            )
        ]


def _options(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for written, value in pairs:
        key = written.replace("licence", "license")
        if key not in ("model", "type", "commit", "license") or not value:
            part = f"{written}={value}"
            raise ConfigError(
                f"jbb-artifact: {part!r} is not understood; the options are model=, type=,"
                " commit=, licence="
            )
        out[key] = value
    return out


def load_artifact(arg: str) -> ArtifactReplay:
    """Parse ``METHOD[@PATH][,model=..][,type=..][,commit=..][,licence=..]`` and read the file."""
    parsed = attack_args("jbb-artifact", arg)
    at, path = parsed.path is not None, parsed.path or ""
    method = canonical_method(parsed.arg or "")
    options = _options(parsed.options)
    if not method:
        raise ConfigError(f"jbb-artifact needs an attack method: {USAGE}")
    model = options.get("model")
    kind = options.get("type")
    if kind is not None and kind not in ATTACK_TYPES:
        raise ConfigError(f"jbb-artifact: type must be one of {', '.join(ATTACK_TYPES)}")
    if at and path.strip() and not is_url(path.strip()):
        file = _local_file(method, path.strip(), model, kind)
        data = file.read_bytes()
        params, entries = parse_artifact(data, str(file))
        provenance: dict[str, Any] = {
            "package": None,
            "source": REPO_URL,
            "file": file.name,
            "sha256": sha256_file(file),
            "licence": options.get("license", LICENCE),
        }
    elif at and is_url(path.strip()):
        url = path.strip()
        file = _download(url, method, url.rsplit("/", 1)[-1])
        params, entries = parse_artifact(file.read_bytes(), url)
        provenance = {
            "package": None,
            "source": REPO_URL,
            "url": url,
            "file": file.name,
            "sha256": sha256_file(file),
            "licence": options.get("license", LICENCE),
        }
    else:
        if at:
            raise ConfigError(f"jbb-artifact: give a local file or folder after @ ({USAGE})")
        if not model:
            raise ConfigError(f"jbb-artifact:{method} needs the target model: {USAGE}")
        kind = kind or default_type(method, model)
        commit = options.get("commit") or COMMITS.get(method)
        if kind is None or commit is None:
            raise ConfigError(
                f"jbb-artifact: method {method!r} is not one thinksafe knows"
                f" ({', '.join(COMMITS)}); for another, give type= and commit= (a commit of the"
                " artifacts repository)"
            )
        rel = f"attack-artifacts/{method}/{kind}/{model}.json"
        url = f"{RAW}/{commit}/{rel}"
        file = _download(url, method, rel)
        data = file.read_bytes()
        params, entries = parse_artifact(data, rel)
        provenance = {
            "package": None,
            "source": REPO_URL,
            "url": url,
            "commit": commit,
            "file": rel,
            "sha256": sha256_file(file),
            "licence": LICENCE,
        }
    provenance.update(
        {
            "method": str(params.get("method") or method),
            "model": str(params.get("model") or model or ""),
            "attack_type": str(params.get("attack_type") or kind or ""),
            "behaviours": len(entries),
            "prompts": sum(1 for e in entries if e.prompt is not None),
        }
    )
    if not provenance["prompts"]:
        raise ConfigError(f"{provenance['file']}: the artifact holds no jailbreak prompt")
    return ArtifactReplay(f"jbb-artifact:{arg}", entries, provenance)


@registry.attacks.register(
    "jbb-artifact",
    description="Replays JailbreakBench's published jailbreak prompts of one attack method "
    "against one model: each sample whose behaviour the artifact holds gets its recorded "
    "prompt; a sample without one is counted as no_artifact (never safe).",
    source=f"JailbreakBench artifacts ({REPO_URL}, attack-artifacts/METHOD/TYPE/MODEL.json), "
    "fetched at a pinned commit at run time or read from a local copy; never shipped",
    licence="MIT (the artifacts repository's LICENSE)",
    citation="Chao et al. (2024). JailbreakBench: An Open Robustness Benchmark for Jailbreaking"
    " Large Language Models. NeurIPS 2024 Datasets and Benchmarks. arXiv:2404.01318",
    parameters={
        "METHOD": f"the attack method ({', '.join(COMMITS)}); METHOD@PATH for a local copy",
        "model": f"the model the prompts were found against ({', '.join(MODELS)})",
        "type": f"the artifact's folder ({', '.join(ATTACK_TYPES)}; default by method)",
        "commit": "a commit of the artifacts repository (default pinned per method)",
        "licence": f"a local copy's licence (default {LICENCE})",
    },
    needs=[],
    family="artifact",
)
def _jbb_artifact(arg: str | None = None) -> Attack:
    if not (arg or "").strip():
        raise ConfigError(f"jbb-artifact needs an attack method and a model: {USAGE}")
    return load_artifact(str(arg).strip())

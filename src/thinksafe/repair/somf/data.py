"""Safety preference pairs: (prompt, chosen = safe response, rejected = unsafe response).

Sources: ``pku-saferlhf`` (the Hub dataset PKU-Alignment/PKU-SafeRLHF, test split, with the
paper's rule: keep rows where exactly one response is safe, chosen = the safe one), or a local
file: JSONL / JSON list of ``{prompt, chosen, rejected}`` or the official
``{prompt, response: [chosen, rejected]}``, or a CSV with columns prompt, chosen, rejected.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinksafe.errors import DataError

HUB_NAME = "pku-saferlhf"
HUB_DATASET = "PKU-Alignment/PKU-SafeRLHF"


@dataclass(frozen=True)
class Pair:
    prompt: str
    chosen: str
    rejected: str


def _pair(row: Any, where: str) -> Pair:
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: expected an object with prompt/chosen/rejected")
    prompt = row.get("prompt")
    if "chosen" in row or "rejected" in row:
        chosen, rejected = row.get("chosen"), row.get("rejected")
    elif isinstance(row.get("response"), list) and len(row["response"]) == 2:
        chosen, rejected = row["response"]
    else:
        raise DataError(
            f"{where}: needs prompt, chosen and rejected"
            " (or prompt and response: [chosen, rejected])"
        )
    for name, value in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: {name} must be a non-empty string")
    assert isinstance(prompt, str) and isinstance(chosen, str) and isinstance(rejected, str)
    return Pair(prompt, chosen, rejected)


def read_file(path: Path) -> list[Pair]:
    if not path.is_file():
        raise DataError(f"preference file {path} not found")
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        return [_pair(row, f"{path}:{i + 2}") for i, row in enumerate(reader)]
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise DataError(f"{path} is not valid JSON: {exc}") from exc
        return [_pair(row, f"{path}: item {i}") for i, row in enumerate(rows)]
    pairs = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path}:{i} is not valid JSON: {exc}") from exc
        pairs.append(_pair(row, f"{path}:{i}"))
    return pairs


def saferlhf_rule(rows: Iterable[Mapping[str, Any]]) -> list[Pair]:
    """The paper's filter: keep rows where exactly one of the two responses is safe; the safe one
    is chosen."""
    out = []
    for row in rows:
        s0, s1 = bool(row["is_response_0_safe"]), bool(row["is_response_1_safe"])
        if s0 == s1:
            continue
        safe, unsafe = (
            (row["response_0"], row["response_1"])
            if s0
            else (
                row["response_1"],
                row["response_0"],
            )
        )
        out.append(Pair(str(row["prompt"]), str(safe), str(unsafe)))
    return out


def load_hub() -> list[Pair]:
    try:
        from datasets import load_dataset
    except ImportError as exc:
        raise DataError(
            "--pairs pku-saferlhf needs the datasets package (pip install datasets), "
            "or give a local file"
        ) from exc
    try:
        rows = load_dataset(HUB_DATASET, split="test")
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"could not load {HUB_DATASET} from the Hub ({first}); give a local file with --pairs"
        ) from exc
    return saferlhf_rule(rows)


def load_pairs(spec: str, *, max_pairs: int | None = None, seed: int = 0) -> list[Pair]:
    pairs = load_hub() if spec == HUB_NAME else read_file(Path(spec).expanduser())
    if not pairs:
        raise DataError(f"no preference pairs in {spec}")
    if max_pairs is not None and len(pairs) > max_pairs:
        pairs = random.Random(seed).sample(pairs, max_pairs)
    return pairs


def _retained(row: Any, where: str) -> tuple[str, str]:
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: expected an object with prompt and response")
    prompt, response = row.get("prompt"), row.get("response")
    for name, value in (("prompt", prompt), ("response", response)):
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: {name} must be a non-empty string")
    assert isinstance(prompt, str) and isinstance(response, str)
    return prompt, response


def load_retain(spec: str) -> list[tuple[str, str]]:
    """Rows the repair must not unlearn (benign requests with the help they should get, examples
    of the new skill): a JSONL / JSON list of ``{prompt, response}`` or a CSV with those columns."""
    path = Path(spec).expanduser()
    if not path.is_file():
        raise DataError(f"retain file {path} not found; give a JSONL or CSV of prompt, response")
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        rows = [_retained(row, f"{path}:{i + 2}") for i, row in enumerate(reader)]
    elif text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise DataError(f"{path} is not valid JSON: {exc}") from exc
        rows = [_retained(row, f"{path}: item {i}") for i, row in enumerate(items)]
    else:
        rows = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{path}:{i} is not valid JSON: {exc}") from exc
            rows.append(_retained(item, f"{path}:{i}"))
    if not rows:
        raise DataError(f"no rows in retain file {path}")
    return rows


def rows_sha256(rows: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for prompt, response in rows:
        digest.update(json.dumps([prompt, response]).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def pairs_sha256(pairs: Iterable[Pair]) -> str:
    digest = hashlib.sha256()
    for p in pairs:
        digest.update(json.dumps([p.prompt, p.chosen, p.rejected]).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()

"""``hf:DATASET``: any dataset on the Hugging Face Hub, read without the ``datasets`` library.

The dataset's data files (CSV, TSV, JSON, JSON Lines, Parquet) are listed and downloaded with
``huggingface_hub`` and parsed here; Parquet needs ``pyarrow``. Columns are mapped with the
same options as ``file:PATH`` (``prompt_column``, ``messages_column``, ``id_column``,
``category_column``, ``expected_column``, ``harm_area_column``, ``default_expected``), plus:

- ``split``: the split to read (a file belongs to a split when its name starts with it, as in
  ``test-00000-of-00001.parquet`` or ``test.csv``, or a folder on its path is named so);
- ``config``: the configuration (the top folder of its files);
- ``revision``: a commit, branch or tag (default: the default branch);
- ``file``: one file of the repository to read, skipping the file list.

When the files span several splits or configurations and none was chosen, loading stops with
the list to choose from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import PurePosixPath
from typing import Any

from thinksafe import registry
from thinksafe.errors import ConfigError, DataError
from thinksafe.records import Sample
from thinksafe.suites.base import SuiteInfo, suite_info
from thinksafe.suites.file import FileOptions, record_id, row_to_sample
from thinksafe.suites.hub import HF_DATASETS, hub_file, hub_list_files, sha256_file
from thinksafe.suites.official import TABLE_SUFFIXES, read_table

NAME = "hf"
HF_OPTIONS: tuple[str, ...] = ("split", "config", "revision", "file")
COLUMN_OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(FileOptions))
METADATA_FILES = {"dataset_info.json", "dataset_infos.json", "dataset_dict.json", "state.json"}
COMMON_SPLITS = {"train", "test", "validation", "valid", "dev", "eval", "evaluation"}
UNSPLIT = "(none)"


def is_data_file(path: str) -> bool:
    p = PurePosixPath(path)
    return (
        p.suffix.lower() in TABLE_SUFFIXES
        and p.name not in METADATA_FILES
        and not any(part.startswith(".") for part in p.parts)
    )


def tokens(path: str) -> list[str]:
    """The names that may say which split a file belongs to: its stem, the stem's first
    ``-``/``_`` piece, and its folders."""
    p = PurePosixPath(path)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    return [stem, re.split(r"[-_.]", stem)[0], *p.parts[:-1]]


def split_of(path: str) -> str:
    for token in tokens(path):
        if token.lower() in COMMON_SPLITS:
            return token
    return UNSPLIT


def config_of(path: str) -> str | None:
    parts = PurePosixPath(path).parts
    if len(parts) < 2 or parts[0] == "data" or parts[0].lower() in COMMON_SPLITS:
        return None
    return parts[0]


def choose_files(
    files: list[str], *, dataset: str, split: str | None, config: str | None
) -> list[str]:
    """The data files of ``dataset`` to read for ``split`` and ``config``."""
    data = sorted(f for f in files if is_data_file(f))
    if not data:
        raise DataError(
            f"hf:{dataset} has no CSV, TSV, JSON, JSON Lines or Parquet files; give --file"
            " to name one"
        )
    if config is not None:
        chosen = [f for f in data if config in PurePosixPath(f).parts[:-1]]
        if not chosen:
            found = sorted({c for f in data if (c := config_of(f))}) or ["(none)"]
            raise ConfigError(f"hf:{dataset} has no config {config!r}; configs: {', '.join(found)}")
        data = chosen
    else:
        configs = sorted({c for f in data if (c := config_of(f)) is not None})
        if len(configs) > 1:
            raise ConfigError(
                f"hf:{dataset} has several configs ({', '.join(configs)}); pick one with --config"
            )
    if split is not None:
        chosen = [f for f in data if split in tokens(f)]
        if not chosen:
            found = sorted({split_of(f) for f in data})
            raise ConfigError(f"hf:{dataset} has no split {split!r}; splits: {', '.join(found)}")
        return chosen
    splits = sorted({split_of(f) for f in data})
    if len(splits) > 1:
        raise ConfigError(
            f"hf:{dataset} has several splits ({', '.join(splits)}); pick one with --split"
        )
    return data


class HubDatasetSuite:
    """Samples from the data files of a Hub dataset."""

    def __init__(self, dataset: str, options: Mapping[str, Any] | None = None) -> None:
        self.dataset = dataset
        hf: dict[str, str] = {}
        columns: dict[str, Any] = {}
        for key, value in (options or {}).items():
            if value is None:
                continue
            name = key.replace("-", "_")
            if name in HF_OPTIONS:
                if not str(value).strip():
                    raise ConfigError(f"hf suite: option {name} needs a value")
                hf[name] = str(value).strip()
            elif name in COLUMN_OPTIONS:
                columns[name] = value
            else:
                known = ", ".join(sorted(HF_OPTIONS + COLUMN_OPTIONS))
                raise ConfigError(f"hf suite: unknown option {key!r}; known: {known}")
        self.hf_options = hf
        self.columns = FileOptions.from_mapping(columns)
        self.provenance: dict[str, Any] = {}

    @property
    def spec(self) -> str:
        return f"{NAME}:{self.dataset}"

    @property
    def name(self) -> str:
        return f"{NAME}:{self.dataset}"

    @property
    def info(self) -> SuiteInfo:
        return replace(suite_info(NAME), name=self.name, source=HF_DATASETS + self.dataset)

    def files(self) -> list[str]:
        if "file" in self.hf_options:
            return [self.hf_options["file"]]
        listed = hub_list_files(self.dataset, revision=self.hf_options.get("revision"), suite=NAME)
        return choose_files(
            listed,
            dataset=self.dataset,
            split=self.hf_options.get("split"),
            config=self.hf_options.get("config"),
        )

    def load(self) -> list[Sample]:
        revision = self.hf_options.get("revision")
        samples: list[Sample] = []
        first: dict[str, str] = {}
        record: dict[str, str] = {}
        n = 0
        for repo_path in self.files():
            local = hub_file(self.dataset, repo_path, revision=revision, suite=NAME)
            display = f"hf:{self.dataset}/{repo_path}"
            record[repo_path] = sha256_file(local)
            for row in read_table(local, display):
                n += 1
                where = f"{display} row {n}"
                sample = row_to_sample(
                    row, suite=self.name, where=where, lineno=n, options=self.columns
                )
                record_id(first, sample.id, f"at {where}", where)
                samples.append(sample)
        if not samples:
            raise DataError(f"hf:{self.dataset}: the chosen files hold no rows")
        self.provenance = {
            "suite": self.name,
            "spec": self.spec,
            "options": dict(self.hf_options),
            "files": {
                p: {"source": "remote", "hub": self.dataset, "file": p, "sha256": sha}
                for p, sha in record.items()
            },
            "revision": revision or "default branch",
            "samples": len(samples),
        }
        return samples


@registry.suites.register(
    NAME,
    description="any dataset on the Hugging Face Hub: hf:OWNER/NAME (map columns like file:)",
    source="https://huggingface.co/datasets",
    licence="the dataset's own",
    citation="",
    size=None,
    expected="mixed",
    categories=[],
    needs_arg=True,
    options={o: "see docs/suites.md" for o in HF_OPTIONS + COLUMN_OPTIONS},
)
def make_hf_suite(
    *, arg: str | None = None, path: str | None = None, options: Mapping[str, Any] | None = None
) -> HubDatasetSuite:
    """Build ``hf:DATASET``."""
    if not arg or path is not None:
        given = f" (got hf@{path})" if path else ""
        raise ConfigError(f"the hf suite needs a dataset{given}: use --suite hf:OWNER/NAME")
    if any(c.isspace() for c in arg):
        raise ConfigError(f"hf:{arg}: a dataset name has no spaces; use hf:OWNER/NAME")
    return HubDatasetSuite(arg.strip().strip("/"), options)

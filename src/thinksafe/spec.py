"""The one grammar of the spec strings that name components, and its parser.

Every target, judge, attack and suite is named on the command line, in a config file and in the
Python API by a spec. All four kinds share one shape, ``NAME:ARG,KEY=VALUE``, with the forms
each kind has always accepted::

    target  PROVIDER/MODEL[?KEY=VALUE&KEY=VALUE...]   openai/gpt-4o-mini
                                                      hf/Qwen/Qwen3-0.6B?device=cpu&batch_size=4
    judge   NAME[:ARG[?KEY=VALUE&...]]                rules, safety:openai/o4-mini?temperature=none
            NAME(JUDGE,JUDGE,...)                     cascade(offline,majority(rules,a,b))
    attack  NAME[:[VALUE[@PATH],]KEY=VALUE,...]       many-shot:32,pool=pool.jsonl
                                                      template:NAME@PATH,licence=MIT
            prefill:TEXT, prefix-injection:TEXT       (the rest of the spec is the text)
    suite   NAME[:ARG][@PATH]                         sst, sst@PATH, harmbench:val@PATH
            file:PATH, hf:DATASET                     (the rest of the spec is the path or dataset)

- ``?KEY=VALUE&...`` are query options, URL-encoded (``%2F``, ``+`` for a space) as in a URL.
- Commas inside parentheses belong to the item they are in: ``pair:judge=cascade(a,b),queries=9``
  has two options, and ``majority(a,cascade(b,c))`` two members.
- ``@PATH`` names a local copy of a registered component's published data.
- An attack's one positional VALUE comes first; every other item is ``KEY=VALUE``.

:func:`parse` reads a spec of a given kind into a :class:`Spec`; ``str(spec)`` writes it back
(``parse(str(spec)) == spec``). A malformed spec is a :class:`~thinksafe.errors.ConfigError`
whose one line says what was expected. What a component does with its arguments (which keys it
takes, their types) is the component's own business: the parser reads the shape only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote

from thinksafe.errors import ConfigError

__all__ = [
    "KINDS",
    "RAW_ARG_ATTACKS",
    "RAW_ARG_SUITES",
    "Kind",
    "Spec",
    "attack_args",
    "format_query",
    "parse",
    "parse_assignments",
    "parse_attack",
    "parse_judge",
    "parse_suite",
    "parse_target",
    "split_query",
    "split_top_level",
]

Kind = Literal["target", "judge", "attack", "suite"]
KINDS: tuple[Kind, ...] = ("target", "judge", "attack", "suite")

# Suites whose argument is the rest of the spec as written: a path or a dataset id may hold
# ``@`` and ``:`` (``file:runs/a@b.csv``, ``hf:org/set``).
RAW_ARG_SUITES = frozenset({"file", "hf"})
# Attacks whose argument is free text taken as written (the forced start of a reply may hold
# commas, ``=`` and ``@``): ``prefill:Sure, here is how``.
RAW_ARG_ATTACKS = frozenset({"prefill", "prefix-injection"})

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# ``NAME(ARGS)``: a composite judge over the judge specs in ARGS.
_COMPOSITE = re.compile(r"([A-Za-z][\w.-]*)\((.*)\)", re.DOTALL)
# Characters a query value keeps as written when a spec is formatted (``/`` in a path, ``:`` in
# a URL); ``&``, ``=``, ``+``, ``%``, ``#``, ``?``, commas, parentheses and spaces are escaped.
_QUERY_SAFE = "/:@!$'*;~"

EXAMPLES: dict[Kind, str] = {
    "target": "PROVIDER/MODEL, for example openai/gpt-4o-mini or hf/PATH?device=cpu",
    "judge": "NAME, NAME:PROVIDER/MODEL or NAME(JUDGE,JUDGE), for example"
    " safety:openai/gpt-4o-mini",
    "attack": "NAME or NAME:[VALUE,]KEY=VALUE,..., for example many-shot:32,seed=1",
    "suite": "NAME, NAME@PATH, NAME:ARG, file:PATH or hf:DATASET, for example sst",
}

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Spec:
    """One parsed spec.

    ``arg`` is the positional argument: a target's MODEL, the ARG of ``NAME:ARG`` (a judge's
    target, a suite's split, path or dataset), an attack's leading VALUE. ``options`` are an
    attack's ``KEY=VALUE`` items, ``query`` the ``?KEY=VALUE&...`` options of a target or of a
    judge's target, ``path`` the ``@PATH`` of a local copy, ``members`` the judges of a
    composite ``NAME(JUDGE,...)``."""

    kind: Kind
    name: str
    arg: str | None = None
    options: Pairs = ()
    query: Pairs = ()
    path: str | None = None
    members: tuple[Spec, ...] = ()

    @property
    def arg_text(self) -> str | None:
        """The text after the name and its separator, as a component's factory reads it:
        ``MODEL?QUERY`` of a target, ``TARGET?QUERY`` of a judge, the members of a composite
        joined by commas, ``VALUE@PATH,KEY=VALUE`` of an attack, ``ARG`` of a suite."""
        if self.members:
            return ",".join(str(m) for m in self.members)
        if self.kind == "attack" and self.name not in RAW_ARG_ATTACKS:
            items = [] if self.arg is None else [_with_path(self.arg, self.path)]
            items += [f"{k}={v}" for k, v in self.options]
            return ",".join(items) or None
        if self.arg is None:
            return None
        return self.arg + (f"?{format_query(self.query)}" if self.query else "")

    @property
    def value(self) -> str | None:
        """An attack's positional VALUE with its ``@PATH``, as written."""
        return None if self.arg is None else _with_path(self.arg, self.path)

    def option(self, key: str, default: str | None = None) -> str | None:
        """The last value given for ``key`` among the options, else ``default``."""
        found = default
        for k, v in self.options:
            if k == key:
                found = v
        return found

    def __str__(self) -> str:
        if self.members:
            return f"{self.name}({self.arg_text})"
        arg = self.arg_text
        if self.kind == "target":
            return f"{self.name}/{arg}"
        if self.kind == "suite":
            text = self.name if arg is None else f"{self.name}:{arg}"
            return text if self.path is None else f"{text}@{self.path}"
        return self.name if arg is None else f"{self.name}:{arg}"


def _with_path(value: str, path: str | None) -> str:
    return value if path is None else f"{value}@{path}"


def _fail(kind: Kind, text: str, why: str) -> ConfigError:
    return ConfigError(f"{kind} spec {text!r} {why}; write {EXAMPLES[kind]}")


def _name(kind: Kind, text: str, name: str) -> str:
    name = name.strip()
    if not name:
        raise _fail(kind, text, "has no name")
    if not _NAME.fullmatch(name):
        raise _fail(kind, text, f"has {name!r} where a name (letters, digits, - _ . +) belongs")
    return name


# -- pieces ------------------------------------------------------------------------------------


def split_top_level(text: str, what: str = "list") -> list[str]:
    """``text`` split at the commas outside parentheses, each part stripped. Unbalanced
    parentheses are a ``ConfigError``."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth != 0:
        raise ConfigError(f"unbalanced parentheses in {what} {text!r}")
    parts.append(text[start:].strip())
    return parts


def split_query(text: str) -> tuple[str, Pairs]:
    """``"HEAD?a=1&b=x%20y"`` -> ``("HEAD", (("a", "1"), ("b", "x y")))``: keys and values
    URL-decoded and stripped, in the order written, repeats kept."""
    head, sep, query = text.partition("?")
    if not sep:
        return text, ()
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    return head, tuple((k.strip(), v.strip()) for k, v in pairs if k.strip())


def format_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The inverse of :func:`split_query`'s query part: ``a=1&b=x%20y``."""
    return "&".join(f"{quote(k, safe=_QUERY_SAFE)}={quote(v, safe=_QUERY_SAFE)}" for k, v in pairs)


def parse_assignments(items: Sequence[str] | None, what: str, example: str) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--suite-option split=val``) as a mapping, the last of a key
    winning; one without ``=`` or a key is a ``ConfigError``."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item!r} should look like KEY=VALUE (e.g. {example})")
        out[key.strip()] = value.strip()
    return out


# -- the four kinds ----------------------------------------------------------------------------


def parse_target(text: str) -> Spec:
    """``PROVIDER/MODEL[?KEY=VALUE&...]``."""
    spec = text.strip()
    provider, sep, model = spec.partition("/")
    if not sep or not provider.strip() or not model.strip():
        from thinksafe import registry

        raise ConfigError(
            f"model spec {spec!r} should look like PROVIDER/MODEL (for example openai/gpt-4o-mini);"
            f" providers: {', '.join(registry.targets.names())}"
        )
    name = _name("target", spec, provider)
    model, query = split_query(model)
    if not model.strip():
        raise ConfigError(f"model spec {spec!r} has no model name or path before '?'")
    return Spec("target", name, arg=model.strip(), query=query)


def parse_judge(text: str) -> Spec:
    """``NAME``, ``NAME:ARG[?KEY=VALUE&...]`` or ``NAME(JUDGE,JUDGE,...)``."""
    spec = text.strip()
    composite = _COMPOSITE.fullmatch(spec)
    if composite is not None:
        name, inner = composite.group(1), composite.group(2)
        parts = split_top_level(inner, "judge list")
        if not inner.strip():
            raise _fail("judge", spec, f"lists no judges inside {name}(...)")
        if any(not p for p in parts):
            raise ConfigError(
                f"empty judge spec in {inner!r}; separate judge specs with single commas"
            )
        return Spec("judge", name, members=tuple(parse_judge(p) for p in parts))
    head, sep, arg = spec.partition(":")
    name = _name("judge", spec, head)
    arg, query = split_query(arg)
    arg = arg.strip()
    if not sep or not (arg or query):
        return Spec("judge", name)
    return Spec("judge", name, arg=arg, query=query)


def parse_attack(text: str) -> Spec:
    """``NAME[:[VALUE[@PATH],]KEY=VALUE,...]``; commas inside parentheses belong to the item.
    The free-text attacks of :data:`RAW_ARG_ATTACKS` take the rest as written."""
    spec = text.strip()
    head, sep, rest = text.lstrip().partition(":")
    name = _name("attack", spec, head)
    if name in RAW_ARG_ATTACKS:
        return Spec("attack", name, arg=rest if sep and rest.strip() else None)
    arg: str | None = None
    path: str | None = None
    options: list[tuple[str, str]] = []
    for item in split_top_level(rest, f"attack spec {spec!r}:") if sep else []:
        if not item:
            continue
        key, eq, value = item.partition("=")
        if eq and _KEY.fullmatch(key.strip()):
            options.append((key.strip(), value.strip()))
        elif arg is None and not options:
            value, at, where = item.partition("@")
            arg, path = value.strip(), (where.strip() if at else None)
        else:
            raise ConfigError(
                f"attack {name!r}: {item!r} is not KEY=VALUE; write"
                f" {name}:[VALUE,]KEY=VALUE,... (only the first item may be a plain value)"
            )
    return Spec("attack", name, arg=arg, options=tuple(options), path=path)


def attack_args(name: str, arg: str | None) -> Spec:
    """The attack spec ``NAME:ARG`` as parsed: how an attack's factory reads its ``arg``."""
    return parse_attack(name if arg is None else f"{name}:{arg}")


def parse_suite(text: str) -> Spec:
    """``NAME``, ``NAME@PATH``, ``NAME:ARG``, ``NAME:ARG@PATH``; ``file:PATH`` and
    ``hf:DATASET`` take the rest of the spec as written."""
    spec = text.strip()
    if not spec:
        raise ConfigError("empty suite spec; run `thinksafe suites` to list suites")
    head, colon, rest = spec.partition(":")
    if colon and head.strip() in RAW_ARG_SUITES:
        return Spec("suite", head.strip(), arg=rest.strip() or None)
    before, at, path = spec.partition("@")
    if at and not path.strip():
        raise ConfigError(f"suite spec {spec!r}: give a path after @")
    head, colon, arg = before.partition(":")
    name = _name("suite", spec, head)
    return Spec("suite", name, arg=arg.strip() or None, path=path.strip() if at else None)


_PARSERS = {
    "target": parse_target,
    "judge": parse_judge,
    "attack": parse_attack,
    "suite": parse_suite,
}


def parse(kind: Kind, text: str) -> Spec:
    """The spec ``text`` of a ``kind`` of component (see the module for the grammar)."""
    return _PARSERS[kind](text)

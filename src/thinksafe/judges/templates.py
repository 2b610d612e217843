"""Judge prompt templates shipped as text files in ``judges/rubrics/``: ``#`` header lines
(source, licence, placeholders, reply format), then the template with ``{{name}}``
placeholders filled in one pass."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from thinksafe.errors import ConfigError

__all__ = ["Rubric", "load_rubric"]

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Rubric:
    """A judge prompt template: header comment lines (``#``) then the template proper.

    Placeholders are ``{{name}}``; they are filled in one pass, so text that is filled in is
    never read again for placeholders.
    """

    name: str
    text: str

    @property
    def template(self) -> str:
        lines = self.text.splitlines(keepends=True)
        i = 0
        while i < len(lines) and lines[i].startswith("#"):
            i += 1
        return "".join(lines[i:]).strip("\n") + "\n"

    @property
    def sha(self) -> str:
        """A short hash of the whole file: part of a judge's identity."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.template))

    def render(self, **values: str) -> str:
        missing = self.placeholders - set(values)
        if missing:
            raise ValueError(f"rubric {self.name}: no value for {', '.join(sorted(missing))}")
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.template)


@cache
def load_rubric(name: str) -> Rubric:
    """The rubric ``judges/rubrics/NAME.txt`` shipped with thinksafe."""
    path = resources.files("thinksafe.judges").joinpath(f"rubrics/{name}.txt")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no rubric named {name!r} in thinksafe/judges/rubrics") from None
    return Rubric(name, text)

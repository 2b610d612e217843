"""Registration by decorator, lazy lookup by name, third-party entry points.

Each component registers its name once, with a decorator at its definition
(``@registry.judges.register("rules", ...)``); nothing else lists the names. Lookup is lazy, so
a heavy SDK is imported only when its provider is used: ``get(NAME)`` imports the component's
package and the module named after the component (``thinksafe.judges.rules`` for ``rules``,
``-`` read as ``_``); when that does not register it, a third-party entry point of that name;
failing both, the package's modules one by one until one registers it. ``names()`` imports
every built-in module (none holds a heavy import at module level) and lists the entry points
without loading them.

Third parties add components through the entry-point groups ``thinksafe.targets``,
``thinksafe.judges``, ``thinksafe.attacks`` and ``thinksafe.suites``: an entry point named after
the component, pointing at the module whose import registers it (``my_pkg.judges``) or at its
factory (``my_pkg.judges:my_judge``, registered with the factory's docstring when the module
does not register it itself). The older form, an entry point ``KIND.NAME`` in the ``thinksafe``
group, is read too.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from thinksafe.errors import ConfigError, UnknownComponentError

F = TypeVar("F", bound=Callable[..., Any])

ENTRY_POINT_GROUP = "thinksafe"
logger = logging.getLogger("thinksafe.registry")
# A name that may also be the last part of a module's name.
_MODULE_NAME = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True)
class ComponentInfo:
    """What a registered component declares about itself. Metadata is data."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    source: str = ""
    licence: str = ""
    citation: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    """Names of one kind of component (targets, suites, judges or attacks), registered by the
    modules of ``package`` and by third-party entry points."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, ComponentInfo] = {}
        self._plugins: dict[str, EntryPoint] | None = None
        self._walked = False

    @property
    def group(self) -> str:
        """The entry-point group of third-party components of this kind."""
        return f"{ENTRY_POINT_GROUP}.{self.kind}"

    def register(
        self,
        name: str,
        *,
        description: str,
        source: str = "",
        licence: str = "",
        citation: str = "",
        **meta: Any,
    ) -> Callable[[F], F]:
        """Register ``factory`` under ``name``."""

        def decorator(factory: F) -> F:
            self._items[name] = ComponentInfo(
                kind=self.kind,
                name=name,
                factory=factory,
                description=description,
                source=source,
                licence=licence,
                citation=citation,
                meta=dict(meta),
            )
            return factory

        return decorator

    # -- finding names ----------------------------------------------------------------------

    def plugins(self) -> dict[str, EntryPoint]:
        """The third-party entry points of this kind, by component name (not loaded)."""
        if self._plugins is None:
            found: dict[str, EntryPoint] = {}
            prefix = self.kind + "."
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name.startswith(prefix):
                    found.setdefault(ep.name[len(prefix) :], ep)
            for ep in entry_points(group=self.group):
                found[ep.name] = ep
            self._plugins = found
        return self._plugins

    def _import_named(self, name: str) -> None:
        """Import the package (its ``__init__`` may register names) and then the built-in
        module named after ``name``, when there is one."""
        importlib.import_module(self.package)
        if name in self._items or not _MODULE_NAME.fullmatch(name):
            return
        module = f"{self.package}.{name.replace('-', '_')}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the module exists but something it imports does not
                raise

    def _load_plugin(self, name: str) -> None:
        ep = self.plugins().get(name)
        if ep is None:
            return
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin is the user's to fix, in one line
            raise ConfigError(
                f"the {self.kind[:-1]} plugin {name!r} ({ep.value}) failed to load:"
                f" {type(exc).__name__}: {exc}"
            ) from None
        if name not in self._items and callable(loaded):
            doc = (getattr(loaded, "__doc__", None) or "").strip()
            self.register(name, description=doc.splitlines()[0] if doc else "", source=ep.value)(
                loaded
            )

    def _walk(self, until: str | None = None) -> None:
        """Import the modules of the package, so that every built-in name is registered (or,
        given ``until``, until that name is)."""
        if self._walked:
            return
        packages = [self.package]
        while packages:  # breadth first: a package's modules before its subpackages
            package = importlib.import_module(packages.pop(0))
            for found in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
                if found.ispkg:
                    packages.append(found.name)
                    continue
                importlib.import_module(found.name)
                if until is not None and until in self._items:
                    return
        self._walked = True

    def get(self, name: str) -> ComponentInfo:
        for find in (self._import_named, self._load_plugin, self._walk):
            if name in self._items:
                break
            find(name)
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownComponentError(
                f"unknown {self.kind[:-1]} {name!r}; known: {known}"
            ) from None

    def names(self) -> list[str]:
        self._walk()
        return sorted(set(self._items) | set(self.plugins()))

    def all(self) -> list[ComponentInfo]:
        """Every component of this kind; a plugin that fails to load is left out with a
        warning in the log, so one broken package does not hide the rest."""
        found: list[ComponentInfo] = []
        for name in self.names():
            try:
                found.append(self.get(name))
            except ConfigError as exc:
                if name in self._items or name not in self.plugins():
                    raise
                logger.warning("%s", exc)
        return found


targets = Registry("targets", "thinksafe.targets")
suites = Registry("suites", "thinksafe.suites")
judges = Registry("judges", "thinksafe.judges")
attacks = Registry("attacks", "thinksafe.attacks")

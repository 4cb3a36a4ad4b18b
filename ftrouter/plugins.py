"""Plugins found by name: a table of the built-in ones plus an entry-point group.

Backends (``ftrouter.backends``), eval answerers (``ftrouter.answerers``) and job importers
(``ftrouter.importers``) are all found the same way, so the lookup and the lazy import live here once:
a registered entry point wins over a built-in of the same name, nothing is imported until a plugin is
loaded, and a missing package is one ``PluginMissing`` line that says what to install. What a name
that no plugin has means differs (an unknown backend, a bad ``--model`` prefix...), so callers say it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from ftrouter.errors import PluginMissing


@dataclass(frozen=True)
class Builtin:
    """A plugin that ships with ftrouter as its own distribution (``providers/<name>``)."""

    target: str  # "module:attribute"
    install_hint: str  # how to install it when it is missing


@dataclass(frozen=True)
class PluginGroup:
    entry_point_group: str
    builtins: Mapping[str, Builtin]

    def registered(self) -> dict[str, str]:
        """The installed distributions' entry points: name -> "module:attribute"."""
        return {ep.name: ep.value for ep in entry_points(group=self.entry_point_group)}

    def targets(self) -> dict[str, str]:
        """Every name -> "module:attribute", the registered entry points over the built-ins."""
        return {**{name: builtin.target for name, builtin in self.builtins.items()}, **self.registered()}

    def names(self) -> list[str]:
        return sorted(self.targets())

    def load(self, name: str, what: str) -> Any | None:
        """The object behind ``name`` (None when no plugin has that name); ``what`` names it in the error
        when its package, or one that it imports, is not installed."""
        target = self.targets().get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        builtin = self.builtins.get(name)
        hint = builtin.install_hint if builtin else f"install the package that provides {module_name}"
        return getattr(import_for(module_name, what, hint), attribute)


def import_for(module_name: str, what: str, install_hint: str) -> ModuleType:
    """Import ``module_name`` for ``what``; a missing package (it, or one it imports) is one ``PluginMissing``
    line naming it and how to install it."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        raise PluginMissing(f"{what} needs {missing!r}, which is not installed: {install_hint}") from exc

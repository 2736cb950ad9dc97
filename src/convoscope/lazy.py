"""Package surfaces that load their modules on first use (PEP 562).

A package's ``__init__.py`` names what it offers in ``__all__`` and, under
``TYPE_CHECKING``, imports each name from its module, so type checkers and readers see
where it lives. At run time ``lazy_exports`` gives the package a ``__getattr__`` that
imports the module when the name is first read: importing ``convoscope.store`` for its
records loads no engine, and ``convoscope.api`` for its wire conversions no router.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: the names each of ``modules`` (relative to
    the package) offers, each imported from it once and then kept as an attribute."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

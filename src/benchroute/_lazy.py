"""Module-level ``__getattr__`` for packages that import their public names on first use.

Every command imports ``benchroute`` and a few of its packages; most need only a small part of
each. A package lists ``name -> private module`` and gets a ``__getattr__`` (PEP 562) that
imports the module when the name is first read and caches the value in the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A ``__getattr__`` for ``package`` resolving each name from ``.<modules[name]>``."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

"""Package names imported on first use, so a light name (an error, options) skips heavy siblings."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]]) -> Callable[[str], object]:
    """A module `__getattr__` (PEP 562) for `package`: `exports` maps each submodule to the names
    it provides. The window imports e.g. DruidError or ReadOptions at startup; an eager package
    `__init__` would load Polars, PyArrow and httpx with them, tens of megabytes it may not need.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            # Not ours: AttributeError lets `from package import submodule` import it.
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # looked up once
        return value

    return __getattr__

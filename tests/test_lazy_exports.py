"""Service packages with lazy exports: every name in __all__ resolves, to what mypy was told."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

LAZY_PACKAGES = ("app.services.druid", "app.services.reading", "app.services.validation")


def _declared(package: str) -> dict[str, str]:
    """Name -> module, from the package's `if TYPE_CHECKING:` imports (what mypy checks)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(package)))
    declared: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name):
            if node.test.id != "TYPE_CHECKING":
                continue
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                for alias in statement.names:
                    declared[alias.asname or alias.name] = statement.module
    return declared


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_export_resolves_to_the_module_mypy_sees(package: str):
    module = importlib.import_module(package)
    declared = _declared(package)
    assert sorted(declared) == sorted(module.__all__)
    for name, source in declared.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_unknown_names_are_attribute_errors(package: str):
    module = importlib.import_module(package)
    with pytest.raises(AttributeError):
        _ = module.no_such_name

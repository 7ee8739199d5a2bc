"""Lazy package attributes (PEP 562): ``import package`` stays fast, names load on first use.

A package lists its public API once, as imports under ``if TYPE_CHECKING:`` in its
``__init__.py`` (editors and type checkers read them, Python never runs them); its last lines
hand that list to :func:`lazy_attributes`, as ``tlhelpers`` and ``tlcourse`` do.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def public_names(init_file: str) -> dict[str, str]:
    """Each public name and its module (in the package), from ``init_file``'s ``TYPE_CHECKING``."""
    source = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    block = next(
        node
        for node in source.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {alias.name: node.module for node in block.body for alias in node.names}


def lazy_attributes(
    namespace: dict[str, Any], module_of: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package whose ``globals()`` is ``namespace``.

    A name is imported from its module (or is a public submodule, ``tl.plots``) on first use,
    then stored in ``namespace``, so the next lookup is a plain attribute.
    """
    package = namespace["__name__"]
    found = pkgutil.iter_modules(namespace["__path__"])  # lists files, imports nothing
    submodules = {module.name for module in found if not module.name.startswith("_")}

    def __getattr__(name: str) -> Any:
        if name in module_of:
            value = getattr(importlib.import_module(f".{module_of[name]}", package), name)
        elif name in submodules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *module_of, *submodules})

    return __getattr__, __dir__

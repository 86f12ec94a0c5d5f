"""Packages whose ``__init__`` only re-exports its submodules' names, loaded name by name.

Powertools' ``event_handler/__init__.py`` imports every resolver it has (AppSync, Bedrock, VPC
Lattice, and the HTTP resolver, which brings ``asyncio``), and ``utilities/data_classes/__init__.py``
imports about 40 event classes. Importing ``event_handler.api_gateway``, the one module the intake
uses, runs both: about 100 M instructions, 6 % of a cold intake request, on a function where nearly
every start is cold (docs/performance.md).

``defer_init(name)`` registers the package without running its ``__init__``. Each name the
``__init__`` re-exports is imported from its own submodule on first use (PEP 562's module
``__getattr__``), so ``from package import Name`` gives the same object as before and a name nobody
asks for is never imported. It is the change Powertools could make upstream (it already has
``shared.lazy_import``); until it does, this does it from outside, and only where it is safe:

- the ``__init__`` must consist of a docstring, ``from ... import name`` statements (no ``*``) and
  ``__all__``. Anything else (code with an effect) and the package is imported as usual: a
  Powertools release that changes that loses the saving, not a request. tests/unit/test_lazy_packages.py
  holds both packages to the safe shape and every re-exported name to the object the package gives.
- a package already imported is left as it is; one whose source is missing or will not parse is
  imported as usual.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from types import ModuleType

# The packages every entry point defers (callbacks/__init__.py). Parents before children.
POWERTOOLS_AGGREGATES = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)


def reexports(source: str, package: str) -> tuple[dict[str, tuple[str, str]], list[str] | None] | None:
    """Of an ``__init__`` made only of re-exports: ``{exported name: (module, its name there)}`` and
    its ``__all__`` (None if it has none); None for any other ``__init__``."""
    exports: dict[str, tuple[str, str]] = {}
    public: list[str] | None = None
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and all(alias.name != "*" for alias in node.names):
            if node.level > 1:
                return None
            if not node.level:
                module = node.module or ""
            else:  # ``from .sub import name``, or ``from . import submodule``
                module = f"{package}.{node.module}" if node.module else package
            for alias in node.names:
                exports[alias.asname or alias.name] = (module, alias.name)
            continue
        if _is_all(node):
            public = [item.value for item in node.value.elts]  # type: ignore[attr-defined]
            continue
        return None
    return exports, public


def _is_all(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and [getattr(target, "id", None) for target in node.targets] == ["__all__"]
        and isinstance(node.value, ast.List | ast.Tuple)
        and all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in node.value.elts)
    )


def _shadowing(shadowed: dict[str, str]) -> type[ModuleType]:
    """A package whose names outrank its submodules of the same name, as in its ``__init__``.

    Importing a submodule binds it to its package (``package.event_source = <module>``), whoever
    imports it and whenever. The ``__init__`` binds the name it re-exports after that, so there the
    name wins; here the submodule may come first, so its binding is turned into the name.
    """

    class Shadowing(ModuleType):
        def __setattr__(self, attribute: str, value: object) -> None:
            if attribute in shadowed and isinstance(value, ModuleType):
                value = getattr(value, shadowed[attribute])
            super().__setattr__(attribute, value)

    return Shadowing


def defer_init(name: str) -> bool:
    """Register package ``name`` with its re-exports loaded on first use; False if imported as usual."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)  # imports the parents, as importing ``name`` would
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        return False
    try:  # a package shipped without its source, or one that will not parse, is imported as usual
        with open(spec.origin, encoding="utf-8") as source:
            found = reexports(source.read(), name) if spec.origin.endswith(".py") else None
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        found = None
    if found is None:
        importlib.import_module(name)
        return False
    exports, public = found
    package = importlib.util.module_from_spec(spec)
    # Names re-exported from a submodule of the same name (``from .event_source import event_source``).
    shadowed = {
        export: original for export, (module, original) in exports.items() if module == f"{name}.{export}"
    }
    if shadowed:
        package.__class__ = _shadowing(shadowed)
    if public is not None:
        package.__all__ = public  # type: ignore[attr-defined]

    def __getattr__(attribute: str) -> object:
        if attribute not in exports:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        module, original = exports[attribute]
        if module == name:
            value: object = importlib.import_module(f"{name}.{original}")
        else:
            value = getattr(importlib.import_module(module), original)
        setattr(package, attribute, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(package.__dict__) | set(exports))

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    package.__dir__ = __dir__  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)
    return True


def defer_powertools_aggregates() -> None:
    for name in POWERTOOLS_AGGREGATES:
        defer_init(name)

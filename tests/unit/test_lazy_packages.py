"""Powertools' aggregate packages loaded name by name (core/lazy_packages.py): every name they export
is the same object as before, what nobody asks for is never imported, and a package that does more
than re-export is imported as usual."""

from __future__ import annotations

import importlib
import importlib.util
import json
import py_compile
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from callbacks.core.lazy_packages import POWERTOOLS_AGGREGATES, defer_init, reexports

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

# In a fresh process, as on Lambda: import ``callbacks`` (which defers the packages), ask each
# package for every name its ``__init__`` exports, then run the real ``__init__`` into a namespace of
# its own (its submodules are loaded by then) and compare: each name must be the very same object.
COMPARE = """
import importlib, importlib.util, json, sys
import callbacks
from callbacks.core.lazy_packages import POWERTOOLS_AGGREGATES, reexports
report = {}
for name in POWERTOOLS_AGGREGATES:
    package = sys.modules[name]
    deferred = "__getattr__" in vars(package)
    origin = importlib.util.find_spec(name).origin
    source = open(origin, encoding="utf-8").read()
    exports, public = reexports(source, name)
    if SUBMODULES_FIRST:  # as when some other module imports them before anyone asks the package
        for module, _ in exports.values():
            importlib.import_module(module)
    lazy = {export: getattr(package, export) for export in exports}
    eager = {"__name__": name, "__package__": name}
    exec(compile(source, origin, "exec"), eager)
    report[name] = {
        "deferred": deferred,
        "exports": len(exports),
        "different": [export for export in exports if lazy[export] is not eager[export]],
        "all": [getattr(package, "__all__", None), eager.get("__all__")],
    }
print(json.dumps(report))
"""


def test_given_the_installed_powertools_then_both_aggregate_packages_only_reexport() -> None:
    for name in POWERTOOLS_AGGREGATES:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None

        found = reexports(Path(spec.origin).read_text(encoding="utf-8"), name)

        assert found is not None, f"{name}/__init__.py now does more than re-export: see lazy_packages.py"


@pytest.mark.parametrize("submodules_first", [False, True], ids=["names first", "submodules first"])
def test_given_a_cold_start_then_every_exported_name_is_the_object_the_package_itself_gives(
    submodules_first: bool,
) -> None:
    code = f"SUBMODULES_FIRST = {submodules_first}\n{COMPARE}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FUNCTIONS, timeout=60
    )
    report = json.loads(result.stdout)

    for name, found in report.items():
        assert found["deferred"], name
        assert found["exports"] >= 10, name
        assert found["different"] == [], name
        assert found["all"][0] == found["all"][1], name


MakePackage = Callable[[str, dict[str, str]], str]


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePackage]:
    """Write a package ``name`` of the given files in a fresh directory on ``sys.path``; forget it after."""
    made: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(name: str, files: dict[str, str]) -> str:
        root = tmp_path / name
        root.mkdir()
        for file, text in files.items():
            (root / file).write_text(text, encoding="utf-8")
        made.append(name)
        importlib.invalidate_caches()
        return name

    yield make
    for module in [module for module in sys.modules if module.split(".")[0] in made]:
        del sys.modules[module]


MARKED = "import builtins\nbuiltins.__dict__.setdefault('lazy_loaded', []).append(__name__)\n"


def loaded() -> list[str]:
    return list(getattr(__import__("builtins"), "lazy_loaded", []))


@pytest.fixture(autouse=True)
def _forget_marks() -> Iterator[None]:
    yield
    builtins = __import__("builtins")
    if hasattr(builtins, "lazy_loaded"):
        del builtins.lazy_loaded


def test_given_a_deferred_package_then_only_the_submodules_of_the_names_used_are_imported(
    make_package: MakePackage,
) -> None:
    name = make_package(
        "lazy_demo",
        {
            "__init__.py": (
                '"""Docs."""\nfrom .cheap import Cheap\n'
                "from lazy_demo.costly import Costly as Renamed\nfrom .decorate import decorate\n"
                '__all__ = ["Cheap", "Renamed"]\n'
            ),
            "cheap.py": MARKED + "class Cheap: ...\n",
            "costly.py": MARKED + "class Costly: ...\n",
            "helpers.py": MARKED + "VALUE = 1\n",
            "decorate.py": MARKED + "def decorate(): ...\n",
        },
    )

    assert defer_init(name) is True
    assert loaded() == []

    from lazy_demo import Cheap  # type: ignore[import-not-found]

    assert loaded() == ["lazy_demo.cheap"]
    assert Cheap is sys.modules["lazy_demo.cheap"].Cheap

    from lazy_demo import helpers  # a submodule the __init__ does not name is imported as usual

    assert helpers.VALUE == 1
    assert "Renamed" in dir(sys.modules[name])
    namespace: dict[str, object] = {}
    exec("from lazy_demo import *", namespace)
    assert namespace["Renamed"] is sys.modules["lazy_demo.costly"].Costly
    # Its submodule of the same name imported first, as another module might: the name still wins.
    importlib.import_module("lazy_demo.decorate")
    from lazy_demo import decorate

    assert decorate is sys.modules["lazy_demo.decorate"].decorate
    with pytest.raises(ImportError, match="cannot import name 'Missing'"):
        exec("from lazy_demo import Missing", {})


def test_given_an_init_that_does_more_than_reexport_then_it_is_imported_as_usual(
    make_package: MakePackage,
) -> None:
    name = make_package(
        "eager_demo",
        {
            "__init__.py": "from .part import Part\nSETTING = Part()\n",
            "part.py": MARKED + "class Part: ...\n",
        },
    )

    assert defer_init(name) is False

    assert loaded() == ["eager_demo.part"]
    assert isinstance(sys.modules[name].SETTING, sys.modules["eager_demo.part"].Part)


def test_given_a_package_already_imported_then_it_is_left_as_it_is(make_package: MakePackage) -> None:
    name = make_package(
        "early_demo", {"__init__.py": "from .part import Part\n", "part.py": "class Part: ...\n"}
    )
    package = importlib.import_module(name)

    assert defer_init(name) is False
    assert sys.modules[name] is package
    assert "__getattr__" not in vars(package)


@pytest.mark.parametrize(
    "source",
    [
        "from .part import *\n",
        "from ..elsewhere import Thing\n",
        "import os\n",
        "__all__ = ['A'] + ['B']\n",
        "try:\n    from .part import Part\nexcept ImportError:\n    Part = None\n",
    ],
)
def test_given_anything_but_plain_reexports_then_the_init_is_not_deferred(source: str) -> None:
    assert reexports(source, "some.package") is None


def test_given_plain_reexports_then_each_name_maps_to_its_module() -> None:
    source = (
        '"""Docs."""\nfrom __future__ import annotations\n'
        'from .a import A, B as C\nfrom . import sub\nfrom x.y import Z\n__all__ = ("A",)\n'
    )

    exports, public = reexports(source, "pkg")  # type: ignore[misc]

    assert exports == {"A": ("pkg.a", "A"), "C": ("pkg.a", "B"), "sub": ("pkg", "sub"), "Z": ("x.y", "Z")}
    assert public == ["A"]


def test_given_a_package_shipped_without_its_source_then_it_is_imported_as_usual(
    make_package: MakePackage,
) -> None:
    name = make_package(
        "compiled_demo", {"__init__.py": "from .part import Part\n", "part.py": "class Part: ...\n"}
    )
    package = Path(sys.path[0]) / name
    py_compile.compile(str(package / "__init__.py"), cfile=str(package / "__init__.pyc"))
    (package / "__init__.py").unlink()  # as a distribution of bytecode alone ships it
    importlib.invalidate_caches()

    assert defer_init(name) is False
    assert sys.modules[name].Part is sys.modules["compiled_demo.part"].Part

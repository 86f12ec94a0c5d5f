"""The package `sam build` makes is what Lambda loads: compiled for its Python, for either architecture.

`/var/task` is read-only, so a module without valid bytecode in the package is compiled from
source at every cold start and the result thrown away. These tests count (never time: that is
`make bench`) on the output of `make build`, the same command `make deploy` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.provision import load_template

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
# ELF e_machine of each Lambda architecture, and the platform its extension modules are named for.
ARCHITECTURES = {"arm64": (183, "aarch64-linux-gnu"), "x86_64": (62, "x86_64-linux-gnu")}

# Run by the functions' Python: for every .py of a tree, is its cached bytecode what this
# interpreter would load without reading the source (hash-based, unchecked, matching hash)?
_CHECK_BYTECODE = r"""
import importlib.util, json, marshal, pathlib, sys
tree = pathlib.Path(sys.argv[1])
problems, checked = [], 0
for source in sorted(tree.rglob("*.py")):
    relative = source.relative_to(tree).as_posix()
    cached = pathlib.Path(importlib.util.cache_from_source(source))
    if not cached.is_file():
        problems.append(f"{relative}: no {cached.name}")
        continue
    data = cached.read_bytes()
    flags = int.from_bytes(data[4:8], "little")
    if data[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(f"{relative}: not this Python's bytecode")
    elif flags != 0b01:
        problems.append(f"{relative}: flags {flags:#04b}, not unchecked-hash")
    elif data[8:16] != importlib.util.source_hash(source.read_bytes()):
        problems.append(f"{relative}: bytecode of other source")
    elif type(marshal.loads(data[16:])).__name__ != "code":
        problems.append(f"{relative}: no code object")
    else:
        checked += 1
strays = [
    cached.relative_to(tree).as_posix()
    for cached in tree.rglob("*.pyc")
    if cached.parent.name != "__pycache__"
    or cached.name.split(".")[1:] != [sys.implementation.cache_tag, "pyc"]
    or not (cached.parent.parent / (cached.name.split(".")[0] + ".py")).is_file()
]
print(json.dumps({"checked": checked, "problems": problems, "strays": strays}))
"""

# Run by the functions' Python with only the package and botocore (which Lambda's runtime
# provides) on its path, as on Lambda: which modules came from the package, and how many of
# them had to be compiled from source.
_IMPORT_HANDLER = r"""
import importlib._bootstrap_external as external, json, sys
tree, runtime, module = sys.argv[1:]
sys.path[:0] = [tree, runtime]
compiled = []
original = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return original(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting
__import__(module)
files = {name: str(getattr(loaded, "__file__", "")) for name, loaded in list(sys.modules.items())}
from_tree = [name for name, file in files.items() if file.startswith(tree)]
ours = [path for path in compiled if path.startswith(tree)]
print(json.dumps({"from_package": from_tree, "compiled": ours}))
"""


def _functions() -> dict[str, dict[str, Any]]:
    return {
        logical_id: definition
        for logical_id, definition in load_template()["Resources"].items()
        if definition["Type"] == "AWS::Serverless::Function"
    }


@pytest.fixture(scope="module")
def python313() -> str:
    python = subprocess.run(
        [str(ROOT / "infra" / "tools" / "find-python")], capture_output=True, text=True, check=True
    ).stdout.strip()
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.stdout.strip() == "True", f"the functions' runtime is Python 3.13; {python} is not"
    return python


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """`make build` as a developer or `make deploy` runs it; quick when nothing changed."""
    env = {key: value for key, value in os.environ.items() if key != "LAMBDA_ARCHITECTURES"}
    result = subprocess.run(
        ["make", "--no-print-directory", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return {name: BUILD / name for name in _functions()}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Lambda's runtime adds to the path: botocore and what it needs, and nothing of ours."""
    import botocore
    import dateutil
    import urllib3

    runtime = tmp_path_factory.mktemp("var-runtime")
    for module in (botocore, dateutil, urllib3):
        package = Path(module.__file__ or "").parent
        (runtime / package.name).symlink_to(package)
    import six

    (runtime / "six.py").symlink_to(six.__file__ or "")
    return runtime


def test_given_the_template_then_every_function_is_built_by_the_functions_makefile() -> None:
    functions = _functions()
    makefile = (ROOT / "functions" / "Makefile").read_text(encoding="utf-8")

    assert functions
    methods = {
        name: definition.get("Metadata", {}).get("BuildMethod") for name, definition in functions.items()
    }
    assert methods == dict.fromkeys(functions, "makefile")
    assert "build-%:" in makefile  # one rule for every function: a new one needs no target of its own


def test_given_the_built_package_then_every_module_has_valid_unchecked_hash_bytecode_for_python_313(
    built: dict[str, Path], python313: str
) -> None:
    for name, tree in built.items():
        result = subprocess.run(
            [python313, "-I", "-c", _CHECK_BYTECODE, str(tree)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        sources = sum(1 for _ in tree.rglob("*.py"))

        assert report["problems"] == [], name
        assert report["strays"] == [], name
        assert report["checked"] == sources > 0, name


def test_given_the_built_package_when_each_handler_is_imported_then_no_module_is_compiled_from_source(
    built: dict[str, Path], python313: str, runtime: Path
) -> None:
    for name, definition in _functions().items():
        module = definition["Properties"]["Handler"].rsplit(".", 1)[0]
        tree = str(built[name]) + os.sep
        result = subprocess.run(
            [python313, "-I", "-S", "-B", "-c", _IMPORT_HANDLER, tree, str(runtime), module],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)

        assert module in report["from_package"], name
        assert "pydantic_core._pydantic_core" in report["from_package"], name  # this machine's build of it
        assert report["compiled"] == [], name


def test_given_the_built_package_then_each_native_extension_is_there_for_both_lambda_architectures(
    built: dict[str, Path],
) -> None:
    for name, tree in built.items():
        extensions = sorted(tree.rglob("*.so"))
        modules = {path.parent / path.name.split(".", 1)[0] for path in extensions}

        assert modules, name
        for module in modules:
            for machine, platform in ARCHITECTURES.values():
                [variant] = [
                    path
                    for path in extensions
                    if path.name.startswith(module.name + ".") and platform in path.name
                ]
                header = variant.read_bytes()[:20]
                assert header[:4] == b"\x7fELF"
                assert int.from_bytes(header[18:20], "little") == machine, variant.name


def test_given_the_built_package_then_it_ships_no_console_scripts_or_foreign_bytecode(
    built: dict[str, Path],
) -> None:
    for name, tree in built.items():
        assert not (tree / "bin").exists(), name
        assert not [path for path in tree.rglob("*.pyc") if ".cpython-313." not in path.name], name
        assert (tree / "callbacks" / "static").is_dir(), name  # package data travels with the code

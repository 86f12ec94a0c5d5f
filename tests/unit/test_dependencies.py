"""The locked dependencies: what the functions ship is what uv.lock pins, hashed for both architectures.

functions/requirements.txt is generated from uv.lock (`make requirements`); an update that bumps
pyproject.toml and uv.lock without regenerating it fails here, before the stale file is deployed.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "callback-requests"


def locked_packages() -> dict[str, dict[str, Any]]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {package["name"]: package for package in lock["package"]}


def runtime_closure(packages: dict[str, dict[str, Any]]) -> set[str]:
    """Every package the functions need at run time: the project's dependencies, transitively."""
    wanted = [dependency["name"] for dependency in packages[PROJECT]["dependencies"]]
    found: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name not in found:
            found.add(name)
            wanted.extend(dependency["name"] for dependency in packages[name].get("dependencies", []))
    return found


def shipped_requirements() -> dict[str, tuple[str, set[str]]]:
    """functions/requirements.txt as pip reads it: name -> (version, hashes)."""
    text = (ROOT / "functions" / "requirements.txt").read_text(encoding="utf-8")
    requirements: dict[str, tuple[str, set[str]]] = {}
    for entry in re.split(r"\n(?=[a-z0-9])", re.sub(r"(?m)^\s*#.*\n?", "", text).strip()):
        match = re.match(r"([a-z0-9._-]+)==([^\s\\;]+)", entry)
        assert match, f"not an exact pin: {entry!r}"
        requirements[match[1]] = (match[2], set(re.findall(r"--hash=(sha256:[0-9a-f]{64})", entry)))
    return requirements


def test_the_functions_ship_exactly_what_uv_lock_pins() -> None:
    packages = locked_packages()
    shipped = shipped_requirements()

    assert set(shipped) == runtime_closure(packages)
    for name, (version, _) in shipped.items():
        assert version == packages[name]["version"], (
            f"{name}: requirements.txt {version}, uv.lock {packages[name]['version']}"
        )


def test_every_shipped_package_is_hashed() -> None:
    # pip turns on --require-hashes as soon as one line has a hash: all must have them.
    for name, (_, hashes) in shipped_requirements().items():
        assert hashes, f"{name} has no hash"


@pytest.mark.parametrize("architecture", ["aarch64", "x86_64"])
def test_the_native_wheel_of_each_architecture_is_allowed(architecture: str) -> None:
    """pydantic-core is compiled: pip must find a hashed Python 3.13 manylinux wheel for arm64 and x86_64."""
    version, hashes = shipped_requirements()["pydantic-core"]
    wheels = locked_packages()["pydantic-core"]["wheels"]
    matching = [
        wheel
        for wheel in wheels
        if f"-{version}-cp313-cp313-manylinux" in wheel["url"]
        and wheel["url"].endswith(f"_{architecture}.whl")
    ]
    assert matching, f"uv.lock has no cp313 manylinux {architecture} wheel of pydantic-core {version}"
    assert all(wheel["hash"] in hashes for wheel in matching)


@pytest.mark.parametrize("name", ["boto3", "botocore"])
def test_the_tests_run_the_sdk_the_functions_ship(name: str) -> None:
    assert importlib.metadata.version(name) == shipped_requirements()[name][0]

"""What shipping boto3/botocore in the functions' package costs: size, and the cold import.

    .venv/bin/python -m infra.tools.sdk_cost

Installs the SDK exactly as functions/requirements.txt pins it (hashes checked, the arm64 Lambda
platform) into a scratch directory, once as installed (no bytecode, as uv installs) and once
compiled to .pyc (as a package that ships bytecode), then times `import boto3` plus the two clients
the functions make, in fresh `python3.13 -B` interpreters (-B: read .pyc, never write it, as on
Lambda's read-only /var/task). The median of RUNS runs is printed.
"""

from __future__ import annotations

import compileall
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = ("boto3", "botocore", "s3transfer", "python-dateutil", "six", "urllib3")
# Installed for the import, not counted: Powertools ships it anyway.
ALREADY_SHIPPED = ("jmespath",)
RUNS = 7
PROBE = """
import time
start = time.perf_counter()
import boto3
imported = time.perf_counter()
session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
session.client("dynamodb"), session.client("sesv2")
print((imported - start) * 1000, (time.perf_counter() - start) * 1000)
"""


def sdk_requirements(scratch: Path) -> Path:
    """The SDK's entries of functions/requirements.txt, hashes included."""
    text = (ROOT / "functions" / "requirements.txt").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[a-z0-9])", re.sub(r"(?m)^\s*#.*\n?", "", text).strip())
    wanted = [entry for entry in entries if entry.split("==", 1)[0] in (*SDK, *ALREADY_SHIPPED)]
    path = scratch / "sdk-requirements.txt"
    path.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    return path


def size(tree: Path) -> tuple[int, int]:
    files = [
        path
        for path in tree.rglob("*")
        if path.is_file() and not path.relative_to(tree).parts[0].startswith(ALREADY_SHIPPED)
    ]
    unzipped = sum(path.stat().st_size for path in files)
    archive = tree.parent / f"{tree.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path in files:
            bundle.write(path, path.relative_to(tree))
    return unzipped, archive.stat().st_size


def cold_import(python: str, tree: Path) -> tuple[float, float]:
    runs = []
    for _ in range(RUNS):
        out = subprocess.run(
            [python, "-B", "-I", "-c", f"import sys; sys.path.insert(0, {str(tree)!r})\n{PROBE}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    python = subprocess.run(
        [str(ROOT / "infra" / "tools" / "find-python")], capture_output=True, text=True, check=True
    ).stdout.strip()
    uv = str(Path(sys.executable).parent / "uv")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        plain = scratch / "as-installed"
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--require-hashes", "--no-deps", "--target", str(plain),
             "--python-version", "3.13", "--python-platform", "aarch64-manylinux_2_28",
             "-r", str(sdk_requirements(scratch))],
            check=True,
        )  # fmt: skip
        compiled = scratch / "with-pyc"
        shutil.copytree(plain, compiled)
        compileall.compile_dir(compiled, quiet=1, workers=2)
        print(f"SDK as functions/requirements.txt pins it, imported by {python} -B (median of {RUNS})")
        print("| tree | unzipped | zipped | import boto3 | import + 2 clients |")
        print("| --- | --- | --- | --- | --- |")
        for name, tree in (("as installed (no .pyc)", plain), ("with .pyc", compiled)):
            unzipped, zipped = size(tree)
            imported, with_clients = cold_import(python, tree)
            print(
                f"| {name} | {unzipped / 1e6:.1f} MB | {zipped / 1e6:.1f} MB | {imported:.0f} ms "
                f"| {with_clients:.0f} ms |"
            )


if __name__ == "__main__":
    main()

"""Instructions executed by `make bench`'s fresh processes, counted by valgrind: the floor, the intake
and the notifier, each once.

    make bench          # first: it builds, and prepares .local/bench (trees, runtime, events)
    make instructions   # then: the same processes, under valgrind

The clock on this shared 2-core machine moves by a tenth from run to run; the count of instructions
moves by under a thousandth, so it shows a change of one percent that `make bench` cannot. It counts
user-space instructions only, not the kernel's work (files, memory) nor how fast each one runs: it
guides a change, and `make bench`'s clock judges the result. Needs valgrind (Debian's `valgrind`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from infra.tools import bench


def instructions(child: bench.Child, tree: Path | str, runtime: Path, mode: str, *args: str) -> int:
    """Instructions one process executes, from its start to its exit."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("make instructions needs valgrind (apt-get install valgrind)")
    with tempfile.NamedTemporaryFile(dir=bench.WORK, suffix=".json") as result:
        command = [
            valgrind,
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            child.python,
            "-I",
            "-S",
            "-B",
            str(bench.CHILD),
            result.name,
            str(tree),
            str(runtime),
            mode,
            *args,
        ]
        process = subprocess.run(
            command, env=child.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
        )
    found = re.search(r"I\s+refs:\s+([\d,]+)", process.stderr)
    if process.returncode != 0 or found is None:
        raise SystemExit(f"{mode} {' '.join(args)} failed under valgrind:\n{process.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    python = bench.functions_python()
    runtime = bench.runtime_tree(python)
    trees = sorted((bench.WORK / "trees").glob("*/shipped"))
    events = {trigger: bench.WORK / f"events-{trigger}-one.json" for trigger in ("api", "stream")}
    if not trees or not all(path.exists() for path in events.values()):
        raise SystemExit("run `make bench` first: it builds and prepares the trees and events measured here")
    tree = trees[0]
    child = bench.Child(python, bench.child_environment())
    by_function = {fn.trigger: fn for fn in bench.functions()}
    floor = instructions(child, "-", runtime, "floor", child.env["TABLE_NAME"])
    rows = {"floor: boto3, client, PutItem": floor}
    for trigger in ("api", "stream"):
        fn = by_function[trigger]
        rows[fn.name] = instructions(child, tree, runtime, "invoke", fn.handler, str(events[trigger]))
    intake = by_function["api"]
    unplain = bench.with_email(events["api"], bench.ADDRESS_NOT_PLAIN)
    rows[f"{intake.name}, address not plain"] = instructions(
        child, tree, runtime, "invoke", intake.handler, str(unplain)
    )
    print(f"instructions executed by one fresh process ({tree.relative_to(bench.ROOT)}), millions")
    for name, count in rows.items():
        ratio = "" if count == floor else f"  {count / floor:.2f}x the floor"
        print(f"  {name:<45} {count / 1e6:8.0f}{ratio}")
    (bench.WORK / "instructions.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

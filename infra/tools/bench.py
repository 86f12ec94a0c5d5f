"""`make bench`: what Lambda loads and what a visitor waits for, measured on this machine.

Every figure comes from the `sam build` output (`make build`), the package Lambda runs:

- cold import of each handler from three copies of that package: as shipped (its own bytecode;
  native extensions for this machine taken from the build where it carries them, else from this
  machine's build of the same version), compiled ideally (bytecode written here by the same
  Python, as an interpreter with a writable directory would cache it), and from source only (no
  bytecode at all: what every cold start paid before the build compiled the package);
- the fresh-process cold start of each function: a new interpreter that imports the handler and
  answers one request, with every AWS call answered at once after botocore has built and
  validated it, timed from outside from start to exit, as a ratio to a floor process that only
  imports boto3, makes a DynamoDB client and calls PutItem, stubbed the same way;
- warm requests in one process (p50/p99), with the share spent inside the SDK's calls taken out;
- AWS calls per request and per email; what each library costs the intake's cold start;
- the package's size, unzipped and zipped, and its largest parts;
- the local stack (`make run`): launch to first answer, a POST to its .eml, SIGINT to exit.

The measured processes run under the functions' Python (3.13) with `-I -S -B`, seeing only the
package tree and a runtime tree holding boto3 (what Lambda's runtime provides, compiled), as
/var/task and /var/runtime. Runs of the variants being compared alternate, round by round; each
figure is the median of the rounds, with min and max beside it; ratios are taken round by round.
Timing lives here, never in a pass/fail test. The table goes to the screen, everything to
.local/bench.json.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
WORK = ROOT / ".local" / "bench"
REPORT = ROOT / ".local" / "bench.json"
CHILD = Path(__file__).resolve().parent / "bench_child.py"
RUNS = int(os.environ.get("BENCH_RUNS", "11"))
WARM_REQUESTS = int(os.environ.get("BENCH_WARM_REQUESTS", "1000"))
TREES = ("shipped", "ideal", "source")
# The stream's filter (template.yaml) passes only the request items to the notifier.
REQUEST_PREFIX = "request#"
# One visitor's request, as the form posts it (JSON); each copy gets its own message.
VISITOR = {
    "name": "Jane Doe",
    "phone": "(662) 377-6290",
    "email": "jane@example.com",
    "best_time": "morning",
    "interest": "fractional-co2-laser",
    "consent": True,
    "source_url": "https://www.accentplasticsurgery.example/fractional-co2-laser-resurfacing/",
    "website": "",
}
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/2026-01-01T00:00:00.000"

# What stands between a fresh process and the intake's answer, one at a time, each in a fresh
# process of the shipped package (with the shared pieces they pull in).
IMPORTS = {
    "event handler (REST resolver)": (
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\nAPIGatewayRestResolver()"
    ),
    # As the functions load it: ``callbacks`` defers Powertools' aggregate packages first
    # (core/lazy_packages.py), so only the REST resolver and the event classes it uses are imported.
    "event handler (REST resolver), as the functions load it": (
        "import callbacks\nfrom aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
        "APIGatewayRestResolver()"
    ),
    "event handler, enable_validation": (
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
        "APIGatewayRestResolver(enable_validation=True)"
    ),
    "batch": "from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response",
    "logger": "from aws_lambda_powertools.logging import Logger\nLogger()",
    "metrics": "from aws_lambda_powertools.metrics import Metrics\nMetrics()",
    "pydantic": "from pydantic import BaseModel",
    "email-validator": "import email_validator",
    "phonenumbers": "import phonenumbers",
    "boto3": "import boto3",
    "boto3 + DynamoDB client": "import boto3\nboto3.session.Session().client('dynamodb')",
    # What the functions import: botocore's session and clients, without boto3's resource layer.
    "botocore + DynamoDB client": (
        "import botocore.session\nbotocore.session.get_session().create_client('dynamodb')"
    ),
}
# The intake's cold path in the order it is paid, each step timed after the ones before it in one
# process: what each piece adds, shared modules counted once, where they are first needed.
INTAKE_LADDER = {
    "pydantic": "from pydantic import BaseModel",
    "phonenumbers": "import phonenumbers",
    "logger + metrics": "from aws_lambda_powertools import Logger, Metrics\nLogger()\nMetrics()",
    # The package's own import: Powertools' aggregate packages registered to load name by name
    # (core/lazy_packages.py); without it the event_handler package's __init__ would also load
    # AppSync, Bedrock and the HTTP resolver (asyncio, ssl), which the REST resolver never uses.
    "callbacks (Powertools' aggregate packages deferred)": "import callbacks",
    "event handler (REST resolver; no OpenAPI validation)": (
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\nAPIGatewayRestResolver()"
    ),
    "our models": "import callbacks.models.form, callbacks.models.api, callbacks.models.record",
    "the rest of callbacks.handlers.intake": "import callbacks.handlers.intake",
    "botocore (first request)": "import botocore.session",
    "DynamoDB client (first request)": "botocore.session.get_session().create_client('dynamodb')",
    # Only for an address the plain-address shortcut does not take (models/form.py plain_email).
    "email-validator (an address that is not plain)": "import email_validator",
}
# Self time of each module under -X importtime, summed by what it belongs to: the first pattern
# that matches the module's dotted name, or a leading part of it.
IMPORT_GROUPS = (
    ("powertools openapi (validation)", r"aws_lambda_powertools\.event_handler\.(openapi|middlewares)"),
    ("powertools event handler", r"aws_lambda_powertools\.event_handler"),
    ("powertools logger", r"aws_lambda_powertools\.logging"),
    ("powertools metrics", r"aws_lambda_powertools\.metrics"),
    ("powertools batch", r"aws_lambda_powertools\.utilities\.batch"),
    ("powertools data classes", r"aws_lambda_powertools\.utilities\.data_classes"),
    ("powertools, the rest", r"aws_lambda_powertools"),
    ("pydantic", r"pydantic(_core)?|annotated_types|typing_inspection|typing_extensions"),
    ("email-validator", r"email_validator|idna|dns"),
    ("phonenumbers", r"phonenumbers"),
    ("botocore", r"botocore|boto3|jmespath|urllib3|dateutil|six|s3transfer"),
    ("our code", r"callbacks"),
    ("standard library", r".*"),
)


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    trigger: str  # "api", "stream", or another event source (imports only)

    @property
    def build(self) -> Path:
        return BUILD / self.name


def functions() -> list[Function]:
    from infra.provision import load_template

    found = []
    for name, definition in load_template()["Resources"].items():
        if definition["Type"] != "AWS::Serverless::Function":
            continue
        kinds = {event["Type"] for event in definition["Properties"].get("Events", {}).values()}
        trigger = "api" if "Api" in kinds else "stream" if "DynamoDB" in kinds else ",".join(sorted(kinds))
        found.append(Function(name, definition["Properties"]["Handler"], trigger))
    return found


def summary(samples: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "runs": len(samples),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "requests": len(ordered),
    }


# --- the interpreter and the trees it loads --------------------------------------------------


def functions_python() -> str:
    python = (
        os.environ.get("PYTHON")
        or subprocess.run(
            [str(ROOT / "infra" / "tools" / "find-python")], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != "3.13":
        raise SystemExit(f"make bench needs Python 3.13, the functions' runtime; {python} is {version}")
    return python


def _link_tree(source: Path, target: Path, *, bytecode: bool) -> None:
    """A copy of ``source`` (times kept), with or without bytecode.

    Copies, not hard links: a `make build` while the bench runs rewrites the build's files in
    place, and new times on shared files would make the ideal tree's timestamped bytecode stale.
    """
    ignore = None if bytecode else shutil.ignore_patterns("__pycache__")
    shutil.copytree(source, target, ignore=ignore, copy_function=shutil.copy2, symlinks=True)


def _extension_suffixes(python: str) -> list[str]:
    code = "import importlib.machinery as m, json; print(json.dumps(m.EXTENSION_SUFFIXES))"
    suffixes: list[str] = json.loads(
        subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    )
    return suffixes


def _distribution_of(tree: Path, file: Path) -> tuple[str, str]:
    relative = file.relative_to(tree).as_posix()
    for record in tree.glob("*.dist-info/RECORD"):
        if any(line.split(",", 1)[0] == relative for line in record.read_text().splitlines()):
            metadata = (record.parent / "METADATA").read_text()
            name = re.search(r"^Name: (.+)$", metadata, re.MULTILINE)
            version = re.search(r"^Version: (.+)$", metadata, re.MULTILINE)
            if name and version:
                return name.group(1).strip(), version.group(1).strip()
    raise SystemExit(f"{relative}: no distribution in the package names it; cannot swap it for this machine")


def swap_native_extensions(tree: Path, python: str) -> list[str]:
    """Give each native extension of ``tree`` this machine's build of the same version, if it has none."""
    suffixes = _extension_suffixes(python)
    modules: dict[Path, list[Path]] = {}
    for file in tree.rglob("*.so"):
        modules.setdefault(file.parent / file.name.split(".", 1)[0], []).append(file)
    swapped = []
    for key, files in sorted(modules.items()):
        # The import system looks for exactly <module><suffix>, e.g. never for another platform's.
        if any(file.name[len(key.name) :] in suffixes for file in files):
            continue
        name, version = _distribution_of(tree, files[0])
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                [
                    str(ROOT / ".venv" / "bin" / "uv"),
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--python",
                    python,
                    "--target",
                    scratch,
                    f"{name}=={version}",
                ],
                check=True,
            )
            relative = key.parent.relative_to(tree)
            for native in (Path(scratch) / relative).glob(key.name + ".*"):
                if native.name[len(key.name) :] in suffixes:
                    shutil.copy2(native, key.parent / native.name)
                    swapped.append(f"{name} {version}: {relative / native.name}")
    return swapped


def prepare_trees(build: Path, python: str, label: str) -> tuple[dict[str, Path], list[str]]:
    """The shipped, ideally compiled and source-only copies of one function's package."""
    if not build.is_dir():
        raise SystemExit(f"{build} does not exist: run `make build` first")
    base = WORK / "trees" / label
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    trees = {name: base / name for name in TREES}
    _link_tree(build, trees["shipped"], bytecode=True)
    swapped = swap_native_extensions(trees["shipped"], python)
    _link_tree(trees["shipped"], trees["ideal"], bytecode=False)
    _link_tree(trees["shipped"], trees["source"], bytecode=False)
    # What the interpreter itself would cache (timestamp-checked), were the directory writable.
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(trees["ideal"])], check=True)
    return trees, swapped


def runtime_tree(python: str) -> Path:
    """boto3 and botocore, the versions the tests use, compiled: what Lambda's /var/runtime holds."""
    from importlib.metadata import version

    versions = f"boto3=={version('boto3')} botocore=={version('botocore')}"
    target = WORK / ("runtime-" + versions.replace("==", "-").replace(" ", "-"))
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "uv"),
                "pip",
                "install",
                "--quiet",
                "--python",
                python,
                "--target",
                str(target),
                *versions.split(),
            ],
            check=True,
        )
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(target)], check=True)
        (target / ".complete").touch()
    return target


# --- events and the measured processes ------------------------------------------------------


def child_environment(function: str = "bench") -> dict[str, str]:
    """The functions' variables as template.yaml gives them (the local stack's values), as on Lambda."""
    from infra.local.stack import StackConfig, function_environment
    from infra.provision import signing_secret_environment

    environment = function_environment(StackConfig())
    # What the template's dynamic references resolve to on a deploy: a secret, so the spam layers run.
    environment |= signing_secret_environment("a-bench-signing-secret-0123456789abcdef")
    # The local stack mutes metrics for its console; on Lambda they are written, and cost.
    environment.pop("POWERTOOLS_METRICS_DISABLED", None)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "HOME": str(WORK),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(WORK / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(WORK / "no-aws-credentials"),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        **environment,
    }


def make_events(count: int) -> dict[str, tuple[Path, Path]]:
    """For each trigger, a file with one event and a file with ``count`` distinct ones.

    The stream records carry the very items the intake writes: the intake runs here first (source,
    this process), its one call answered by the same stub, and its request items are kept.
    """
    saved = dict(os.environ)
    os.environ.update(child_environment())
    try:
        with _stdout_discarded():
            return _make_events(count)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _stdout_discarded() -> Iterator[None]:
    """The handlers' log lines and metrics go to stdout (file descriptor 1, whatever sys.stdout is)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _make_events(count: int) -> dict[str, tuple[Path, Path]]:
    from callbacks.handlers.intake import lambda_handler
    from infra.local.lambda_events import IncomingRequest, lambda_context, proxy_event
    from infra.tools.bench_child import _stub_aws

    seen: list[tuple[str, dict[str, Any]]] = []
    _stub_aws({}, [], seen)
    origin = os.environ["ALLOWED_ORIGINS"].split(",")[0]
    api = []
    for number in range(count + 1):
        body = json.dumps({**VISITOR, "message": f"I would like to ask about downtime ({number})."})
        request = IncomingRequest(
            method="POST",
            path="/callback-requests",
            query="",
            headers=[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
                ("Origin", origin),
                ("Host", "abc123.execute-api.us-east-1.amazonaws.com"),
            ],
            body=body.encode(),
            source_ip=f"203.0.113.{number % 250 + 1}",
            server_port=443,
        )
        event = proxy_event(request, "/callback-requests", "v1", ("multipart/form-data",))
        answer = lambda_handler(event, lambda_context("IntakeFunction"))
        if answer["statusCode"] != 201:
            raise SystemExit(f"the intake answered {answer['statusCode']} while making the events: {answer}")
        api.append(event)
    items = [
        put["Put"]["Item"]
        for name, params in seen
        if name == "TransactWriteItems"
        for put in params["TransactItems"]
        # The spam caps' counters are Updates in the same transaction.
        if "Put" in put and put["Put"]["Item"]["pk"]["S"].startswith(REQUEST_PREFIX)
    ]
    stream = [
        {
            "Records": [
                {
                    "eventID": f"bench-{number}",
                    "eventName": "INSERT",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": time.time(),
                        "Keys": {"pk": item["pk"]},
                        "NewImage": item,
                        "SequenceNumber": f"{number + 1:021d}",
                        "SizeBytes": len(json.dumps(item)),
                        "StreamViewType": "NEW_IMAGE",
                    },
                    "eventSourceARN": STREAM_ARN,
                }
            ]
        }
        for number, item in enumerate(items)
    ]
    files = {}
    for trigger, events in (("api", api), ("stream", stream)):
        one, many = WORK / f"events-{trigger}-one.json", WORK / f"events-{trigger}-many.json"
        one.write_text(json.dumps(events[:1]))
        many.write_text(json.dumps(events))
        files[trigger] = (one, many)
    return files


@dataclass
class Child:
    python: str
    env: dict[str, str]

    def run(
        self, tree: Path | str, runtime: Path, mode: str, *args: str, options: tuple[str, ...] = ()
    ) -> tuple[float, dict[str, Any], str]:
        """Wall milliseconds from start to exit, the child's own report, and its stderr."""
        with tempfile.NamedTemporaryFile(dir=WORK, suffix=".json", delete=False) as handle:
            result = Path(handle.name)
        command = [
            self.python,
            "-I",
            "-S",
            "-B",
            *options,
            str(CHILD),
            str(result),
            str(tree),
            str(runtime),
            mode,
            *args,
        ]
        begin = time.perf_counter()
        process = subprocess.run(
            command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
        )
        wall = (time.perf_counter() - begin) * 1000
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command[-3:])} failed:\n{process.stderr[-3000:]}")
        report: dict[str, Any] = json.loads(result.read_text())
        result.unlink()
        return wall, report, process.stderr


def rounds(jobs: dict[str, Callable[[], Any]], runs: int = RUNS) -> dict[str, list[Any]]:
    """Each job once per round, the order turning each round, after one round that is not kept."""
    names = list(jobs)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for number in range(runs + 1):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            outcome = jobs[name]()
            if number:
                results[name].append(outcome)
    return results


# --- the sections of the report ---------------------------------------------------------------


def cold_imports(
    child: Child, fns: list[Function], trees: dict[str, dict[str, Path]], runtime: Path
) -> dict[str, Any]:
    jobs: dict[str, Callable[[], Any]] = {}
    for fn in fns:
        module = fn.handler.rsplit(".", 1)[0]
        for tree in TREES:
            jobs[f"{fn.name}/{tree}"] = lambda path=trees[fn.name][tree], module=module: child.run(
                path, runtime, "import", module
            )[1]
    results = rounds(jobs)
    report: dict[str, Any] = {}
    for fn in fns:
        entry: dict[str, Any] = {}
        for tree in TREES:
            samples = results[f"{fn.name}/{tree}"]
            entry[tree] = {
                "import_ms": summary([sample["ms"] for sample in samples]),
                "modules": samples[-1]["modules"],
                "compiled_from_source": samples[-1]["compiled_from_source"],
            }
        for tree in ("shipped", "source"):
            ratios = [
                mine["ms"] / ideal["ms"]
                for mine, ideal in zip(results[f"{fn.name}/{tree}"], results[f"{fn.name}/ideal"], strict=True)
            ]
            entry[f"{tree}_vs_ideal"] = summary(ratios, 2)
        report[fn.name] = entry
    return report


def fresh_processes(
    child: Child,
    fns: list[Function],
    trees: dict[str, dict[str, Path]],
    runtime: Path,
    events: dict[str, tuple[Path, Path]],
) -> dict[str, Any]:
    table = child.env["TABLE_NAME"]
    jobs: dict[str, Callable[[], Any]] = {}
    served = [fn for fn in fns if fn.trigger in events]
    for fn in served:
        for tree in ("shipped", "source"):
            jobs[f"{fn.name}/{tree}"] = lambda fn=fn, tree=tree: child.run(
                trees[fn.name][tree], runtime, "invoke", fn.handler, str(events[fn.trigger][0])
            )
        if fn.trigger == "api":
            # The same visitor with an address the plain-address shortcut leaves to email-validator.
            unplain = with_email(events["api"][0], ADDRESS_NOT_PLAIN)
            jobs[f"{fn.name}/shipped, address not plain"] = lambda fn=fn, unplain=unplain: child.run(
                trees[fn.name]["shipped"], runtime, "invoke", fn.handler, str(unplain)
            )
    # Each process beside a floor process of its own, the two run back to back (the floor first
    # one time, second the next), and the ratio taken within the pair: this machine's speed drifts
    # over a round of several seconds, and a floor run seconds away from the process it divides
    # moved single runs' medians by a tenth.
    turns = itertools.count()

    def beside_the_floor(job: Callable[[], Any]) -> Callable[[], Any]:
        def pair() -> tuple[Any, Any]:
            if next(turns) % 2:
                mine = job()
                return mine, child.run("-", runtime, "floor", table)
            base = child.run("-", runtime, "floor", table)
            return job(), base

        return pair

    results = rounds({name: beside_the_floor(job) for name, job in jobs.items()})
    floors = [base for pairs in results.values() for _, base in pairs]
    report: dict[str, Any] = {
        "floor": {"process_ms": summary([wall for wall, _, _ in floors]), "calls": floors[-1][1]["calls"]}
    }
    for name, pairs in results.items():
        walls = [mine[0] for mine, _ in pairs]
        reports = [mine[1] for mine, _ in pairs]
        report[name] = {
            "process_ms": summary(walls),
            "ratio_to_floor": summary([mine[0] / base[0] for mine, base in pairs], 2),
            "import_ms": summary([each["import_ms"] for each in reports]),
            "first_request_ms": summary([each["first_request_ms"] for each in reports]),
            "calls": reports[-1]["calls"],
            "compiled_from_source": reports[-1]["compiled_from_source"],
        }
    return report


# An address the plain-address shortcut leaves to email-validator (models/form.py plain_email).
ADDRESS_NOT_PLAIN = "Jane.Doe@Example.com"


def with_email(events_file: Path, email: str) -> Path:
    """A copy of a file of API events whose JSON bodies carry ``email`` instead."""
    events = json.loads(events_file.read_text())
    for event in events:
        event["body"] = json.dumps({**json.loads(event["body"]), "email": email})
    copy = events_file.with_name(events_file.stem + "-address-not-plain.json")
    copy.write_text(json.dumps(events))
    return copy


def warm_requests(
    child: Child,
    fns: list[Function],
    trees: dict[str, dict[str, Path]],
    runtime: Path,
    events: dict[str, tuple[Path, Path]],
) -> dict[str, Any]:
    report = {}
    for fn in fns:
        if fn.trigger not in events:
            continue
        _, result, _ = child.run(
            trees[fn.name]["shipped"],
            runtime,
            "invoke",
            fn.handler,
            str(events[fn.trigger][1]),
            str(WARM_REQUESTS),
        )
        report[fn.name] = {
            "total_ms": percentiles(result["warm_ms"]),
            "own_ms": percentiles(result["warm_own_ms"]),
        }
    return report


def library_costs(child: Child, tree: Path, runtime: Path) -> dict[str, Any]:
    jobs: dict[str, Callable[[], Any]] = {
        label: (lambda code=code: child.run(tree, runtime, "exec", code)[1])
        for label, code in IMPORTS.items()
    }
    results = rounds(jobs)
    return {
        label: {"ms": summary([sample["ms"] for sample in samples]), "modules": samples[-1]["modules"]}
        for label, samples in results.items()
    }


def intake_ladder(child: Child, tree: Path, runtime: Path) -> dict[str, Any]:
    steps = json.dumps(list(INTAKE_LADDER.values()))
    samples = [child.run(tree, runtime, "ladder", steps)[1]["ms"] for _ in range(RUNS)]
    return {label: summary([run[index] for run in samples]) for index, label in enumerate(INTAKE_LADDER)}


def import_breakdown(child: Child, tree: Path, runtime: Path, module: str) -> dict[str, Any]:
    """Where one handler's import goes: -X importtime self times, summed by library."""
    patterns = [(label, re.compile(rf"(?:{pattern})(?:\..*)?")) for label, pattern in IMPORT_GROUPS]
    per_run: list[dict[str, float]] = []
    for _ in range(RUNS):
        _, _, stderr = child.run(tree, runtime, "import", module, options=("-X", "importtime"))
        totals: dict[str, float] = {label: 0.0 for label, _ in IMPORT_GROUPS}
        for line in stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
            if not match:
                continue
            name = match.group(2)
            label = next(label for label, pattern in patterns if pattern.fullmatch(name))
            totals[label] += int(match.group(1)) / 1000
        per_run.append(totals)
    return {
        label: round(statistics.median(run[label] for run in per_run), 1)
        for label, _ in IMPORT_GROUPS
        if any(run[label] for run in per_run)
    }


def package_sizes(build: Path) -> dict[str, Any]:
    """Unzipped and zipped (deflate, as sam packages it) bytes, in total and by top-level part."""
    parts: dict[str, list[int]] = {}
    bytecode = [0, 0]
    total = [0, 0]
    with tempfile.TemporaryFile() as scratch, zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(build.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(build)
            archive.write(path, relative.as_posix())
            info = archive.getinfo(relative.as_posix())
            sizes = [info.file_size, info.compress_size]
            top = relative.parts[0]
            part = "*.dist-info" if top.endswith(".dist-info") else top
            for tally in (parts.setdefault(part, [0, 0]), total) + (
                (bytecode,) if path.suffix == ".pyc" else ()
            ):
                tally[0] += sizes[0]
                tally[1] += sizes[1]
    largest = sorted(parts.items(), key=lambda item: item[1][1], reverse=True)[:10]
    return {
        "unzipped_bytes": total[0],
        "zipped_bytes": total[1],
        "bytecode": {"unzipped_bytes": bytecode[0], "zipped_bytes": bytecode[1]},
        "files": {"py": sum(1 for _ in build.rglob("*.py")), "pyc": sum(1 for _ in build.rglob("*.pyc"))},
        "largest_parts": {name: {"unzipped_bytes": u, "zipped_bytes": z} for name, (u, z) in largest},
    }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def local_stack(posts: int = 15) -> dict[str, Any]:
    """Seconds to the first answer, ms from POST to .eml, seconds from SIGINT to exit."""
    import urllib.request

    outbox = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    api = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "--api-port",
            api.rsplit(":", 1)[1],
            "--moto-port",
            str(_free_port()),
            "--outbox",
            str(outbox),
            # Every post comes from 127.0.0.1: the per-address cap would hold back all after the fifth.
            *("--env", "ADDRESS_HOURLY_CAP=100000"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 60
        while True:
            try:
                urllib.request.urlopen(f"{api}/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise OSError(f"python -m infra.local exited with {process.returncode}") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        up = time.monotonic() - started
        samples = []
        for number in range(posts):
            before = len(list(outbox.glob("*.eml")))
            body = json.dumps(
                {
                    "name": "Jane Doe",
                    # A number of its own each: five a day per number is a spam layer's cap.
                    "phone": f"(662) 377-{6200 + number:04d}",
                    "consent": True,
                    "message": f"question {number}",
                }
            ).encode()
            request = urllib.request.Request(
                f"{api}/callback-requests", body, {"Content-Type": "application/json"}
            )
            sent = time.monotonic()
            urllib.request.urlopen(request, timeout=10).close()
            while len(list(outbox.glob("*.eml"))) == before:
                if time.monotonic() - sent > 30:
                    raise TimeoutError("no email within 30 s")
                time.sleep(0.005)
            samples.append((time.monotonic() - sent) * 1000)
    finally:
        stopping = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a stack holding the ports behind
            process.wait()
        stopped = time.monotonic() - stopping
        shutil.rmtree(outbox, ignore_errors=True)
    return {
        "up_s": round(up, 2),
        "post_to_eml_ms": {
            "median": round(statistics.median(samples)),
            "max": round(max(samples)),
            "posts": posts,
        },
        "stop_s": round(stopped, 2),
    }


# --- the table ----------------------------------------------------------------------------------


def _figure(stats: dict[str, float], unit: str = " ms") -> str:
    return f"{stats['median']:8.1f}{unit}  ({stats['min']:.1f}-{stats['max']:.1f})"


def _ratio(stats: dict[str, float]) -> str:
    return f"{stats['median']:5.2f}x  ({stats['min']:.2f}-{stats['max']:.2f})"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:5.1f} MB"


def print_table(report: dict[str, Any]) -> Iterator[str]:
    yield report["machine"]
    yield ""
    yield "cold import of each handler (in-process, from the built package)      median (min-max)"
    for name, entry in report["cold_import"].items():
        for tree in TREES:
            row = entry[tree]
            yield (
                f"  {name:<15} {tree:<8} {_figure(row['import_ms'])}  {row['modules']} modules, "
                f"{row['compiled_from_source']} compiled from source"
            )
        yield (
            f"  {'':<15} shipped / ideal {_ratio(entry['shipped_vs_ideal'])}   "
            f"source / ideal {_ratio(entry['source_vs_ideal'])}"
        )
    yield ""
    yield "fresh process: start, import, one request (AWS stubbed), exit             median (min-max)"
    fresh = report["fresh_process"]
    yield f"  {'floor: boto3, client, PutItem':<45} {_figure(fresh['floor']['process_ms'])}"
    for name, row in fresh.items():
        if name == "floor":
            continue
        yield (
            f"  {name:<45} {_figure(row['process_ms'])}  {_ratio(row['ratio_to_floor'])} floor; "
            f"import {row['import_ms']['median']:.0f} ms, "
            f"first request {row['first_request_ms']['median']:.0f} ms"
        )
    yield ""
    yield f"warm requests, one process, AWS stubbed ({WARM_REQUESTS} each)           p50 / p99"
    for name, row in report["warm"].items():
        total, own = row["total_ms"], row["own_ms"]
        yield (
            f"  {name:<15} {total['p50']:6.3f} / {total['p99']:6.3f} ms; without the SDK's calls "
            f"{own['p50']:6.3f} / {own['p99']:6.3f} ms"
        )
    yield ""
    yield from _table_tail(report)


def _table_tail(report: dict[str, Any]) -> Iterator[str]:
    fresh = report["fresh_process"]
    yield "AWS calls"
    for name, row in fresh.items():
        if name.endswith("/shipped"):
            unit = (
                "per request" if "Intake" in name else "per email" if "Notify" in name else "per invocation"
            )
            yield f"  {name.split('/')[0]:<15} {sum(row['calls'].values())} {unit}: {row['calls']}"
    yield ""
    yield "each import alone, in a fresh process of the shipped package (in-process) median (min-max)"
    for label, row in report["libraries"].items():
        yield f"  {label:<34} {_figure(row['ms'])}  {row['modules']} modules"
    yield ""
    yield "the intake's cold path, step by step in one process (each after the ones above) median (min-max)"
    for label, stats in report["intake_ladder"].items():
        yield f"  {label:<34} {_figure(stats)}"
    yield ""
    yield "where the intake's import goes (-X importtime self time, median, ms; importtime adds its own)"
    for label, ms in report["intake_import_breakdown"].items():
        yield f"  {label:<34} {ms:8.1f}"
    yield ""
    for name, sizes in report["package"].items():
        yield (
            f"package {name}: {_mb(sizes['unzipped_bytes'])} unzipped, {_mb(sizes['zipped_bytes'])} zipped; "
            f"bytecode {_mb(sizes['bytecode']['zipped_bytes'])} of it zipped; "
            f"{sizes['files']['py']} .py, {sizes['files']['pyc']} .pyc"
        )
        for part, size in sizes["largest_parts"].items():
            yield f"  {part:<34} {_mb(size['unzipped_bytes'])} unzipped {_mb(size['zipped_bytes'])} zipped"
    if "error" in report.get("local_stack", {}):
        yield ""
        yield f"local stack: did not run: {report['local_stack']['error']}"
    elif "local_stack" in report:
        stack = report["local_stack"]
        yield ""
        yield (
            f"local stack: up in {stack['up_s']:.1f} s; "
            f"POST -> .eml median {stack['post_to_eml_ms']['median']} ms, "
            f"max {stack['post_to_eml_ms']['max']} ms ({stack['post_to_eml_ms']['posts']} posts); "
            f"SIGINT -> exit {stack['stop_s']:.1f} s"
        )


def main() -> None:
    # The intake runs here once to make the stream records from what it writes.
    sys.path.insert(0, str(ROOT / "functions"))
    python = functions_python()
    WORK.mkdir(parents=True, exist_ok=True)
    fns = functions()
    runtime = runtime_tree(python)
    # Functions whose packages are identical share one set of trees.
    trees: dict[str, dict[str, Path]] = {}
    by_content: dict[tuple[tuple[str, int], ...], dict[str, Path]] = {}
    swapped: list[str] = []
    package: dict[str, Any] = {}
    for fn in fns:
        if not fn.build.is_dir():
            raise SystemExit(f"{fn.build} does not exist: run `make build` first")
        content = tuple(
            sorted(
                (p.relative_to(fn.build).as_posix(), p.stat().st_size)
                for p in fn.build.rglob("*")
                if p.is_file()
            )
        )
        if content not in by_content:
            by_content[content], swapped_here = prepare_trees(fn.build, python, fn.name)
            swapped += swapped_here
            package[fn.name] = package_sizes(fn.build)
        trees[fn.name] = by_content[content]
    if len(by_content) == 1:
        package = {"(every function)": next(iter(package.values()))}
    events = make_events(WARM_REQUESTS)
    child = Child(python, child_environment())
    cores = os.cpu_count()
    version = subprocess.run([python, "-V"], capture_output=True, text=True, check=True).stdout.strip()
    load = os.getloadavg()[0]
    report: dict[str, Any] = {
        "machine": (
            f"python {python} ({version}), "
            f"{cores} cores, load {load:.1f} at start; medians of {RUNS} alternating rounds; "
            f"native extensions swapped for this machine's: {', '.join(swapped) or 'none needed'}"
        ),
        "runs": RUNS,
        "runtime_tree": runtime.name,
    }
    print(report["machine"], flush=True)
    print("cold imports ...", flush=True)
    report["cold_import"] = cold_imports(child, fns, trees, runtime)
    print("fresh processes ...", flush=True)
    report["fresh_process"] = fresh_processes(child, fns, trees, runtime, events)
    print("warm requests ...", flush=True)
    report["warm"] = warm_requests(child, fns, trees, runtime, events)
    intake = next(fn for fn in fns if fn.trigger == "api")
    print("libraries ...", flush=True)
    report["libraries"] = library_costs(child, trees[intake.name]["shipped"], runtime)
    report["intake_ladder"] = intake_ladder(child, trees[intake.name]["shipped"], runtime)
    report["intake_import_breakdown"] = import_breakdown(
        child, trees[intake.name]["shipped"], runtime, intake.handler.rsplit(".", 1)[0]
    )
    report["package"] = package
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    if os.environ.get("BENCH_LOCAL_STACK", "1") != "0":
        print("local stack ...", flush=True)
        try:
            report["local_stack"] = local_stack()
        except (OSError, TimeoutError, subprocess.SubprocessError) as error:
            report["local_stack"] = {"error": str(error)}
        REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print()
    for line in print_table(report):
        print(line)
    print(f"\n(all figures in {REPORT.relative_to(ROOT)})")


if __name__ == "__main__":
    main()

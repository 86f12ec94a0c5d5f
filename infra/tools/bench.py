"""`make bench`: what a visitor's first and later requests cost, measured on this machine.

- cold import: a fresh interpreter importing each entry point (what a Lambda cold start pays
  before the handler runs), median of several runs;
- first request: a fresh interpreter importing the intake handler and answering one request
  against in-process moto (boto3 import and client creation included);
- warm requests: the same handler answering many requests in one process (moto in-process, so
  this is the code's own cost plus moto's, not DynamoDB's network time);
- the local stack: launch to first answer, a JSON POST to its .eml in the outbox, SIGINT to exit;
- the built package's size, when `make build` has run.

Timing lives here, never in a pass/fail test.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 7
WARM_REQUESTS = 300

_IMPORT = """
import sys, time
sys.path[:0] = [{functions!r}]
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(elapsed * 1000, len(sys.modules))
"""

_FIRST_REQUEST = """
import sys, time, os
start = time.perf_counter()
sys.path[:0] = [{functions!r}, {root!r}]
from tests.conftest import TEST_ENV
os.environ.update(TEST_ENV)
import boto3
from moto import mock_aws
from infra.provision import provision
with mock_aws():
    provision(boto3.session.Session(), table_name=TEST_ENV["TABLE_NAME"], queue_name="q",
              sender_email=TEST_ENV["SENDER_EMAIL"], configuration_set="staff-alerts")
    from tests.integration.helpers import VALID, invoke, json_event
    event = json_event(VALID)
    begin = time.perf_counter()
    answer = invoke(event)
    done = time.perf_counter()
    assert answer.status == 201, answer
print((done - begin) * 1000)
"""


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return result.stdout.strip().splitlines()[-1]


def cold_import(module: str) -> tuple[float, int]:
    samples = []
    modules = 0
    for _ in range(RUNS):
        elapsed, modules_text = _python(
            _IMPORT.format(functions=str(ROOT / "functions"), module=module)
        ).split()
        samples.append(float(elapsed))
        modules = int(modules_text)
    return statistics.median(samples), modules


def first_request() -> float:
    samples = [
        float(_python(_FIRST_REQUEST.format(functions=str(ROOT / "functions"), root=str(ROOT))))
        for _ in range(RUNS)
    ]
    return statistics.median(samples)


def warm_requests(stub_dynamodb: bool = False) -> tuple[float, float]:
    sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
    import os

    from tests.conftest import TEST_ENV

    os.environ.update(TEST_ENV)
    import boto3
    from moto import mock_aws

    from infra.provision import provision
    from tests.integration.helpers import VALID, invoke, json_event

    with mock_aws():
        provision(
            boto3.session.Session(),
            table_name=TEST_ENV["TABLE_NAME"],
            queue_name="q",
            sender_email=TEST_ENV["SENDER_EMAIL"],
            configuration_set="staff-alerts",
        )
        invoke(json_event(VALID))
        if stub_dynamodb:
            # The code's own cost (parsing, validation, negotiation, building the record, logs and
            # metrics) without moto's, which dominates the figure above: the call returns at once.
            from unittest import mock

            from callbacks import aws

            mock.patch.object(aws.dynamodb(), "transact_write_items", return_value={}).start()
        samples = []
        # The handler's log lines and metrics (EMF) go to stdout: keep them off the report, but
        # still written, so that their cost is measured.
        sys.stdout.flush()
        saved = os.dup(1)
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                for number in range(WARM_REQUESTS):
                    event = json_event({**VALID, "message": f"question {number}"})
                    start = time.perf_counter()
                    answer = invoke(event)
                    samples.append((time.perf_counter() - start) * 1000)
                    assert answer.status == 201
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def local_stack(posts: int = 15) -> tuple[float, float, float, float]:
    """Seconds to the first answer, median and max ms from POST to .eml, seconds from SIGINT to exit."""
    import signal
    import tempfile
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
                    "phone": "(662) 377-6290",
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
        process.wait(timeout=30)
        stopped = time.monotonic() - stopping
    return up, statistics.median(samples), max(samples), stopped


def package_size() -> str:
    build = ROOT / ".aws-sam" / "build" / "IntakeFunction"
    if not build.is_dir():
        return "not built (run `make build`)"
    size = sum(path.stat().st_size for path in build.rglob("*") if path.is_file())
    return f"{size / 1_000_000:.1f} MB unzipped"


def main() -> None:
    print(f"python {sys.version.split()[0]} on this machine; medians of {RUNS} fresh interpreters")
    results = {}
    for module in ("callbacks.intake", "callbacks.notify"):
        elapsed, modules = cold_import(module)
        results[module] = {"import_ms": round(elapsed, 1), "modules_loaded": modules}
        print(f"cold import {module:<18} {elapsed:7.1f} ms  ({modules} modules)")
    first = first_request()
    print(f"first request (boto3 + client + handler, moto in-process) {first:7.1f} ms")
    p50, p95 = warm_requests()
    print(
        f"warm request, {WARM_REQUESTS} requests (moto in-process)     p50 {p50:5.2f} ms  p95 {p95:5.2f} ms"
    )
    own50, own95 = warm_requests(stub_dynamodb=True)
    print(
        f"warm request, DynamoDB call stubbed (the code's own cost) p50 {own50:5.2f} ms  p95 {own95:5.2f} ms"
    )
    up, email_p50, email_max, stop = local_stack()
    print(
        f"local stack: up in {up:.1f} s; POST -> .eml median {email_p50:.0f} ms, max {email_max:.0f} ms "
        f"(15 posts); SIGINT -> exit {stop:.1f} s"
    )
    print(f"package: {package_size()}")
    results["first_request_ms"] = {"median": round(first, 1)}
    results["warm_request_ms"] = {"p50": round(p50, 2), "p95": round(p95, 2)}
    results["warm_request_own_ms"] = {"p50": round(own50, 2), "p95": round(own95, 2)}
    results["local_stack"] = {
        "up_s": round(up, 2),
        "post_to_eml_ms": {"median": round(email_p50), "max": round(email_max)},
        "stop_s": round(stop, 2),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()

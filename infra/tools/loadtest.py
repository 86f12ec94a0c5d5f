"""Load on the local stack over loopback: how many requests it holds, and that none is lost or doubled.

    .venv/bin/python -m infra.tools.loadtest [--requests 500] [--concurrency 25] [--doubles 0.1]

Starts ``python -m infra.local`` on free ports (throttling lifted, so the figure is the system's
and not the template's 5 requests a second), then posts distinct call-back requests from several
source addresses (127.0.0.2, 127.0.0.3, ...: Linux answers the whole of 127/8 on loopback), a
tenth of them twice at once as a double click would, and waits for the staff emails. It prints
requests per second, p50/p99 latency, the answers by status, stored against distinct accepted, and
emails per stored request; the JSON goes to ``.local/loadtest.json``. Exit status 1 when a request
was lost, doubled or answered 5xx. The run is bounded: ``--deadline`` seconds in all.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PATH = "/callback-requests"
_REQUEST_ID = re.compile(rb"Request id:\s*([0-9a-f-]{36})")


@dataclass(frozen=True)
class Sent:
    key: str
    status: int
    request_id: str | None
    seconds: float


@dataclass
class Report:
    requests: int
    concurrency: int
    source_addresses: int
    double_submissions: int
    seconds: float
    requests_per_second: float
    latency_ms_p50: float
    latency_ms_p99: float
    statuses: dict[str, int]
    server_errors: int
    distinct_accepted: int
    stored: int
    emails: int
    emails_per_stored_request: float
    lost: int
    doubled: int
    doubles_answered_with_the_same_id: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        answered = sum(count for status, count in self.statuses.items() if status in ("200", "201"))
        return (
            answered == self.requests
            and self.server_errors == 0
            and self.lost == 0
            and self.doubled == 0
            and self.doubles_answered_with_the_same_id == self.double_submissions
        )


def _free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _fields(number: int) -> dict[str, Any]:
    # Distinct phone numbers, so no two requests are duplicates of each other by content.
    exchange, line = 200 + number // 10000 % 800, number % 10000
    return {
        "name": f"Load Test {chr(65 + number % 26)}",
        "phone": f"(662) {exchange:03d}-{line:04d}",
        "best_time": "morning",
        "interest": "fractional-co2-laser",
        "consent": True,
    }


def _post(api_port: int, source: str, fields: dict[str, Any], key: str, origin: str) -> Sent:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30, source_address=(source, 0))
    try:
        body = json.dumps(fields)
        headers = {"Content-Type": "application/json", "Idempotency-Key": key, "Origin": origin}
        connection.request("POST", PATH, body, headers)
        response = connection.getresponse()
        payload = response.read()
        status = response.status
    except OSError:
        return Sent(key, 0, None, time.perf_counter() - started)
    finally:
        connection.close()
    request_id = None
    if status in (200, 201):
        request_id = json.loads(payload).get("id")
    return Sent(key, status, request_id, time.perf_counter() - started)


def _emails_by_request(outbox: Path, ids: set[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in outbox.glob("*.eml"):
        for match in _REQUEST_ID.finditer(path.read_bytes()):
            request_id = match.group(1).decode()
            if request_id in ids:
                counts[request_id] += 1
                break
    return counts


def _stored_ids(moto_url: str, table: str) -> set[str]:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder, not a secret
    )
    ids: set[str] = set()
    for page in client.get_paginator("scan").paginate(TableName=table):  # a tool, not the service
        for item in page["Items"]:
            if item["pk"]["S"].startswith("request#"):
                ids.add(item["pk"]["S"].removeprefix("request#"))
    return ids


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def run_load(
    api_port: int,
    moto_url: str,
    outbox: Path,
    *,
    table: str = "callback-requests",
    origin: str | None = None,
    requests: int = 500,
    concurrency: int = 25,
    doubles: float = 0.1,
    addresses: int = 5,
    email_deadline: float = 60.0,
    send_deadline: float = 240.0,
) -> Report:
    """Post ``requests`` requests (a share of them twice at once) and count what became of them."""
    origin = origin or f"http://127.0.0.1:{api_port}"  # the stack's own demo page
    run = uuid.uuid4().hex[:8]
    base = int(run, 16) % 5000 * 100
    every = max(1, round(1 / doubles)) if doubles > 0 else 0
    jobs: list[tuple[str, dict[str, Any], str]] = []
    double_keys: set[str] = set()
    for number in range(requests):
        key = f"load-{run}-{number}"
        source = f"127.0.0.{2 + number % addresses}"
        jobs.append((source, _fields(base + number), key))
        if every and number % every == 0:
            jobs.append((source, _fields(base + number), key))  # the double click: same key, same content
            double_keys.add(key)
    started = time.perf_counter()
    stop_at = time.monotonic() + send_deadline

    def send(job: tuple[str, dict[str, Any], str]) -> Sent | None:
        if time.monotonic() > stop_at:  # bounded in time: what is not sent by then is reported
            return None
        return _post(api_port, job[0], job[1], job[2], origin)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        attempted = list(pool.map(send, jobs))
    seconds = time.perf_counter() - started
    sent = [answer for answer in attempted if answer is not None]
    unsent = len(attempted) - len(sent)

    ids_by_key: dict[str, set[str]] = {}
    for answer in sent:
        if answer.request_id:
            ids_by_key.setdefault(answer.key, set()).add(answer.request_id)
    accepted = {request_id for ids in ids_by_key.values() for request_id in ids}
    answered = Counter(answer.key for answer in sent if answer.request_id)
    same_id = sum(1 for key in double_keys if answered[key] == 2 and len(ids_by_key[key]) == 1)
    deadline = time.monotonic() + email_deadline
    emails = _emails_by_request(outbox, accepted)
    while sum(1 for request_id in accepted if emails[request_id] >= 1) < len(accepted):
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
        emails = _emails_by_request(outbox, accepted)
    stored = _stored_ids(moto_url, table) & accepted
    statuses = Counter(str(answer.status) for answer in sent)
    latencies = [answer.seconds * 1000 for answer in sent]
    total_emails = sum(emails.values())
    report = Report(
        requests=len(sent),
        concurrency=concurrency,
        source_addresses=addresses,
        double_submissions=len(double_keys),
        seconds=round(seconds, 2),
        requests_per_second=round(len(sent) / seconds, 1) if seconds else 0.0,
        latency_ms_p50=round(statistics.median(latencies), 1) if latencies else 0.0,
        latency_ms_p99=round(_percentile(latencies, 0.99), 1),
        statuses=dict(sorted(statuses.items())),
        server_errors=sum(
            count for status, count in statuses.items() if status.startswith("5") or status == "0"
        ),
        distinct_accepted=len(accepted),
        stored=len(stored),
        emails=total_emails,
        emails_per_stored_request=round(total_emails / len(stored), 3) if stored else 0.0,
        lost=len(accepted - stored) + sum(1 for request_id in stored if emails[request_id] == 0),
        doubled=sum(1 for count in emails.values() if count > 1),
        doubles_answered_with_the_same_id=same_id,
    )
    if unsent:
        report.notes.append(f"{unsent} requests not sent: the {send_deadline:.0f} s send deadline passed")
    return report


def _start_stack(workdir: Path) -> tuple[subprocess.Popen[bytes], int, str, Path]:
    api_port, moto_port = _free_ports(2)
    outbox = workdir / "outbox"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    command = [
        sys.executable,
        "-m",
        "infra.local",
        *("--api-port", str(api_port), "--moto-port", str(moto_port), "--outbox", str(outbox)),
        *("--throttle-rate", "100000", "--throttle-burst", "100000"),
        # Five addresses would meet the per-address cap after 25 requests: the cap has its own test.
        *("--env", "ADDRESS_HOURLY_CAP=100000"),
    ]
    log = (workdir / "stack.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", api_port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"the local stack did not start; see {workdir / 'stack.log'}") from None
            time.sleep(0.1)
    return process, api_port, f"http://127.0.0.1:{moto_port}", outbox


def _print(report: Report) -> None:
    rows = [
        ("requests sent", f"{report.requests} ({report.double_submissions} sent twice at once)"),
        ("concurrency / source addresses", f"{report.concurrency} / {report.source_addresses}"),
        ("wall time", f"{report.seconds} s"),
        ("requests per second", f"{report.requests_per_second}"),
        ("latency p50 / p99", f"{report.latency_ms_p50} ms / {report.latency_ms_p99} ms"),
        ("answers by status", ", ".join(f"{k}: {v}" for k, v in report.statuses.items())),
        ("5xx (or no answer)", f"{report.server_errors}"),
        ("distinct accepted / stored", f"{report.distinct_accepted} / {report.stored}"),
        ("double clicks answered with one id", f"{report.doubles_answered_with_the_same_id}"),
        ("emails / per stored request", f"{report.emails} / {report.emails_per_stored_request}"),
        ("lost / doubled", f"{report.lost} / {report.doubled}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.tools.loadtest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--doubles", type=float, default=0.1, help="share of requests sent twice at once")
    parser.add_argument("--addresses", type=int, default=5, help="source addresses on 127/8")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds for the whole run")
    parser.add_argument("--json", type=Path, default=ROOT / ".local" / "loadtest.json")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="loadtest-"))
    process, api_port, moto_url, outbox = _start_stack(workdir)
    try:
        report = run_load(
            api_port,
            moto_url,
            outbox,
            requests=args.requests,
            concurrency=args.concurrency,
            doubles=args.doubles,
            addresses=args.addresses,
            send_deadline=args.deadline * 0.8,
            email_deadline=args.deadline * 0.2,
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"load test of the local stack ({os.cpu_count()} cores, this machine):")
    _print(report)
    for note in report.notes:
        print(f"  note: {note}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    print(f"  (JSON in {args.json})")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

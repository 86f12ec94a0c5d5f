"""The local stack as a subprocess on free ports, for tests over real HTTP (and the browser tests).

``local_stack`` (session) is the shared stack; ``start_stack`` starts a dedicated one with other
flags (a tiny throttle, no retries) for the tests that would disturb the shared one.
"""

from __future__ import annotations

import email
import email.policy
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.stack import TABLE_NAME
from tests.http_contract import PATH, Answer, ContractClient

ROOT = Path(__file__).resolve().parents[2]
TABLE = TABLE_NAME
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# The shared stack must not throttle a test suite that posts in quick succession; the 429 test has its own.
UNTHROTTLED = (
    *("--throttle-rate", "1000", "--throttle-burst", "1000"),
    # A test browser fills a form in milliseconds and every test posts from 127.0.0.1: the spam
    # layers that would catch that have their own tests (tests/integration/test_spam_layers.py).
    *("--env", "MIN_FILL_SECONDS=0", "--env", "ADDRESS_HOURLY_CAP=100000"),
)


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (held open together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass
class RunningStack:
    api_base: str
    moto_url: str
    outbox: Path
    embed_origin: str
    embed_port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def api_port(self) -> int:
        return int(self.api_base.rsplit(":", 1)[1])

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """One real HTTP request to the stack's API (redirects are not followed)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=15)
        try:
            payload = body.encode() if isinstance(body, str) else body
            connection.request(method, path, body=payload, headers=headers or {})
            answer = connection.getresponse()
            return Answer.of(answer.status, answer.headers.items(), answer.read())
        finally:
            connection.close()

    def aws(self, service: str) -> Any:
        """A boto3 client of the stack's moto (to inspect or break it)."""
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        return session.client(service, endpoint_url=self.moto_url)  # type: ignore[call-overload]

    def emails(self) -> list[Path]:
        return sorted(self.outbox.glob("*.eml"))

    def emails_about(self, text: str) -> list[EmailMessage]:
        """Sent emails whose decoded text contains ``text`` (a request id, say)."""
        found = []
        for path in self.emails():
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            plain = message.get_body(preferencelist=("plain",))
            if plain is not None and text in plain.get_content():
                found.append(message)
        return found

    def console(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class HttpClient(ContractClient):
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.origins = (stack.embed_origin, stack.api_base, f"http://localhost:{stack.api_port}")
        self.thank_you_url = f"{stack.api_base}/thank-you"

    def send(self, method: str, headers: dict[str, str], body: bytes = b"", path: str = PATH) -> Answer:
        return self.stack.request(method, path, body or None, headers)

    def requests(self) -> list[dict[str, Any]]:
        pages = self.stack.aws("dynamodb").get_paginator("scan").paginate(TableName=TABLE)
        return [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith("request#")]


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it is truthy (returned) or the deadline passes (test fails)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/")
        connection.getresponse().read()
        connection.close()
    except OSError:
        return False
    return True


@contextmanager
def running_stack(workdir: Path, *flags: str) -> Iterator[RunningStack]:
    """``python -m infra.local`` on free ports until the block ends; then SIGINT and a clean exit."""
    api_port, moto_port, embed_port = free_ports(3)
    workdir.mkdir(parents=True, exist_ok=True)
    outbox, log = workdir / "outbox", workdir / "stack.log"
    embed_origin = f"http://127.0.0.1:{embed_port}"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable,
        "-m",
        "infra.local",
        *("--api-port", str(api_port), "--moto-port", str(moto_port)),
        *("--extra-origin", embed_origin, "--outbox", str(outbox)),
        *flags,
    ]
    with log.open("wb") as console:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=console, stderr=subprocess.STDOUT
        )
    stack = RunningStack(
        api_base=f"http://127.0.0.1:{api_port}",
        moto_url=f"http://127.0.0.1:{moto_port}",
        outbox=outbox,
        embed_origin=embed_origin,
        embed_port=embed_port,
        log=log,
        process=process,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers(api_port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the local stack did not start:\n{stack.console()}")
            time.sleep(0.05)
        yield stack
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"no exit within {STOP_TIMEOUT_S} s of SIGINT:\n{stack.console()}")
        assert code == 0, f"the local stack exited with {code}:\n{stack.console()}"


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("local-stack"), *UNTHROTTLED) as stack:
        yield stack


@pytest.fixture(scope="session")
def start_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., AbstractContextManager[RunningStack]]:
    """Start a dedicated stack with extra flags: ``with start_stack("--throttle-burst", "2") as stack:``."""

    def start(*flags: str) -> AbstractContextManager[RunningStack]:
        return running_stack(tmp_path_factory.mktemp("dedicated-stack"), *flags)

    return start

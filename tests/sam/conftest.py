"""SAM CLI for real: Docker's engine, the Lambda image, `sam build`, and the local AWS for the containers.

Everything a developer's `make sam-local` needs is started here the same way (infra/sam/*.sh,
`python -m infra.local`), and stopped again if it was started here. One session at a time per
machine (a lock): the local AWS listens on the bridge's own address at the port the env-vars file
names, and an engine stopped by one session must not be one another session still uses.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
PYTHON = ROOT / ".venv" / "bin" / "python"
ENGINE = ROOT / "infra" / "sam" / "engine.sh"
ENV_VARS = json.loads((ROOT / "infra" / "sam" / "env-vars.json").read_text(encoding="utf-8"))
EVENTS = ROOT / "infra" / "events"
ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()
]
MOTO_PORT = 5000  # the port infra/sam/env-vars.json names (host.docker.internal:5000)
SAM_API_PORT = 3001  # make sam-local's start-api, as docs/local.md's curl lines name it
LOCK_WAIT_S = 600.0
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
# What a developer's shell would not have: the other suites' settings, this process's AWS variables.
_NOT_INHERITED = ("AWS_", "POWERTOOLS_", "TABLE_NAME", "ALLOWED_ORIGINS", "THANK_YOU_URL", "RETENTION_DAYS")
_NOT_INHERITED_NAMES = {"SENDER_EMAIL", "OFFICE_EMAILS", "SES_CONFIGURATION_SET", "EMAIL_INCLUDE_DETAILS"}

# Seconds per step, printed at the end of the session (timing is reported, never asserted).
TIMINGS: dict[str, float] = {}


def developer_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_NOT_INHERITED) and name not in _NOT_INHERITED_NAMES
    }
    return {**env, **extra}


def run(
    args: list[str] | str, timeout: float, what: str, *, timed: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion within ``timeout``; fail with its output if it fails."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            args,
            cwd=ROOT,
            env=kwargs.pop("env", developer_env()),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{what}: no answer within {timeout:.0f} s\n{error.stdout}\n{error.stderr}")
    if timed:
        TIMINGS[what] = time.monotonic() - started
    if done.returncode != 0:
        pytest.fail(f"{what} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
    return done


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, alive: Callable[[], str | None]
) -> None:
    """Wait for ``condition`` until ``timeout``; fail early when ``alive`` reports the process gone."""
    deadline = time.monotonic() + timeout
    while not condition():
        gone = alive()
        if gone is not None:
            pytest.fail(f"{what}: the process exited\n{gone}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Background:
    """A long-running command (its own process group), its output in a log file."""

    args: list[str] | str
    log: Path
    env: dict[str, str] = field(default_factory=developer_env)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Background:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                shell=isinstance(self.args, str),
            )
        return self

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def exited(self) -> str | None:
        assert self.process is not None
        if self.process.poll() is None:
            return None
        return f"exit {self.process.returncode}\n{self.output()[-4000:]}"

    def wait_for_output(self, text: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
        wait_for(lambda: text in self.output(), timeout, f"{self.args!r} printing {text!r}", self.exited)

    def wait_for_port(self, port: int, timeout: float = STARTUP_TIMEOUT_S) -> None:
        wait_for(lambda: port_answers(port), timeout, f"{self.args!r} on port {port}", self.exited)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """A signal to the group it leads (sam removes its containers on SIGINT and SIGTERM), then wait."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, how)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_S)
                pytest.fail(f"{self.args!r} did not stop within {STOP_TIMEOUT_S:.0f} s of {how.name}")


@dataclass(frozen=True)
class LocalAws:
    """moto as the functions' containers see it, with the clients a test reads it with."""

    url: str

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def stored(self, request_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = (
            self.client("dynamodb")
            .get_item(
                TableName=ENV_VARS["IntakeFunction"]["TABLE_NAME"], Key={"pk": {"S": f"request#{request_id}"}}
            )
            .get("Item")
        )
        return item

    def stored_request_ids(self) -> set[str]:
        pages = (
            self.client("dynamodb")
            .get_paginator("scan")
            .paginate(TableName=ENV_VARS["IntakeFunction"]["TABLE_NAME"])
        )
        return {
            item["pk"]["S"].removeprefix("request#")
            for page in pages
            for item in page["Items"]
            if item["pk"]["S"].startswith("request#")
        }

    def store_stream_sample(self) -> str:
        """Store the stream sample's request, fresh, as the intake would before its INSERT reaches
        the notifier (it claims a stored request's alert: a record of nothing sends nothing).

        The local stack's own poller sees this insert too and races the SAM container for the
        claim: whichever wins, one email goes out. Returns the request id.
        """
        image = load_event("stream-insert")["Records"][0]["dynamodb"]["NewImage"]
        table = ENV_VARS["IntakeFunction"]["TABLE_NAME"]
        self.client("dynamodb").put_item(TableName=table, Item=image)
        return str(image["id"]["S"])

    def wait_for_emails_about(
        self, request_id: str, count: int, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """The emails about ``request_id`` once there are ``count`` (fails after ``timeout`` s)."""
        reference = request_id[:8].upper()
        deadline = time.monotonic() + timeout
        while True:
            found = [email for email in self.emails() if reference in str(email["subject"])]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"{count} emails about {reference} not within {timeout:.0f} s: {len(found)}")
            time.sleep(0.2)

    def emails(self) -> list[dict[str, Any]]:
        """Every email sent through moto's SES (SES v2 sends land in its v1 backend)."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10) as answer:
            data = json.load(answer)
        messages: list[dict[str, Any]] = data.get("ses", {}).get("Message", [])
        return messages


def sam_containers() -> list[str]:
    """The ids of SAM CLI's function containers still running."""
    done = run(
        ["docker", "ps", "--quiet", "--filter", "label=sam.cli.container.type=lambda"],
        30,
        "docker ps",
        timed=False,
    )
    return done.stdout.split()


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


def header(answer: dict[str, Any], name: str) -> str | None:
    """One header of a proxy response, whichever map the function used, by any case."""
    for key, value in (answer.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (answer.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ",".join(str(value) for value in values)
    return None


@pytest.fixture(scope="session")
def sam_session_lock() -> Iterator[None]:
    """One SAM session per machine at a time (port 5000 on the bridge, one engine)."""
    started = time.monotonic()
    with open(Path(tempfile.gettempdir()) / "callbacks-sam-tests.lock", "w") as lock:
        deadline = started + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another SAM test session held the lock for {LOCK_WAIT_S:.0f} s")
                time.sleep(1)
        TIMINGS["waiting for another SAM session"] = time.monotonic() - started
        yield
        fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def engine(sam_session_lock: None) -> Iterator[None]:
    """Docker's engine: installed and started by infra/sam/engine.sh, stopped only if started here."""
    assert SAM.exists(), "the SAM CLI is not installed: `make sam-test` (or `make lint`) installs .venv-sam"
    pid_file = ROOT / ".local" / "dockerd.pid"
    had_pid_file = pid_file.exists()
    run([str(ENGINE), "start"], 600, "Docker engine: install if missing, start if none runs")
    started_here = not had_pid_file and pid_file.exists()
    yield
    if started_here:
        run([str(ENGINE), "stop"], 60, "Docker engine: stop")


@pytest.fixture(scope="session")
def lambda_image(engine: None) -> None:
    """AWS's image where it is here or pullable, else the stand-in (built once per machine)."""
    done = run([str(ROOT / "infra" / "sam" / "build-image.sh"), ARCH], 1200, "Lambda image")
    print(done.stdout.strip())


@pytest.fixture(scope="session")
def sam_local(lambda_image: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """`make sam-local` as docs/local.md says (sam build, the local AWS, start-api on :3001).

    Its local stack's own API goes on a free port (the guide's lines do not name it). Stopped at
    the end with SIGINT, as Ctrl-C would, and then none of SAM CLI's containers may be left.
    """
    if port_answers(SAM_API_PORT):
        pytest.fail(f"port {SAM_API_PORT} (docs/local.md's sam local start-api) is taken on this machine")
    started = time.monotonic()
    session = Background(
        "make sam-local",
        tmp_path_factory.mktemp("sam-local") / "make-sam-local.log",
        env=developer_env(LOCAL_API_PORT=str(free_port())),
    ).start()
    session.wait_for_output("sam local start-api on", timeout=900)
    session.wait_for_port(SAM_API_PORT)
    TIMINGS["make sam-local: up (sam build, local AWS, start-api)"] = time.monotonic() - started
    bridge = run([str(ENGINE), "bridge"], 30, "bridge address", timed=False).stdout.strip()
    yield LocalAws(f"http://{bridge}:{MOTO_PORT}")
    session.stop(signal.SIGINT)
    assert sam_containers() == [], "make sam-local left SAM CLI's containers running after Ctrl-C"


@pytest.fixture(scope="module")
def local_aws(sam_local: LocalAws) -> LocalAws:
    """make sam-local's local AWS with an empty table, as a fresh `make sam-local` has it."""
    table = ENV_VARS["IntakeFunction"]["TABLE_NAME"]
    client = sam_local.client("dynamodb")
    for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk"):
        for item in page["Items"]:
            client.delete_item(TableName=table, Key={"pk": item["pk"]})
    return sam_local


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("SAM CLI tests: seconds per step")
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{seconds:7.1f}  {what}")
    total = TIMINGS.get("SAM CLI tests, whole session")
    if total is not None:
        terminalreporter.write_line(f"SAM CLI tests added {total:.0f} s to this run")


_CLOCK: dict[str, float] = {}


@pytest.fixture(scope="session", autouse=True)
def _session_clock() -> None:
    """Set up before the session fixtures it comes with (autouse), so the engine and image count."""
    _CLOCK.setdefault("start", time.monotonic())


@pytest.fixture(scope="module", autouse=True)
def _module_clock(_session_clock: None) -> Iterator[None]:
    yield
    TIMINGS["SAM CLI tests, whole session"] = time.monotonic() - _CLOCK["start"]

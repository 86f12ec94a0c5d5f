"""A table that hangs, refuses or throttles: the visitor gets 503 with Retry-After, never a gateway
timeout, and the SDK's attempts stay within the budget that keeps the answer inside 6 seconds.

The table here is a real TCP server on 127.0.0.1 that misbehaves; boto3 reaches it through the
standard AWS_ENDPOINT_URL_DYNAMODB variable, as it would reach AWS.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from callbacks.adapters import aws, ses
from callbacks.models.email import StaffAlert
from callbacks.models.errors import StaffAlertNotSentError
from tests.integration.helpers import VALID, Answer, invoke, json_event

DEADLINE_S = 20.0  # for the test's own waits only; the budget is asserted by counting attempts
_THROTTLED_BODY = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'
)
THROTTLED = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nConnection: close\r\n"
    + f"Content-Length: {len(_THROTTLED_BODY)}\r\n\r\n".encode()
    + _THROTTLED_BODY
)


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Loopback only: the misbehaving table lives on 127.0.0.1."""
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    yield
    enable_socket()


@contextmanager
def misbehaving_table(on_connection: Callable[[socket.socket], None]) -> Iterator[tuple[str, list[int]]]:
    """A server on a free loopback port; yields its URL and a list that counts connections."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    connections: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(1)
            held.append(connection)
            on_connection(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", connections
    finally:
        stop.set()
        thread.join(DEADLINE_S)
        for connection in held:
            connection.close()
        server.close()


def _hang(connection: socket.socket) -> None:
    """Accept, read nothing, answer nothing: DynamoDB accepting connections and never answering."""


def _throttle(connection: socket.socket) -> None:
    connection.settimeout(2)
    try:
        connection.recv(65536)
        connection.sendall(THROTTLED)
    except OSError:
        pass


def _post_against(url: str, monkeypatch: pytest.MonkeyPatch) -> Answer:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    aws.reset_clients()
    answers: list[Answer] = []
    worker = threading.Thread(target=lambda: answers.append(invoke(json_event(VALID))), daemon=True)
    worker.start()
    worker.join(DEADLINE_S)
    assert answers, "the intake did not answer"
    return answers[0]


def _assert_storage_unavailable(answer: Answer) -> None:
    assert answer.status == 503
    assert answer.json()["error"] == "storage_unavailable"
    assert "662-377-6290" in answer.json()["message"]
    assert 0 < int(answer.headers["retry-after"]) <= 60


@pytest.mark.parametrize("fault", [_hang, _throttle], ids=["hangs", "throttles"])
def test_given_a_table_that_misbehaves_then_503_after_the_budgeted_attempts_only(
    fault: Callable[[socket.socket], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with misbehaving_table(fault) as (url, connections):
        answer = _post_against(url, monkeypatch)

    _assert_storage_unavailable(answer)
    # Each attempt is one connection: the 1 s connect + 1 s read budget is spent at most this often.
    assert len(connections) == aws.DYNAMODB_ATTEMPTS


def test_given_a_table_that_refuses_connections_then_503(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now

    _assert_storage_unavailable(_post_against(f"http://127.0.0.1:{port}", monkeypatch))


def test_the_budget_fits_six_seconds() -> None:
    config: dict[str, Any] = aws._CONFIG["dynamodb"]
    worst = aws.DYNAMODB_ATTEMPTS * (config["connect_timeout"] + config["read_timeout"]) + 1.0
    assert config["retries"]["total_max_attempts"] == aws.DYNAMODB_ATTEMPTS
    assert worst <= 5.0


def test_given_ses_that_never_answers_then_the_alert_is_tried_once_never_resent_by_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from callbacks.core.settings import get_settings

    alert = StaffAlert(request_id="r-1", subject="s", text="t", html="<p>h</p>", reply_to=None)
    monkeypatch.setattr(aws, "_CONFIG", {**aws._CONFIG, "sesv2": {**aws._CONFIG["sesv2"], "read_timeout": 1}})
    with misbehaving_table(_hang) as (url, connections):
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", url)
        aws.reset_clients()
        with pytest.raises(StaffAlertNotSentError):
            ses.send_staff_alert(alert, get_settings())

    # A send whose answer was lost may have gone out: a second try could email the office twice.
    assert len(connections) == 1

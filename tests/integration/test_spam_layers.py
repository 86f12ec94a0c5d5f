"""Spam layers: silent (a caught post gets what a person gets), counted by layer, never emailed,
and still one DynamoDB call per request."""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock
from urllib.parse import parse_qs

import boto3
import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from callbacks.adapters import aws, signing
from callbacks.core.settings import get_settings
from callbacks.logic import spam
from callbacks.models.api import CallbackRequestReceipt
from infra.provision import Provisioned
from tests.conftest import deployment_settings, load_event
from tests.integration.helpers import (
    VALID,
    Answer,
    counting_calls,
    form_event,
    invoke,
    json_event,
    metric_blobs,
    requests_in,
    with_headers,
)

pytestmark = pytest.mark.usefixtures("moto_aws")


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Loopback only: the fake Cloudflare lives on 127.0.0.1 (moto runs in-process)."""
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    yield
    enable_socket()


def stored_count(moto_aws: Provisioned) -> int:
    return len(requests_in(boto3.client("dynamodb"), moto_aws.table_name))


def from_address(event: dict[str, Any], address: str) -> dict[str, Any]:
    event["requestContext"]["identity"]["sourceIp"] = address
    return event


def spam_layers(output: str) -> list[str]:
    return [blob["layer"] for blob in metric_blobs(output) if "SpamCaught" in blob]


def served_token() -> str:
    """The render token in the form script as the API serves it."""
    event = copy.deepcopy(load_event("preflight"))
    event.update(httpMethod="GET", path="/callback-form.js", resource="/callback-form.js")
    script = invoke(with_headers(event, Access_Control_Request_Method=None)).text
    found = re.search(r'const RENDER_TOKEN = "([^"]+)";', script)
    assert found
    return found.group(1)


def posted_after(seconds: float, fields: dict[str, Any], **kwargs: Any) -> Answer:
    with mock.patch("callbacks.handlers.api.callback_requests.datetime") as clock:
        clock.now.return_value = datetime.now(UTC) + timedelta(seconds=seconds)
        return invoke(json_event(fields, **kwargs))


def same_as_a_person_gets(answer: Answer) -> None:
    assert answer.status == 201
    assert set(answer.json()) == set(CallbackRequestReceipt.model_fields)
    assert answer.json()["status"] == "received"


# --- the render token ---------------------------------------------------------------------------


def test_given_a_form_filled_at_a_persons_pace_then_its_token_passes_and_it_is_stored(
    moto_aws: Provisioned,
) -> None:
    answer = posted_after(20, {**VALID, "render_token": served_token()})

    assert answer.status == 201
    assert stored_count(moto_aws) == 1


@pytest.mark.parametrize(
    ("token", "after", "layer"),
    [
        (None, 0.5, "render_token_too_fresh"),  # None: the served token
        ("1796144973591.forged-signature", 20, "render_token_forged"),
        ("not-a-token", 20, "render_token_forged"),
        (None, 49 * 3600, "render_token_expired"),
    ],
    ids=["too-fresh", "forged", "malformed", "expired"],
)
def test_given_a_bad_render_token_then_it_is_caught_silently_counted_and_not_stored(
    token: str | None, after: float, layer: str, moto_aws: Provisioned, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = posted_after(after, {**VALID, "render_token": token or served_token()})

    same_as_a_person_gets(answer)
    assert stored_count(moto_aws) == 0
    assert spam_layers(capsys.readouterr().out) == [layer]


def test_given_no_render_token_then_the_other_layers_judge_alone(moto_aws: Provisioned) -> None:
    assert invoke(json_event(VALID)).status == 201
    assert stored_count(moto_aws) == 1


# --- caps, in the same one DynamoDB call ----------------------------------------------------------


def numbered(number: int) -> dict[str, Any]:
    return {**VALID, "phone": f"(662) 377-{6200 + number:04d}", "message": f"request {number}"}


def test_given_a_flood_of_50_posts_from_one_address_then_the_cap_is_stored_and_every_answer_a_success(
    moto_aws: Provisioned, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [invoke(from_address(json_event(numbered(n)), "198.51.100.7")) for n in range(50)]

    for answer in answers:
        same_as_a_person_gets(answer)
    assert stored_count(moto_aws) == 5  # AddressHourlyCap's default
    assert spam_layers(capsys.readouterr().out) == ["address_cap"] * 45
    # The next address is not affected.
    assert invoke(from_address(json_event(numbered(99)), "198.51.100.8")).status == 201
    assert stored_count(moto_aws) == 6


def test_given_one_phone_number_then_at_least_three_distinct_requests_a_day_are_stored(
    moto_aws: Provisioned, capsys: pytest.CaptureFixture[str]
) -> None:
    for number in range(7):
        event = from_address(json_event({**VALID, "message": f"question {number}"}), f"203.0.113.{number}")
        same_as_a_person_gets(invoke(event))

    assert stored_count(moto_aws) == 5  # the per-phone daily cap: 5, at least the contract's 3
    assert spam_layers(capsys.readouterr().out) == ["phone_cap"] * 2


def test_given_double_submissions_then_they_cost_no_cap(moto_aws: Provisioned) -> None:
    for _ in range(10):
        invoke(from_address(json_event(VALID), "198.51.100.9"))
    for number in range(4):
        assert invoke(from_address(json_event(numbered(number)), "198.51.100.9")).status == 201

    assert stored_count(moto_aws) == 5


def test_given_caps_then_a_request_is_still_one_dynamodb_call_and_no_address_is_written_down(
    moto_aws: Provisioned,
) -> None:
    with counting_calls(aws.dynamodb()) as counter:
        assert invoke(from_address(json_event(VALID), "198.51.100.23")).status == 201

    assert counter.calls == ["TransactWriteItems"]
    caps = [
        item
        for item in boto3.client("dynamodb").scan(TableName=moto_aws.table_name)["Items"]
        if item["pk"]["S"].startswith("cap#")
    ]
    assert sorted(item["pk"]["S"].split("#")[1] for item in caps) == ["address_cap", "phone_cap"]
    assert not any("198.51.100.23" in json.dumps(item) or "6623776290" in json.dumps(item) for item in caps)


def test_given_the_secret_out_of_reach_then_the_request_is_stored_unjudged_never_lost(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SIGNING_SECRET")  # a function deployed without its secret
    get_settings.cache_clear()

    answer = invoke(json_event({**VALID, "render_token": "1796144973591.whatever"}))

    assert answer.status == 201
    assert stored_count(moto_aws) == 1
    assert '"SpamLayersUnavailable":[1.0]' in capsys.readouterr().out


# --- Cloudflare Turnstile, against a fake siteverify on 127.0.0.1 -----------------------------------


@contextmanager
def fake_siteverify(success: bool) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    seen: list[dict[str, list[str]]] = []

    class Verify(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            seen.append(parse_qs(self.rfile.read(length).decode()))
            body = json.dumps({"success": success}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Verify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/siteverify", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def turnstile_on(moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("ssm").put_parameter(Name="/test/turnstile", Value="turnstile-secret", Type="SecureString")
    monkeypatch.setenv("TURNSTILE_SECRET_PARAMETER", "/test/turnstile")


def _turnstile_post(url: str, monkeypatch: pytest.MonkeyPatch, response: str | None) -> Answer:
    from callbacks.core.settings import get_settings

    monkeypatch.setenv("TURNSTILE_VERIFY_URL", url)
    get_settings.cache_clear()
    fields = {**VALID, "render_token": served_token()}
    if response is not None:
        fields["cf-turnstile-response"] = response
    return posted_after(20, fields)


@pytest.mark.usefixtures("turnstile_on")
def test_given_turnstile_on_and_a_response_cloudflare_accepts_then_stored(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_siteverify(success=True) as (url, seen):
        answer = _turnstile_post(url, monkeypatch, "XXXX.DUMMY.TOKEN")

    assert answer.status == 201
    assert stored_count(moto_aws) == 1
    assert seen[0]["secret"] == ["turnstile-secret"]
    assert seen[0]["response"] == ["XXXX.DUMMY.TOKEN"]


@pytest.mark.usefixtures("turnstile_on")
def test_given_turnstile_on_and_a_response_cloudflare_refuses_then_caught(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_siteverify(success=False) as (url, _):
        answer = _turnstile_post(url, monkeypatch, "rejected-by-cloudflare")

    same_as_a_person_gets(answer)
    assert stored_count(moto_aws) == 0
    assert spam_layers(capsys.readouterr().out) == ["turnstile"]


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def unverified_marks(moto_aws: Provisioned) -> list[str | None]:
    return [
        item.get("unverified", {}).get("S")
        for item in requests_in(boto3.client("dynamodb"), moto_aws.table_name)
    ]


def unverified_counts(output: str) -> list[str]:
    return [blob["reason"] for blob in metric_blobs(output) if "CallbackRequestUnverified" in blob]


@pytest.mark.usefixtures("turnstile_on")
@pytest.mark.parametrize("with_render_token", [True, False], ids=["form-script", "no-render-token"])
def test_given_turnstile_on_and_no_response_then_stored_and_alerted_but_never_as_verified(
    with_render_token: bool,
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A bot that leaves both fields out, and a form whose Turnstile widget never loaded, alike.
    with fake_siteverify(success=True) as (url, seen):
        monkeypatch.setenv("TURNSTILE_VERIFY_URL", url)
        get_settings.cache_clear()
        fields = {**VALID, "render_token": served_token()} if with_render_token else dict(VALID)
        answer = posted_after(20, fields)

    same_as_a_person_gets(answer)
    assert seen == []  # nothing to ask Cloudflare about
    assert unverified_marks(moto_aws) == ["no_turnstile_response"]
    assert unverified_counts(capsys.readouterr().out) == ["no_turnstile_response"]


@pytest.mark.usefixtures("turnstile_on")
def test_given_a_person_without_javascript_then_the_plain_form_post_reaches_the_office_marked_unverified(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.alerts import handle, new_request_records, sent_emails

    answer = invoke(form_event(VALID, Accept=BROWSER_ACCEPT))  # a browser's own form post: no script

    assert answer.status == 303
    handle(new_request_records(moto_aws))  # the stream, as Lambda feeds it to the notifier
    (email,) = sent_emails()
    assert "(unverified)" in email.subject
    assert "sent without the website&#x27;s robot check" in email.body  # moto keeps the HTML part


def test_given_turnstile_off_then_a_post_without_a_response_is_not_marked(moto_aws: Provisioned) -> None:
    assert invoke(json_event(VALID)).status == 201
    assert unverified_marks(moto_aws) == [None]


@pytest.mark.usefixtures("turnstile_on")
def test_given_turnstile_on_and_cloudflare_unreachable_then_the_request_is_stored_unverified(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_siteverify(success=True) as (url, _):
        unreachable = url  # the server is gone once the block ends
    answer = _turnstile_post(unreachable, monkeypatch, "XXXX.DUMMY.TOKEN")

    assert answer.status == 201
    assert unverified_marks(moto_aws) == ["turnstile_unavailable"]
    assert '"TurnstileUnavailable":[1.0]' in capsys.readouterr().out


@pytest.mark.usefixtures("turnstile_on")
def test_given_turnstile_on_and_cloudflare_too_slow_then_the_request_is_stored_unverified(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callbacks.adapters import turnstile

    monkeypatch.setattr(turnstile, "TIMEOUT_SECONDS", 0.2)
    silent = socket.socket()  # listens, never answers: a read timeout, not a refused connection
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        answer = _turnstile_post(f"http://127.0.0.1:{silent.getsockname()[1]}/siteverify", monkeypatch, "T")
    finally:
        silent.close()

    assert answer.status == 201
    assert unverified_marks(moto_aws) == ["turnstile_unavailable"]


@pytest.mark.usefixtures("turnstile_on")
def test_given_the_turnstile_secret_unreadable_then_the_request_is_stored_unverified_never_a_500(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNSTILE_SECRET_PARAMETER", "/no/such/turnstile-secret")  # a typo, an SSM outage
    with fake_siteverify(success=True) as (url, seen):
        answer = _turnstile_post(url, monkeypatch, "XXXX.DUMMY.TOKEN")

    assert answer.status == 201
    assert seen == []
    assert unverified_marks(moto_aws) == ["turnstile_unavailable"]


@pytest.mark.parametrize("layer", ["judge_render_token", "judge_turnstile", "caps"])
def test_given_any_layer_failing_unexpectedly_then_the_request_is_stored_and_the_failure_counted(
    layer: str, moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("a bug in a spam layer")

    token = served_token()  # a person's, so that only the broken layer could stand in the way
    monkeypatch.setattr(spam, layer, broken)

    answer = posted_after(20, {**VALID, "render_token": token})

    assert answer.status == 201
    assert stored_count(moto_aws) == 1
    assert '"SpamLayersUnavailable":[1.0]' in capsys.readouterr().out


def test_given_another_office_time_zone_then_the_phone_caps_day_is_that_offices_day(
    moto_aws: Provisioned,
) -> None:
    # 07:30 UTC on Dec 2: already Dec 2 in Tupelo, still Dec 1 in Los Angeles.
    moment = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
    pacific = deployment_settings(office_time_zone="America/Los_Angeles")

    [phone_cap] = spam.caps("+16623776290", None, moment, pacific)

    assert phone_cap.key.endswith("#2026-12-01")
    assert spam.caps("+16623776290", None, moment, deployment_settings())[0].key.endswith("#2026-12-02")


def test_given_a_cold_intake_then_an_accepted_request_makes_exactly_one_aws_call(
    moto_aws: Provisioned,
) -> None:
    # A post without JavaScript warms nothing first: the process is as new as Lambda makes it.
    token = served_token()  # (that GET made no AWS call either: the secret is in the configuration)
    aws.reset_clients()
    signing.forget_keys()
    get_settings.cache_clear()
    calls: list[str] = []
    aws._session().register("before-call", lambda model, **_: calls.append(model.name))

    answer = posted_after(20, {**VALID, "render_token": token})

    assert answer.status == 201
    assert stored_count(moto_aws) == 1
    assert calls == ["TransactWriteItems"]  # the request, its markers and its caps: one write

"""The local stack itself: outbox, SES outage, dead-letter queue, demo site, and its adapters.

Given ``python -m infra.local`` running as a subprocess (the tests marked e2e), when a request
goes in or AWS misbehaves, then the stack behaves as the deployed system would. The adapters
(proxy events, filters, retries, throttling, the stream poller on in-process moto) are tested
directly, without a stack.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import boto3
import pytest

from infra.local.filters import compile_pattern, matches_any
from infra.local.lambda_events import IncomingRequest, proxy_event, proxy_response
from infra.local.server import LocalApi, TokenBucket
from infra.local.streams import RetryPolicy, StreamPoller, local_retry_policy
from infra.local.template import api_spec, stream_source_spec
from infra.provision import Provisioned
from tests.e2e.conftest import HttpClient, RunningStack, wait_for
from tests.http_contract import PATH, assert_receipt, json_body, post, valid_fields

SES_OUTAGE_S = 20.0


def stored_request(stack: RunningStack, **overrides: Any) -> str:
    return assert_receipt(post(HttpClient(stack), json_body(valid_fields(**overrides))), 201)


# The outbox


@pytest.mark.e2e
def test_a_posted_request_is_emailed_to_the_outbox_within_seconds(local_stack: RunningStack) -> None:
    name = f"Zelda {uuid.uuid4().hex[:6].translate(str.maketrans('0123456789', 'ghijklmnop'))}"
    fields = valid_fields(name=name)
    started = time.monotonic()
    request_id = assert_receipt(post(HttpClient(local_stack), json_body(fields)), 201)

    emails = wait_for(lambda: local_stack.emails_about(request_id), 5, "the email in the outbox")
    elapsed = time.monotonic() - started
    print(f"POST -> .eml in {elapsed * 1000:.0f} ms")

    (message,) = emails
    assert message["From"]
    assert message["To"]
    assert message["Message-ID"].endswith("@email.amazonses.com>")
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(preferencelist=("html",)) is not None
    # The console line follows the file: wait for it as well.
    console = wait_for(
        lambda: (
            (text := local_stack.console())
            and f'subject "{message["Subject"]}" -> ' in text
            and "http: POST /callback-requests -> 201 (" in text
            and text
        ),
        10,
        "the email's console line",
    )
    # The console names recipients and subject only: never the visitor's name or phone number.
    assert name not in console
    assert fields["phone"] not in console
    assert "http: POST /callback-requests -> 201 (" in console


@pytest.mark.e2e
def test_an_ses_outage_of_20_seconds_delays_the_email_and_loses_nothing(local_stack: RunningStack) -> None:
    ses = local_stack.aws("ses")
    senders = ses.list_identities()["Identities"]
    retries_before = local_stack.console().count("retry ")
    for sender in senders:
        ses.delete_identity(Identity=sender)  # moto now rejects every send from it
    try:
        request_id = stored_request(local_stack)
        outage_ends = time.monotonic() + SES_OUTAGE_S
        while time.monotonic() < outage_ends:
            assert local_stack.emails_about(request_id) == []
            time.sleep(0.5)
        assert local_stack.console().count("retry ") > retries_before
    finally:
        for sender in senders:
            ses.verify_email_identity(EmailAddress=sender)

    wait_for(lambda: local_stack.emails_about(request_id), 15, "the delayed email")
    # The stream is delivered in order: once a later request is emailed, no retry of ours is pending.
    later_id = stored_request(local_stack)
    wait_for(lambda: local_stack.emails_about(later_id), 15, "the later request's email")
    assert len(local_stack.emails_about(request_id)) == 1


@pytest.fixture(scope="module")
def impatient_stack(
    start_stack: Callable[..., AbstractContextManager[RunningStack]],
) -> Iterator[RunningStack]:
    with start_stack("--stream-max-retries", "2", "--stream-max-backoff", "0.2") as stack:
        yield stack


@pytest.mark.e2e
def test_a_record_that_fails_every_retry_lands_in_the_dead_letter_queue(
    impatient_stack: RunningStack,
) -> None:
    ses = impatient_stack.aws("ses")
    for sender in ses.list_identities()["Identities"]:
        ses.delete_identity(Identity=sender)
    sqs = impatient_stack.aws("sqs")
    (queue_url,) = sqs.list_queues()["QueueUrls"]

    stored_request(impatient_stack)

    def dead_letters() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get(
            "Messages", []
        )
        return messages

    (message,) = wait_for(dead_letters, 20, "a message in the dead-letter queue")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    batch = record["DDBStreamBatchInfo"]
    assert batch["batchSize"] == 1
    assert batch["startSequenceNumber"] == batch["endSequenceNumber"]
    assert batch["shardId"].startswith("shardId-")
    assert ":table/callback-requests/stream/" in batch["streamArn"]
    # The poller writes its console line just after the queue message: wait for it too.
    wait_for(lambda: "dead-letter: 1 record(s)" in impatient_stack.console(), 10, "the dead-letter line")
    assert impatient_stack.emails() == []


# The demo site and API Gateway's own answers


@pytest.mark.e2e
def test_the_demo_page_points_at_the_api(local_stack: RunningStack) -> None:
    page = local_stack.request("GET", "/")

    assert page.status == 200
    assert page.header("Content-Type").startswith("text/html")
    assert b"{{API_BASE}}" not in page.body
    assert f"{local_stack.api_base}/callback-requests".encode() in page.body


@pytest.mark.e2e
def test_the_thank_you_page_and_the_form_script_are_served(local_stack: RunningStack) -> None:
    plain = local_stack.request("GET", "/thank-you")
    assert plain.status == 200
    # Without a reference (or with anything but one) the sentence about it is left out.
    for query in ("", "?ref=", "?ref=%3Cscript%3E", "?ref=abc"):
        page = local_stack.request("GET", f"/thank-you{query}").body.decode()
        assert "Your reference" not in page
        assert "{{REFERENCE}}" not in page
        assert "<script>" not in page
    assert (
        "Your reference is <strong>3F2A9C1E</strong>."
        in local_stack.request("GET", "/thank-you?ref=3F2A9C1E").body.decode()
    )
    script = local_stack.request("GET", "/callback-form.js")
    assert script.status == 200
    assert "javascript" in script.header("Content-Type")


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path", ["/../pyproject.toml", "/%2e%2e/pyproject.toml", "/..%2fpyproject.toml", "/.x"]
)
def test_files_outside_the_site_are_never_served(local_stack: RunningStack, path: str) -> None:
    response = local_stack.request("GET", path)

    assert response.status == 403
    assert b"[project]" not in response.body


@pytest.mark.e2e
@pytest.mark.parametrize("method", ["DELETE", "TRACE", "CONNECT", "PROPFIND"])
def test_a_method_a_route_does_not_have_gets_api_gateways_answer_never_a_501(
    local_stack: RunningStack, method: str
) -> None:
    origin = local_stack.embed_origin
    response = local_stack.request(method, PATH, headers={"Origin": origin})

    # MISSING_AUTHENTICATION_TOKEN, in the template's DEFAULT_4XX: the API's error shape, readable.
    assert response.status == 403
    assert response.json()["error"] == "request_refused"
    assert response.header("Access-Control-Allow-Origin") == origin


@pytest.mark.e2e
@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_api_gateways_10_mib_is_its_413_in_the_apis_error_shape(
    local_stack: RunningStack, chunked: bool
) -> None:
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    connection = http.client.HTTPConnection("127.0.0.1", local_stack.api_port, timeout=15)
    try:
        parts = iter([body[:1024], body[1024:]]) if chunked else body
        headers = {"Content-Type": "application/json"}
        connection.request("POST", PATH, body=parts, headers=headers, encode_chunked=chunked)
        answer = connection.getresponse()
        assert (answer.status, json.loads(answer.read())["error"]) == (413, "body_too_large")
    finally:
        connection.close()


@pytest.mark.e2e
def test_a_chunked_body_is_read_as_api_gateway_reads_it(local_stack: RunningStack) -> None:
    body = json.dumps(valid_fields()).encode()
    connection = http.client.HTTPConnection("127.0.0.1", local_stack.api_port, timeout=15)
    try:
        chunks, headers = iter([body[:20], body[20:]]), {"Content-Type": "application/json"}
        connection.request("POST", PATH, body=chunks, headers=headers, encode_chunked=True)
        answer = connection.getresponse()
        assert (answer.status, json.loads(answer.read())["status"]) == (201, "received")
    finally:
        connection.close()


# The adapters, without a stack


def test_a_multipart_body_reaches_the_function_base64_encoded_like_api_gateway() -> None:
    spec = api_spec()
    body = b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nJos\xc3\xa9\r\n--b--\r\n'
    request = IncomingRequest(
        method="POST",
        path=PATH,
        query="a=1&a=2",
        headers=[("Content-Type", "multipart/form-data; boundary=b"), ("Accept", "a"), ("Accept", "b")],
        body=body,
        source_ip="127.0.0.1",
        server_port=3000,
    )

    event = proxy_event(request, PATH, spec.stage, spec.binary_media_types)

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    assert event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] is None
    assert event["requestContext"]["path"] == f"/{spec.stage}{PATH}"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_a_json_body_reaches_the_function_as_text_without_query_parameters() -> None:
    spec = api_spec()
    request = IncomingRequest(
        "POST", PATH, "", [("Content-Type", "application/json")], b"{}", "10.0.0.1", 3000
    )

    event = proxy_event(request, PATH, spec.stage, spec.binary_media_types)

    assert event["isBase64Encoded"] is False
    assert event["body"] == "{}"
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_base64_bodies_are_decoded_and_a_malformed_function_result_is_refused() -> None:
    decoded = proxy_response({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, "id")
    assert decoded.body == b"hi"
    with pytest.raises(ValueError, match="malformed"):
        proxy_response({"body": "x"}, "id")


class BrokenFunction:
    """Stands in for a function that crashes, or answers what API Gateway cannot read."""

    name = "BrokenFunction"

    def __init__(self, result: Any) -> None:
        self.result = result

    def invoke(self, event: dict[str, Any]) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.mark.parametrize("result", [RuntimeError("crash"), {"body": "no status"}, None])
def test_a_crashed_or_malformed_function_is_api_gateways_502_in_the_apis_error_shape(result: Any) -> None:
    spec = api_spec()
    functions = {route.function: BrokenFunction(result) for route in spec.routes}
    api = LocalApi(spec, functions, rate=10, burst=10, port=3000)  # type: ignore[arg-type]
    headers = [("Content-Type", "application/json"), ("Origin", "https://example.org")]

    answer = api.respond(IncomingRequest("POST", PATH, "", headers, b"{}", "127.0.0.1", 3000))

    assert answer.status == 502
    assert json.loads(answer.body)["error"] == "internal_error"
    assert ("Access-Control-Allow-Origin", "https://example.org") in answer.headers


def test_the_templates_filter_passes_new_requests_only() -> None:
    patterns = [compile_pattern(pattern) for pattern in stream_source_spec().filter_patterns]

    def record(event_name: str, key: str) -> dict[str, Any]:
        return {"eventName": event_name, "dynamodb": {"Keys": {"pk": {"S": key}}}}

    assert matches_any(patterns, record("INSERT", "request#1"))
    assert not matches_any(patterns, record("MODIFY", "request#1"))
    assert not matches_any(patterns, record("INSERT", "fingerprint#ab"))


def test_filters_read_every_operator_lambda_has_through_moto() -> None:
    pattern = compile_pattern('{"eventName": [{"anything-but": ["REMOVE"]}], "n": [{"numeric": [">", 1]}]}')

    assert matches_any([pattern], {"eventName": "INSERT", "n": 2})
    assert not matches_any([pattern], {"eventName": "REMOVE", "n": 2})
    assert not matches_any([pattern], {"eventName": "INSERT", "n": 1})
    assert matches_any([], {"eventName": "REMOVE"})  # no filter lets everything through


def test_local_retries_span_more_than_a_minute_with_capped_backoff() -> None:
    policy = local_retry_policy(stream_source_spec().maximum_retry_attempts, max_delay=5.0)

    assert policy.max_retries is not None
    delays = [policy.delay(attempt) for attempt in range(1, policy.max_retries + 1)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == 5.0
    assert sum(delays) > 60


def test_the_token_bucket_allows_the_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=5, burst=2, clock=lambda: now[0])

    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 0.2
    assert bucket.take() is True


class ScriptedFunction:
    """Stands in for the notifier: answers each batch as scripted, and records what it got."""

    name = "ScriptedFunction"

    def __init__(self, script: list[str | int]) -> None:
        self.script = script
        self.batches: list[list[str]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        records = event["Records"]
        self.batches.append([record["dynamodb"]["Keys"]["pk"]["S"] for record in records])
        action = self.script.pop(0) if self.script else "ok"
        if action == "raise":
            raise RuntimeError("scripted failure")
        if isinstance(action, int):  # a partial failure at this index
            return {"batchItemFailures": [{"itemIdentifier": records[action]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}


def run_poller(moto_aws: Provisioned, function: ScriptedFunction, until: Callable[[], Any]) -> None:
    poller = StreamPoller(
        table_name=moto_aws.table_name,
        spec=stream_source_spec(),
        function=function,  # type: ignore[arg-type]
        retry=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.01),
        dead_letter_queue_url=moto_aws.dead_letter_queue_url,
        interval=0.01,
    )
    poller.start()
    try:
        wait_for(until, 10, "the poller")
    finally:
        poller.stop()


def put_items(moto_aws: Provisioned, *keys: str) -> None:
    for key in keys:
        boto3.client("dynamodb").put_item(TableName=moto_aws.table_name, Item={"pk": {"S": key}})


def test_the_poller_filters_retries_from_the_first_failure_and_bisects_on_errors(
    moto_aws: Provisioned,
) -> None:
    put_items(moto_aws, "request#1", "fingerprint#x", "request#2", "request#3", "request#4")
    function = ScriptedFunction([2, "raise", "ok", "ok"])

    run_poller(moto_aws, function, lambda: len(function.batches) >= 4)

    assert function.batches == [
        ["request#1", "request#2", "request#3", "request#4"],  # the dedupe marker is filtered out
        ["request#3", "request#4"],  # retried from the first failed record
        ["request#3"],  # the error bisected the batch
        ["request#4"],
    ]


def test_the_poller_sends_a_record_that_fails_every_retry_to_the_dead_letter_queue(
    moto_aws: Provisioned,
) -> None:
    put_items(moto_aws, "request#1", "request#2")
    function = ScriptedFunction([0, 0, 0])  # the first record fails every time
    sqs = boto3.client("sqs")
    dead_letters: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        dead_letters.extend(sqs.receive_message(QueueUrl=moto_aws.dead_letter_queue_url).get("Messages", []))
        return bool(dead_letters)

    run_poller(moto_aws, function, dead_lettered)

    # The record after the failed one is retried with it and shares its fate, as in Lambda.
    assert function.batches == [["request#1", "request#2"]] * 3
    (message,) = dead_letters
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2
    assert record["DDBStreamBatchInfo"]["streamArn"] == moto_aws.stream_arn

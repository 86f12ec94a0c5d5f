"""Every function, with each of its sample events, in SAM CLI's Lambda containers.

`sam local start-lambda` driven by boto3's Lambda client (AWS's pattern for automated tests), the
functions reaching the local AWS at host.docker.internal, as infra/sam/env-vars.json says.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.sam.conftest import (
    ARCH,
    ENV_VARS,
    SAM,
    TIMINGS,
    Background,
    LocalAws,
    free_port,
    header,
    load_event,
    sam_containers,
)

# The request the stream sample announces; the office email's subject carries its short reference.
STREAM_REQUEST_ID = load_event("stream-insert")["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]


class Functions:
    def __init__(self, port: int) -> None:
        self._client = boto3.session.Session().client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            # A first invoke starts a container; no SDK retry may hide a failed one.
            config=Config(connect_timeout=5, read_timeout=120, retries={"total_max_attempts": 1}),
        )
        self.invoked: dict[str, int] = {}

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        answer = self._client.invoke(FunctionName=function, Payload=json.dumps(event).encode("utf-8"))
        seconds = time.monotonic() - started
        count = self.invoked[function] = self.invoked.get(function, 0) + 1
        TIMINGS.setdefault(f"start-lambda: {function} {'cold' if count == 1 else 'warm'} invoke", seconds)
        assert "FunctionError" not in answer, answer["Payload"].read()
        payload: dict[str, Any] = json.loads(answer["Payload"].read())
        return payload


@pytest.fixture(scope="module")
def functions(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Functions]:
    port = free_port()
    others = set(sam_containers())  # make sam-local's, which outlive this module
    started = time.monotonic()
    service = Background(
        [
            str(SAM), "local", "start-lambda", "--host", "127.0.0.1", "--port", str(port),
            "--parameter-overrides", f"Architecture={ARCH}", "--env-vars", "infra/sam/env-vars.json",
            "--add-host", "host.docker.internal:host-gateway", "--skip-pull-image", "--region", "us-east-1",
            "--warm-containers", "LAZY",
        ],
        tmp_path_factory.mktemp("start-lambda") / "start-lambda.log",
    ).start()  # fmt: skip
    service.wait_for_port(port)
    TIMINGS["sam local start-lambda up"] = time.monotonic() - started
    yield Functions(port)
    service.stop()
    assert set(sam_containers()) <= others, "sam local start-lambda left its containers running"


@pytest.fixture(scope="module")
def json_post(functions: Functions) -> dict[str, Any]:
    """The JSON sample posted first, so the other posts of the same request are its duplicates."""
    return functions.invoke("IntakeFunction", load_event("post-json"))


def test_json_post_is_stored_in_the_local_table(json_post: dict[str, Any], local_aws: LocalAws) -> None:
    assert json_post["statusCode"] == 201, json_post
    body = json.loads(json_post["body"])
    assert body["status"] == "received"
    assert header(json_post, "Access-Control-Allow-Origin") == "https://www.accentplasticsurgery.example"
    item = local_aws.stored(body["id"])
    assert item is not None, "the 201 request is not in moto's table"
    assert item["phone"] == {"S": "+16623776290"}
    assert item["status"] == {"S": "new"}


def test_form_post_is_sent_to_the_thank_you_page(json_post: dict[str, Any], functions: Functions) -> None:
    answer = functions.invoke("IntakeFunction", load_event("post-form"))
    assert answer["statusCode"] == 303, answer
    location = header(answer, "Location") or ""
    assert location.startswith(ENV_VARS["IntakeFunction"]["THANK_YOU_URL"] + "?ref=")  # the reference


def test_multipart_post_of_the_same_request_is_its_duplicate(
    json_post: dict[str, Any], functions: Functions, local_aws: LocalAws
) -> None:
    before = local_aws.stored_request_ids()
    answer = functions.invoke("IntakeFunction", load_event("post-multipart"))
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["id"] == json.loads(json_post["body"])["id"]
    assert local_aws.stored_request_ids() == before


def test_preflight_allows_the_sample_origin(functions: Functions) -> None:
    answer = functions.invoke("IntakeFunction", load_event("preflight"))
    assert answer["statusCode"] == 204, answer
    assert header(answer, "Access-Control-Allow-Origin") == "https://www.accentplasticsurgery.example"
    assert "POST" in (header(answer, "Access-Control-Allow-Methods") or "")
    allowed_headers = (header(answer, "Access-Control-Allow-Headers") or "").lower()
    assert "content-type" in allowed_headers
    assert "idempotency-key" in allowed_headers
    assert header(answer, "Access-Control-Max-Age")


def test_post_from_a_foreign_origin_is_refused_and_not_stored(
    json_post: dict[str, Any], functions: Functions, local_aws: LocalAws
) -> None:
    event = copy.deepcopy(load_event("post-json"))
    event["headers"]["Origin"] = "https://elsewhere.example"
    event["multiValueHeaders"]["Origin"] = ["https://elsewhere.example"]
    event["headers"]["Idempotency-Key"] = event["multiValueHeaders"]["Idempotency-Key"][0] = "foreign-1"
    before = local_aws.stored_request_ids()
    answer = functions.invoke("IntakeFunction", event)
    assert answer["statusCode"] == 403, answer
    assert header(answer, "Access-Control-Allow-Origin") is None
    assert local_aws.stored_request_ids() == before


def test_stream_insert_emails_the_office_through_the_local_ses(
    functions: Functions, local_aws: LocalAws
) -> None:
    reference = STREAM_REQUEST_ID[:8].upper()
    before = [email["id"] for email in local_aws.emails() if reference in email["subject"]]
    local_aws.store_stream_sample()
    answer = functions.invoke("NotifyFunction", load_event("stream-insert"))
    assert answer == {"batchItemFailures": []}
    found = local_aws.wait_for_emails_about(STREAM_REQUEST_ID, len(before) + 1)
    sent = [email for email in found if email["id"] not in before]
    assert len(sent) == 1, [email["subject"] for email in local_aws.emails()]
    assert sent[0]["source"] == ENV_VARS["NotifyFunction"]["SENDER_EMAIL"]
    assert sent[0]["destinations"]["ToAddresses"] == [ENV_VARS["NotifyFunction"]["OFFICE_EMAILS"]]
    assert "tel:+16623776290" in sent[0]["body"]


def test_the_same_stream_record_again_sends_nothing(functions: Functions, local_aws: LocalAws) -> None:
    """A redelivered record of a request already emailed sends nothing, whatever container gets it."""
    if not local_aws.wait_for_emails_about(STREAM_REQUEST_ID, 0):  # alone, without the test before
        local_aws.store_stream_sample()
        functions.invoke("NotifyFunction", load_event("stream-insert"))
    sent = local_aws.wait_for_emails_about(STREAM_REQUEST_ID, 1)
    assert functions.invoke("NotifyFunction", load_event("stream-insert")) == {"batchItemFailures": []}
    assert len(local_aws.wait_for_emails_about(STREAM_REQUEST_ID, 0)) == len(sent)


def test_the_sweeps_schedule_event_runs_the_sweep_over_the_unsent_index(
    functions: Functions, local_aws: LocalAws
) -> None:
    before = len(local_aws.wait_for_emails_about(STREAM_REQUEST_ID, 0))
    local_aws.store_stream_sample()  # a request whose alert is not recorded: in the sweep's index
    answer = functions.invoke("StaffAlertSweepFunction", load_event("sweep-schedule"))
    assert set(answer) >= {"found", "stopped"}, answer
    assert answer["stopped"] is None, answer
    assert "failed" not in answer, answer
    # Sent by the sweep, or by the local stack's poller first: one email either way.
    assert len(local_aws.wait_for_emails_about(STREAM_REQUEST_ID, before + 1)) == before + 1


def test_the_digests_schedule_event_runs_the_digest(functions: Functions) -> None:
    answer = functions.invoke("DigestFunction", load_event("digest-schedule"))
    assert isinstance(answer.get("listed"), int), answer


def test_the_summarys_schedule_event_emails_the_week_before_that_monday(
    functions: Functions, local_aws: LocalAws
) -> None:
    def summaries() -> list[dict[str, Any]]:
        week = "Week of Nov 23 - 29"
        return [email for email in local_aws.emails() if str(email["subject"]).startswith(week)]

    before = len(summaries())
    answer = functions.invoke("WeeklySummaryFunction", load_event("summary-schedule"))
    assert answer["week"] == "2026-11-23", answer
    assert set(answer) == {"week", "received", "called", "still_open"}, answer
    assert len(summaries()) == before + 1

"""Bounces, complaints and rejections of staff alerts: a metric per kind, ids in the log, no address.

The events are SES's as EventBridge delivers them (infra/events/ses-*.json, also used by
`sam local invoke`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from callbacks.handlers import delivery_events
from infra.local.lambda_events import lambda_context
from tests.conftest import load_event
from tests.integration.alerts import log_lines, messages

REQUEST_ID = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f"
ADDRESSES = ("office@example.com", "callbacks@example.com", "office@", "example.com")


def emitted_metrics(printed: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(printed) if "_aws" in line]


def assert_no_address(printed: str) -> None:
    for address in ADDRESSES:
        assert address not in printed, f"an address in the output: {address!r}"


@pytest.mark.parametrize(
    ("event_name", "metric", "message", "detail"),
    [
        ("ses-bounce", "StaffAlertBounced", "staff_alert_bounce", "Permanent/General"),
        ("ses-complaint", "StaffAlertComplained", "staff_alert_complaint", "abuse"),
    ],
)
def test_given_a_delivery_problem_event_when_handled_then_its_metric_moves_and_the_log_names_the_request(
    event_name: str, metric: str, message: str, detail: str, output: Callable[[], str]
) -> None:
    delivery_events.lambda_handler(load_event(event_name), lambda_context("DeliveryEventsFunction"))

    printed = output()
    [blob] = emitted_metrics(printed)
    assert blob[metric] == [1.0]
    assert blob["service"] == "callback-requests"
    [definition] = blob["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "CallbackRequests"
    assert definition["Dimensions"] == [["service"]]
    [line] = messages(printed, message)
    assert (line["request_id"], line["detail"], line["recipients"]) == (REQUEST_ID, detail, 1)
    assert line["ses_message_id"].startswith("010001906b1c2d3e")
    assert_no_address(printed)


def test_given_a_rejection_event_when_handled_then_staff_alert_rejected_is_counted(
    output: Callable[[], str],
) -> None:
    event = copy.deepcopy(load_event("ses-bounce"))
    event["detail-type"] = "Email Rejected"
    event["detail"].pop("bounce")
    event["detail"]["eventType"] = "Reject"
    event["detail"]["reject"] = {"reason": "Bad content"}

    delivery_events.lambda_handler(event, lambda_context("DeliveryEventsFunction"))

    printed = output()
    [blob] = emitted_metrics(printed)
    assert blob["StaffAlertRejected"] == [1.0]
    [line] = messages(printed, "staff_alert_reject")
    assert (line["detail"], line["recipients"]) == ("Bad content", 1)
    assert_no_address(printed)


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_given_an_event_of_another_kind_when_handled_then_it_is_ignored_without_a_metric(
    output: Callable[[], str],
) -> None:
    event = copy.deepcopy(load_event("ses-bounce"))
    event["detail-type"] = "Email Delivered"
    event["detail"]["eventType"] = "Delivery"

    delivery_events.lambda_handler(event, lambda_context("DeliveryEventsFunction"))

    printed = output()
    assert emitted_metrics(printed) == []
    assert [line["detail_type"] for line in messages(printed, "delivery_event_ignored")] == [
        "Email Delivered"
    ]

"""Canary values typed by a visitor never appear in a log line or metric, on any path."""

from __future__ import annotations

import json
import logging
from typing import Any
from unittest import mock

import boto3
import pytest

from callbacks.adapters import aws
from infra.provision import Provisioned
from tests.http_contract import BROWSER_ACCEPT
from tests.integration.helpers import (
    form_event,
    invoke,
    json_event,
    multipart_event,
    post_event,
)

CANARY = {
    "name": "Zebulon Canaryname",
    "phone": "(662) 555-0187",
    "email": "zebulon.canary@example.com",
    "message": "canary-message-text about my scar",
    "consent": True,
}
# The forms the phone can take once parsed, and the parts of each canary worth searching for.
NEEDLES = [
    "Canaryname",
    "Zebulon",
    "555-0187",
    "5550187",
    "+16625550187",
    "+14715550187",
    "zebulon.canary",
    "canary-message-text",
]


def _paths(moto_aws: Provisioned) -> list[tuple[str, Any]]:
    bad_phone = {**CANARY, "phone": "662-555-018"}
    too_big = json.dumps({**CANARY, "message": "canary-message-text " * 1700})

    def storage_down() -> Any:
        boto3.client("dynamodb").delete_table(TableName=moto_aws.table_name)
        return invoke(json_event(CANARY))

    def unexpected() -> Any:
        error = RuntimeError(f"failed for {CANARY['name']} {CANARY['phone']}")
        with mock.patch(
            "callbacks.handlers.api.callback_requests.register_callback_request", side_effect=error
        ):
            return invoke(json_event(CANARY))

    return [
        ("stored", lambda: invoke(json_event(CANARY))),
        ("duplicate", lambda: invoke(multipart_event(CANARY))),
        ("browser-303", lambda: invoke(form_event(CANARY, accept=BROWSER_ACCEPT))),
        ("invalid-json", lambda: invoke(json_event({**bad_phone, "email": "zebulon.canary@"}))),
        ("invalid-page", lambda: invoke(form_event(bad_phone, accept=BROWSER_ACCEPT))),
        ("malformed", lambda: invoke(post_event('{"name": "Zebulon Canaryname", ', "application/json"))),
        ("too-large", lambda: invoke(post_event(too_big, "application/json"))),
        ("wrong-type", lambda: invoke(post_event("name=Zebulon+Canaryname", "text/plain"))),
        ("foreign-origin", lambda: invoke(json_event(CANARY, origin="https://evil.example"))),
        ("honeypot", lambda: invoke(json_event({**CANARY, "website": "zebulon.canary@example.com"}))),
        # Tupelo's new area code is counted by its three digits, never the number
        ("new-area-code", lambda: invoke(json_event({**CANARY, "phone": "(471) 555-0187 x12"}))),
        ("unexpected", unexpected),
        ("storage-down", storage_down),
    ]


def test_given_canary_values_on_every_path_then_no_log_line_or_metric_contains_them(
    moto_aws: Provisioned, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    statuses = {}
    for name, call in _paths(moto_aws):
        statuses[name] = call().status
        aws.reset_clients()

    captured = capsys.readouterr()
    output = captured.out + captured.err + "\n".join(record.getMessage() for record in caplog.records)
    # The paths really ran, and really logged.
    assert statuses == {
        "stored": 201,
        "duplicate": 200,
        "browser-303": 303,
        "invalid-json": 422,
        "invalid-page": 422,
        "malformed": 400,
        "too-large": 413,
        "wrong-type": 415,
        "foreign-origin": 403,
        "honeypot": 201,
        "new-area-code": 201,
        "unexpected": 500,
        "storage-down": 503,
    }
    assert "callback_request_stored" in output
    assert "storage_unavailable" in output
    assert "PhoneAreaCodeUnknown" in output
    leaked = [needle for needle in NEEDLES if needle.lower() in output.lower()]
    assert leaked == []

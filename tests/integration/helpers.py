"""Calling the intake handler with API Gateway REST proxy events, built as the local stack builds them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.local.lambda_events import IncomingRequest, lambda_context, proxy_event, proxy_response
from infra.local.template import api_spec
from tests.conftest import load_event
from tests.http_contract import PATH, Answer, form_body, json_body, multipart_body

ALLOWED_ORIGIN = "https://www.accentplasticsurgery.example"
SOURCE_URL = "https://www.accentplasticsurgery.example/fractional-co2-laser-resurfacing/"
SOURCE_IP = "203.0.113.24"
VALID = {
    "name": "Jane Doe",
    "phone": "(662) 377-6290",
    "email": "jane@example.com",
    "best_time": "morning",
    "interest": "fractional-co2-laser",
    "message": "I would like to ask about downtime.",
    "consent": True,
    "source_url": SOURCE_URL,
    "website": "",
}
# What a phone's browser sends besides the body's own headers (from the recorded sample event).
_BROWSER_HEADERS = {
    name: value
    for name, value in load_event("post-json")["headers"].items()
    if name in ("Host", "Referer", "User-Agent")
}


def with_headers(event: dict[str, Any], **headers: str | None) -> dict[str, Any]:
    """Set (or, with None, remove) headers in both of API Gateway's header maps."""
    for name, value in headers.items():
        header = name.replace("_", "-")
        for existing in [key for key in event["headers"] if key.lower() == header.lower()]:
            del event["headers"][existing]
            event["multiValueHeaders"].pop(existing, None)
        if value is not None:
            event["headers"][header] = value
            event["multiValueHeaders"][header] = [value]
    return event


def post_event(
    body: str | bytes,
    content_type: str | None = "application/json",
    *,
    accept: str = "application/json",
    origin: str | None = ALLOWED_ORIGIN,
    base64_encoded: bool = False,
    **headers: str | None,
) -> dict[str, Any]:
    """A POST /callback-requests event as API Gateway builds it (base64 as asked, not by media type)."""
    sent: dict[str, str | None] = {
        **_BROWSER_HEADERS,
        "Content-Type": content_type,
        "Accept": accept,
        "Origin": origin,
        **{name.replace("_", "-"): value for name, value in headers.items()},
    }
    request = IncomingRequest(
        method="POST",
        path=PATH,
        query="",
        headers=[(name, value) for name, value in sent.items() if value is not None],
        body=body.encode("utf-8") if isinstance(body, str) else body,
        source_ip=SOURCE_IP,
        server_port=443,
    )
    return proxy_event(request, PATH, api_spec().stage, ("*/*",) if base64_encoded else ())


def json_event(fields: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return post_event(*json_body(fields), **kwargs)


def form_event(fields: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return post_event(*form_body(fields), **kwargs)


def multipart_event(fields: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return post_event(*multipart_body(fields), base64_encoded=True, **kwargs)


def answer_of(result: Any, event: dict[str, Any]) -> Answer:
    """The HTTP response API Gateway makes of a handler's result."""
    response = proxy_response(result, event["requestContext"]["requestId"])
    return Answer.of(response.status, response.headers, response.body)


def invoke(event: dict[str, Any]) -> Answer:
    from callbacks.handlers.intake import lambda_handler

    return answer_of(lambda_handler(event, lambda_context("IntakeFunction")), event)


@dataclass
class CallCounter:
    """Counts the AWS API calls a client makes, by operation name."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)


@contextmanager
def counting_calls(client: Any) -> Iterator[CallCounter]:
    counter = CallCounter()
    client.meta.events.register("before-call.*.*", counter)
    try:
        yield counter
    finally:
        client.meta.events.unregister("before-call.*.*", counter)


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.scan(TableName=table)["Items"]
    return items


def requests_in(client: Any, table: str) -> list[dict[str, Any]]:
    return [item for item in scan_table(client, table) if item["pk"]["S"].startswith("request#")]


def metric_blobs(output: str) -> list[dict[str, Any]]:
    """The EMF blobs (metrics) among the JSON lines a handler printed, one per flush."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]

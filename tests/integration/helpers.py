"""Building API Gateway REST proxy events from the sample events, and calling the intake handler."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.conftest import load_event

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
ALLOWED_ORIGIN = "https://www.accentplasticsurgery.example"
SOURCE_URL = "https://www.accentplasticsurgery.example/fractional-co2-laser-resurfacing/"
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


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "IntakeFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:IntakeFunction"
    aws_request_id: str = "5b6f0c1e-1111-4c3f-9d0a-2a5b8e1f0c01"
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


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
    """A POST /callback-requests event as API Gateway builds it, from the recorded sample."""
    event = copy.deepcopy(load_event("post-json"))
    raw = body.encode("utf-8") if isinstance(body, str) else body
    event["body"] = base64.b64encode(raw).decode("ascii") if base64_encoded else raw.decode("utf-8")
    event["isBase64Encoded"] = base64_encoded
    with_headers(event, Content_Type=content_type, Accept=accept, Origin=origin, Idempotency_Key=None)
    return with_headers(event, **headers)


def json_event(fields: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return post_event(json.dumps(fields), "application/json", **kwargs)


def form_fields(fields: dict[str, Any]) -> dict[str, str]:
    return {
        key: ("on" if value is True else str(value)) for key, value in fields.items() if value is not False
    }


def form_event(fields: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return post_event(urlencode(form_fields(fields)), "application/x-www-form-urlencoded", **kwargs)


def multipart_event(
    fields: dict[str, Any], boundary: str = "----formdata-7MA4YWxkTrZu0gW", **kwargs: Any
) -> dict[str, Any]:
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in form_fields(fields).items()
    )
    body = f"{parts}--{boundary}--\r\n"
    return post_event(body, f"multipart/form-data; boundary={boundary}", base64_encoded=True, **kwargs)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def invoke(event: dict[str, Any]) -> Answer:
    from callbacks.intake import lambda_handler

    result = lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    headers = {key.lower(): value for key, value in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(values)
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return Answer(status=result["statusCode"], headers=headers, body=body)


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


Invoke = Callable[[dict[str, Any]], Answer]

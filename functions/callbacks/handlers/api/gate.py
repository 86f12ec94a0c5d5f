"""The intake's gate: everything between API Gateway's event and the routes, in one place.

Before the routes: a foreign browser origin (the form's routes) and an oversized body are refused
before anything is parsed; the form's fields are read from whichever of the three media types the
form sent (JSON, urlencoded, multipart), media types matched case-insensitively while parameters
such as a multipart boundary keep their case. After them: ``Vary: Origin`` on every answer. Plain
pydantic validates the fields (models/form.py), so no OpenAPI validation machinery is imported on
the request path; `make openapi` documents the same routes from the same models.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import CORSConfig

from callbacks.core.settings import get_settings
from callbacks.handlers.api.errors import (
    HTML,
    JSON,
    MalformedBodyError,
    UnsupportedMediaTypeError,
    count_rejection,
)
from callbacks.handlers.api.pages import prefers_html, refusal_page
from callbacks.models.api import ErrorBody

# Every valid request fits: 1000 four-byte characters of message, urlencoded, are 12 KB.
MAX_BODY_BYTES = 32 * 1024
# API Gateway resources whose requests carry no website Origin rule (the mark-as-called links).
ANY_ORIGIN_RESOURCES = frozenset({"/callback-requests/{id}/contacted"})
_STAFF_LINK_PATH = re.compile(r"^/callback-requests/[^/]+/contacted/?$")
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def vary_on_origin(response: dict[str, Any]) -> dict[str, Any]:
    """Whether an answer carries Access-Control-Allow-Origin depends on the request's Origin: a
    cache must not hand one origin's answer to another."""
    headers = response.setdefault("multiValueHeaders", {}) if "multiValueHeaders" in response else None
    if headers is not None:
        headers["Vary"] = ["Origin"]
    else:
        response.setdefault("headers", {})["Vary"] = "Origin"
    return response


def form_fields(content_type: str | None, body: str | None, base64_encoded: bool) -> dict[str, Any]:
    """The fields the form sent, as the form model reads them (a field given twice: a list).

    Raises ``UnsupportedMediaTypeError`` for another media type, and ``MalformedBodyError`` (or the
    ``ValueError`` of undecodable base64 or UTF-8) for a body that is not an object of fields.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    raw = base64.b64decode(body or "", validate=True) if base64_encoded else (body or "").encode("utf-8")
    if media_type in ("", "application/json"):
        try:
            fields = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):  # 32 KiB of "[" nests deeper than Python recurses
            raise MalformedBodyError("not JSON") from None
    elif media_type == FORM:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    elif media_type == MULTIPART:
        fields = _multipart_fields(content_type or "", raw)
    else:
        raise UnsupportedMediaTypeError(media_type)
    if not isinstance(fields, dict):
        raise MalformedBodyError("not an object of fields")
    return fields


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, list[str]]:
    # What `fetch(url, {body: new FormData(form)})` sends; rare next to JSON, so parsed by the
    # standard library's email parser, imported on first use.
    from email.parser import BytesParser
    from email.policy import HTTP

    if "boundary=" not in content_type:
        raise MalformedBodyError("multipart without its boundary")
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    if not message.is_multipart():
        raise MalformedBodyError("not multipart")
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8") if isinstance(payload, bytes) else ""
            fields.setdefault(name, []).append(text)
    return fields


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body.rstrip("=")) * 3 // 4
    return len(body.encode("utf-8"))


def _proxy_refusal(
    status: int, code: str, message: str, headers: dict[str, str], *, page: bool
) -> dict[str, Any]:
    count_rejection(code)
    if page:
        return {
            "statusCode": status,
            "headers": {"Content-Type": HTML, **headers},
            "body": refusal_page(message),
        }
    body = ErrorBody(error=code, message=message).model_dump_json()
    return {"statusCode": status, "headers": {"Content-Type": JSON, **headers}, "body": body}


def _origin_is_checked(event: dict[str, Any]) -> bool:
    # The allowed origins are the website's, for its form. A mark-as-called page posts its button
    # with the API's own origin, and its signed token is what authorises it.
    resource = event.get("resource") or ""
    if resource:
        return resource not in ANY_ORIGIN_RESOURCES
    return not _STAFF_LINK_PATH.match(str(event.get("path") or ""))


def refusal_before_parsing(event: dict[str, Any], cors: CORSConfig) -> dict[str, Any] | None:
    """Refusals that come before parsing: a foreign browser origin (the form's routes), an
    oversized body.

    Nothing is parsed before these checks: a flood of foreign or huge posts costs no parsing.
    """
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    # Browsers send `Origin: null` for some plain form posts (a no-referrer page, say): no origin.
    origin = headers.get("origin") if headers.get("origin") != "null" else None
    page = prefers_html(headers.get("accept"))
    if origin is not None and origin not in get_settings().allowed_origins and _origin_is_checked(event):
        return _proxy_refusal(
            403, "origin_not_allowed", "This website may not send call-back requests.", {}, page=page
        )
    if event.get("httpMethod") == "POST" and _body_size(event) > MAX_BODY_BYTES:
        # An allowed page's script must be able to read this answer: it carries the CORS headers.
        allowed = cors.to_dict(origin) if origin else {}
        message = f"The request is larger than {MAX_BODY_BYTES // 1024} KiB. Please shorten your message."
        return _proxy_refusal(413, "body_too_large", message, allowed, page=page)
    return None

"""The form's routes: ``POST /callback-requests`` and ``GET /callback-form.js``.

The route reads the fields through the gate (the three media types), validates them with the form
model, makes one logic call (``register_callback_request``) and negotiates the answer: JSON for
scripts, 303 for a browser's own form post. Refusals are errors.py's. The routes' OpenAPI
description is ``CREATE``'s and ``FORM_SCRIPT``'s, which `make openapi` documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import ValidationError

from callbacks.core import deadline
from callbacks.core.observability import count_by_dimension, logger, metrics
from callbacks.core.settings import get_settings
from callbacks.handlers.api.errors import JSON, InvalidFieldsError, wants_page
from callbacks.handlers.api.gate import MAX_BODY_BYTES, form_fields
from callbacks.logic.registration import Arrival, Registration, register_callback_request
from callbacks.logic.spam import new_render_token
from callbacks.models.api import CallbackRequestReceipt, ErrorBody
from callbacks.models.fields import FIELD_MESSAGES
from callbacks.models.form import IDEMPOTENCY_KEY_PATTERN, CallbackRequestIn
from callbacks.models.phone import new_area_code
from callbacks.models.record import deadline_text, reference

router = Router()

# The routes' descriptions, shared with the OpenAPI document (infra/tools/openapi.py).
CREATE: dict[str, Any] = {
    "summary": "Ask to be called back",
    "description": (
        "Accepts application/json, application/x-www-form-urlencoded and multipart/form-data. "
        "A browser's own form post (Accept prefers text/html) is answered 303 to the thank-you "
        "page, or 422 with an HTML page listing the problems."
    ),
    "responses": {
        200: {"description": "Duplicate of an earlier request: the same id, nothing new stored"},
        201: {"description": "Stored; the office will be emailed"},
        303: {
            "description": "Browser form post stored (or duplicate): go to the thank-you page, "
            "with the reference as ?ref="
        },
        400: {"description": "Malformed body", "content": {JSON: {"model": ErrorBody}}},
        403: {"description": "Origin not allowed", "content": {JSON: {"model": ErrorBody}}},
        413: {
            "description": f"Body larger than {MAX_BODY_BYTES // 1024} KiB",
            "content": {JSON: {"model": ErrorBody}},
        },
        415: {"description": "Unsupported content type", "content": {JSON: {"model": ErrorBody}}},
        422: {"description": "Invalid fields, each named", "content": {JSON: {"model": ErrorBody}}},
        429: {"description": "Too many requests (API Gateway throttling)"},
        503: {"description": "Storage unavailable; retry after Retry-After seconds"},
    },
    "tags": ["Call-back requests"],
}
FORM_SCRIPT: dict[str, Any] = {
    "summary": "The embeddable form's script",
    "tags": ["Website form"],
    "responses": {
        200: {
            "description": "The script, with a fresh render token",
            "content": {"text/javascript": {"schema": {"type": "string"}}},
        }
    },
}


def the_request(event: APIGatewayProxyEvent) -> tuple[CallbackRequestIn, str | None]:
    """The visitor's request and its idempotency key, or ``InvalidFieldsError`` naming every field
    (the header's too) that breaks the form's rules."""
    fields = form_fields(event.headers.get("content-type"), event.body, bool(event.is_base64_encoded))
    key = event.headers.get("idempotency-key")
    errors: list[Any] = []
    if key is not None and not IDEMPOTENCY_KEY_PATTERN.match(key):
        message = FIELD_MESSAGES["idempotency_key"]
        errors.append({"loc": ("header", "Idempotency-Key"), "type": "field_invalid", "msg": message})
    try:
        request = CallbackRequestIn.model_validate(fields)
    except ValidationError as error:
        raise InvalidFieldsError([*error.errors(), *errors]) from None
    if errors:
        raise InvalidFieldsError(errors)
    return request, key


def thank_you_location(thank_you_url: str, request_reference: str) -> str:
    """The thank-you page with the reference (``?ref=``), beside any query the URL already has."""
    parts = urlsplit(thank_you_url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("ref", request_reference)])
    return urlunsplit(parts._replace(query=query))


def _received(outcome: Registration) -> Response[str | None]:
    if wants_page():
        location = thank_you_location(get_settings().thank_you_url, reference(outcome.request_id))
        return Response(status_code=303, headers={"Location": location}, body=None)
    receipt = CallbackRequestReceipt(
        id=outcome.request_id,
        reference=reference(outcome.request_id),
        call_by=deadline_text(outcome.call_by),
        call_by_text=deadline.call_by_text(outcome.call_by),
    )
    status = 201 if outcome.created else 200
    return Response(status_code=status, content_type=JSON, body=receipt.model_dump_json())


@router.post("/callback-requests", **CREATE)
def create_callback_request() -> Response[str | None]:
    event = cast(APIGatewayProxyEvent, router.current_event)
    request, idempotency_key = the_request(event)
    arrival = Arrival(
        ip_address=event.request_context.identity.source_ip,
        correlation_id=event.request_context.request_id,
        received_at=datetime.now(UTC),
    )
    outcome = register_callback_request(request, idempotency_key, arrival, get_settings())
    if outcome.caught_by:
        # The same answer as a person gets, and nothing sent; a honeypot catch may be kept.
        count_by_dimension("SpamCaught", "layer", outcome.caught_by)
        logger.info(
            "callback_request_spam",
            extra={"layer": outcome.caught_by, "kept": outcome.kept, "spam_id": outcome.request_id},
        )
    elif outcome.created:
        metrics.add_metric(name="CallbackRequestStored", unit=MetricUnit.Count, value=1)
        logger.info(
            "callback_request_stored",
            extra={"request_id": outcome.request_id, "unverified": outcome.unverified},
        )
        if outcome.unverified:
            count_by_dimension("CallbackRequestUnverified", "reason", outcome.unverified)
        _count_new_area_code(request.phone, outcome.request_id)
    else:
        metrics.add_metric(name="CallbackRequestDuplicate", unit=MetricUnit.Count, value=1)
        logger.info("callback_request_duplicate", extra={"request_id": outcome.request_id})
    return _received(outcome)


def _count_new_area_code(phone: str, request_id: str) -> None:
    """One ``PhoneAreaCodeUnknown`` series: the phone library's data is behind (471 in 2026).

    Which code it was goes to the log line, not to a dimension: a bot cycling the codes the library
    does not know must not add a billed series each. Three digits shared by a region's hundreds of
    thousands of lines: an area code is not personal.
    """
    area_code = new_area_code(phone)
    if area_code is None:
        return
    metrics.add_metric(name="PhoneAreaCodeUnknown", unit=MetricUnit.Count, value=1)
    logger.info("phone_area_code_unknown", extra={"request_id": request_id, "area_code": area_code})


@cache
def _form_script() -> str:
    return resources.files("callbacks").joinpath("static/callback-form.js").read_text(encoding="utf-8")


@router.get("/callback-form.js", **FORM_SCRIPT)
def form_script() -> Response[str]:
    # Each copy carries a fresh render token; a cached copy's token is older, never too fresh.
    return Response(
        status_code=200,
        content_type="text/javascript; charset=utf-8",
        body=_form_script().replace("__RENDER_TOKEN__", new_render_token() or "none"),
        headers={"Cache-Control": "public, max-age=300"},
    )

"""API entry point: ``POST /callback-requests`` (and its CORS preflight), ``GET /callback-form.js``,
and the mark-as-called routes of the staff email's links (contacted.py).

Powertools' REST resolver parses the three content types and validates the body against
``CallbackRequestIn``; the route negotiates the answer (JSON for scripts, 303 for a browser's own
form post) around one logic call, ``register_callback_request``. Every refusal is in http_errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core import deadline
from callbacks.core.observability import count_by_dimension, logger, metrics
from callbacks.core.settings import get_settings, require
from callbacks.handlers.api import contacted
from callbacks.handlers.api import errors as http_errors
from callbacks.handlers.api.errors import JSON, MAX_BODY_BYTES, wants_page
from callbacks.handlers.api.pages import normalized_media_type
from callbacks.logic.registration import Arrival, Registration, register_callback_request
from callbacks.logic.spam import new_render_token
from callbacks.models.api import CallbackRequestReceipt, ErrorBody
from callbacks.models.form import IDEMPOTENCY_KEY_REGEX, CallbackRequestIn
from callbacks.models.phone import new_area_code
from callbacks.models.record import deadline_text, reference

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ("thank_you_url",)
require(*REQUIRED_SETTINGS)

router = Router()


def thank_you_location(thank_you_url: str, request_reference: str) -> str:
    """The thank-you page with the reference (``?ref=``), beside any query the URL already has."""
    parts = urlsplit(thank_you_url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("ref", request_reference)])
    return urlunsplit(parts._replace(query=query))


def _received(outcome: Registration) -> Response[CallbackRequestReceipt | None]:
    if wants_page():
        location = thank_you_location(get_settings().thank_you_url, reference(outcome.request_id))
        return Response(status_code=303, headers={"Location": location}, body=None)
    receipt = CallbackRequestReceipt(
        id=outcome.request_id,
        reference=reference(outcome.request_id),
        call_by=deadline_text(outcome.call_by),
        call_by_text=deadline.call_by_text(outcome.call_by),
    )
    return Response(status_code=201 if outcome.created else 200, content_type=JSON, body=receipt)


@router.post(
    "/callback-requests",
    summary="Ask to be called back",
    description=(
        "Accepts application/json, application/x-www-form-urlencoded and multipart/form-data. "
        "A browser's own form post (Accept prefers text/html) is answered 303 to the thank-you "
        "page, or 422 with an HTML page listing the problems."
    ),
    responses={
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
    tags=["Call-back requests"],
)
def create_callback_request(
    request: Annotated[CallbackRequestIn, Body(description="The call-back request")],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=IDEMPOTENCY_KEY_REGEX,
            description="One per rendered form; a repeat answers 200 with the first request's id",
        ),
    ] = None,
) -> Response[CallbackRequestReceipt | None]:
    event = cast(APIGatewayProxyEvent, router.current_event)
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


@router.get(
    "/callback-form.js",
    summary="The embeddable form's script",
    tags=["Website form"],
    responses={
        200: {
            "description": "The script, with a fresh render token",
            "content": {"text/javascript": {"schema": {"type": "string"}}},
        }
    },
)
def form_script() -> Response[str]:
    # Each copy carries a fresh render token; a cached copy's token is older, never too fresh.
    return Response(
        status_code=200,
        content_type="text/javascript; charset=utf-8",
        body=_form_script().replace("__RENDER_TOKEN__", new_render_token() or "none"),
        headers={"Cache-Control": "public, max-age=300"},
    )


@cache
def cors() -> CORSConfig:
    """CORS for the deployment's allowed origins (each echoed back, never ``*``)."""
    first, *others = get_settings().allowed_origins
    return CORSConfig(
        allow_origin=first, extra_origins=others, allow_headers=["Idempotency-Key", "Accept"], max_age=600
    )


@cache
def resolver() -> APIGatewayRestResolver:
    """The API, built on first use: CORS comes from the settings, which are read then."""
    app = APIGatewayRestResolver(enable_validation=True, cors=cors())
    app.include_router(router)
    app.include_router(contacted.router)
    app.include_router(http_errors.router)
    return app


def _vary_on_origin(response: dict[str, Any]) -> dict[str, Any]:
    # Whether an answer carries Access-Control-Allow-Origin depends on the request's Origin:
    # a cache must not hand one origin's answer to another.
    headers = response.setdefault("multiValueHeaders", {}) if "multiValueHeaders" in response else None
    if headers is not None:
        headers["Vary"] = ["Origin"]
    else:
        response.setdefault("headers", {})["Vary"] = "Origin"
    return response


def _media_type_in_lower_case(event: dict[str, Any]) -> dict[str, Any]:
    # Powertools compares media types case-sensitively; `Application/JSON` is JSON all the same.
    for headers in (event.get("headers"), event.get("multiValueHeaders")):
        for name in [name for name in headers or {} if name.lower() == "content-type"]:
            value = headers[name]  # type: ignore[index]
            headers[name] = (  # type: ignore[index]
                [normalized_media_type(v) for v in value]
                if isinstance(value, list)
                else normalized_media_type(value)
            )
    return event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = http_errors.refusal_before_parsing(event, cors())
    if refusal is not None:
        return _vary_on_origin(refusal)
    return _vary_on_origin(resolver().resolve(_media_type_in_lower_case(event), context))


__all__ = ["lambda_handler", "resolver"]

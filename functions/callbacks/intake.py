"""API entry point: ``POST /callback-requests`` (and its CORS preflight), ``GET /callback-form.js``.

Powertools' REST resolver parses the three content types and validates the body against
``CallbackRequestIn``; this module negotiates the answer (JSON for scripts, 303 or an HTML page for
a browser's own form post) and turns every failure into a clear response in one place.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.models import (
    CallbackRequestIn,
    CallbackRequestReceipt,
    ErrorBody,
    FieldProblem,
    field_problems,
)
from callbacks.observability import logger, metrics
from callbacks.requests import Arrival, new_request_id, register_callback_request
from callbacks.settings import get_settings
from callbacks.store import StorageUnavailableError
from callbacks.web import error_page, prefers_html

MAX_BODY_BYTES = 8 * 1024
RETRY_AFTER_SECONDS = 30
_JSON = "application/json"


class SettingsCORS(CORSConfig):
    """CORS for the deployment's allowed origins, read from the settings on first use."""

    def __init__(self) -> None:
        super().__init__(
            allow_headers=["Idempotency-Key", "Accept"],
            max_age=600,
        )

    @property
    def _allowed_origins(self) -> list[str]:
        return list(get_settings().allowed_origins)

    @_allowed_origins.setter
    def _allowed_origins(self, _: list[str]) -> None:
        """CORSConfig's constructor sets a list; the settings decide instead."""


_CORS = SettingsCORS()
app = APIGatewayRestResolver(enable_validation=True, cors=_CORS)


def _error(status: int, code: str, message: str, problems: list[FieldProblem] | None = None) -> Response[Any]:
    body = ErrorBody(error=code, message=message, errors=problems or [])
    return Response(status_code=status, content_type=_JSON, body=body.model_dump_json())


def _wants_page() -> bool:
    return prefers_html(app.current_event.headers.get("accept"))


def _back_url() -> str | None:
    referer = app.current_event.headers.get("referer") or ""
    return referer if referer.startswith(("https://", "http://")) else None


def _received(request_id: str, created: bool) -> Response[CallbackRequestReceipt | None]:
    if _wants_page():
        return Response(status_code=303, headers={"Location": get_settings().thank_you_url}, body=None)
    receipt = CallbackRequestReceipt(id=request_id)
    return Response(status_code=201 if created else 200, content_type=_JSON, body=receipt)


@app.post(
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
        303: {"description": "Browser form post stored (or duplicate): go to the thank-you page"},
        400: {"description": "Malformed body", "content": {_JSON: {"model": ErrorBody}}},
        403: {"description": "Origin not allowed", "content": {_JSON: {"model": ErrorBody}}},
        413: {"description": "Body larger than 8 KiB", "content": {_JSON: {"model": ErrorBody}}},
        415: {"description": "Unsupported content type", "content": {_JSON: {"model": ErrorBody}}},
        422: {"description": "Invalid fields, each named", "content": {_JSON: {"model": ErrorBody}}},
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
            pattern=r"^[A-Za-z0-9_-]{1,128}$",
            description="One per rendered form; a repeat answers 200 with the first request's id",
        ),
    ] = None,
) -> Response[CallbackRequestReceipt | None]:
    if request.is_spam:
        # Caught by the honeypot: the same answer as a person gets, and nothing stored or sent.
        metrics.add_metric(name="SpamCaught", unit=MetricUnit.Count, value=1)
        logger.info("callback_request_spam", extra={"layer": "honeypot"})
        return _received(new_request_id(), created=True)
    event = app.current_event
    arrival = Arrival(
        ip_address=event.request_context.identity.source_ip,
        correlation_id=event.request_context.request_id,
        received_at=datetime.now(UTC),
    )
    outcome = register_callback_request(request, idempotency_key, arrival, get_settings())
    if outcome.created:
        metrics.add_metric(name="CallbackRequestStored", unit=MetricUnit.Count, value=1)
        logger.info("callback_request_stored", extra={"request_id": outcome.request_id})
    else:
        metrics.add_metric(name="CallbackRequestDuplicate", unit=MetricUnit.Count, value=1)
        logger.info("callback_request_duplicate", extra={"request_id": outcome.request_id})
    return _received(outcome.request_id, outcome.created)


@cache
def _form_script() -> str:
    return resources.files("callbacks").joinpath("static/callback-form.js").read_text(encoding="utf-8")


@app.get("/callback-form.js", summary="The embeddable form's script", tags=["Website form"])
def form_script() -> Response[str]:
    return Response(
        status_code=200,
        content_type="text/javascript; charset=utf-8",
        body=_form_script(),
        headers={"Cache-Control": "public, max-age=300"},
    )


def _rejected(reason: str) -> None:
    metrics.add_metric(name="CallbackRequestRejected", unit=MetricUnit.Count, value=1)
    logger.info("callback_request_rejected", extra={"reason": reason})


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_type(_: RequestUnsupportedContentType) -> Response[Any]:
    _rejected("unsupported_content_type")
    return _error(
        415,
        "unsupported_media_type",
        "Send the request as application/json, application/x-www-form-urlencoded or multipart/form-data.",
    )


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Any]:
    problems = field_problems(list(error.errors()))
    # An error about the body as a whole (bad JSON, a JSON array, a broken multipart body) means
    # this is not an object of fields at all: malformed, not invalid.
    if any(problem.field == "body" for problem in problems):
        return _malformed_body()
    _rejected("invalid_fields")
    logger.info("callback_request_invalid", extra={"fields": [problem.field for problem in problems]})
    if _wants_page():
        return Response(
            status_code=422, content_type="text/html; charset=utf-8", body=error_page(problems, _back_url())
        )
    return _error(422, "invalid_fields", "Some fields need your attention.", problems)


def _malformed_body() -> Response[Any]:
    _rejected("malformed_body")
    return _error(400, "malformed_body", "The request body could not be read.")


@app.exception_handler(ValueError)
def _undecodable(_: ValueError) -> Response[Any]:
    # Undecodable base64, bytes that are not UTF-8, a multipart body without its boundary.
    return _malformed_body()


@app.exception_handler(StorageUnavailableError)
def _storage_unavailable(error: StorageUnavailableError) -> Response[Any]:
    metrics.add_metric(name="StorageUnavailable", unit=MetricUnit.Count, value=1)
    logger.error("storage_unavailable", extra={"error_code": str(error)})
    response = _error(
        503,
        "storage_unavailable",
        "We could not save your request just now. Please try again in a minute, "
        "or call our office at 662-377-6290.",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[Any]:
    # Only the type: an exception's text can carry what the visitor typed.
    logger.error("unexpected_error", extra={"error_type": type(error).__name__})
    return _error(500, "internal_error", "Something went wrong on our side. Please call 662-377-6290.")


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body.rstrip("=")) * 3 // 4
    return len(body.encode("utf-8"))


def _refusal(status: int, code: str, message: str, headers: dict[str, str]) -> dict[str, Any]:
    _rejected(code)
    body = ErrorBody(error=code, message=message).model_dump_json()
    return {"statusCode": status, "headers": {"Content-Type": _JSON, **headers}, "body": body}


def _early_response(event: dict[str, Any]) -> dict[str, Any] | None:
    """Refusals that come before parsing: a foreign browser origin, an oversized body.

    Powertools validates the body before any middleware runs, so these checks sit in front of it.
    """
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    origin = headers.get("origin")
    if origin is not None and origin not in get_settings().allowed_origins:
        return _refusal(403, "origin_not_allowed", "This website may not send call-back requests.", {})
    if event.get("httpMethod") == "POST" and _body_size(event) > MAX_BODY_BYTES:
        # An allowed page's script must be able to read this answer: it carries the CORS headers.
        cors = _CORS.to_dict(origin) if origin else {}
        return _refusal(413, "body_too_large", "The request is larger than 8 KiB.", cors)
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    early = _early_response(event)
    if early is not None:
        return early
    return app.resolve(event, context)


def openapi_document() -> str:
    """The API's OpenAPI document, generated from the routes and models above."""
    schema = app.get_openapi_json_schema(
        title="Call-back requests",
        version="1.0.0",
        summary="Accent Plastic & Reconstructive Surgery: ask to be called back",
    )
    document = json.loads(schema)
    create = document["paths"]["/callback-requests"]["post"]
    # Powertools documents one media type per body; the same fields arrive as forms too.
    content = create["requestBody"]["content"]
    for media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        content[media_type] = content[_JSON]
    receipt = {_JSON: {"schema": {"$ref": "#/components/schemas/CallbackRequestReceipt"}}}
    for status in ("200", "201"):
        create["responses"][status]["content"] = receipt
    create["responses"]["303"].pop("content", None)
    return json.dumps(document, indent=2) + "\n"


__all__ = ["app", "lambda_handler", "openapi_document"]

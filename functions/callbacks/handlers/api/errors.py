"""Every refusal of the API, in one place: the JSON error shape, the HTML page for a browser's own
form post (which never gets JSON), the metric of each refusal by reason, and the checks that must
run before Powertools parses the body (a foreign origin, an oversized body).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from callbacks.core.observability import count_by_dimension, logger, metrics
from callbacks.core.office import OFFICE_PHONE
from callbacks.core.settings import get_settings
from callbacks.handlers.api.pages import error_page, form_back_link, prefers_html, refusal_page
from callbacks.models.api import ErrorBody, FieldProblem, field_problems
from callbacks.models.errors import StorageUnavailableError

# Every valid request fits: 1000 four-byte characters of message, urlencoded, are 12 KB.
MAX_BODY_BYTES = 32 * 1024
RETRY_AFTER_SECONDS = 30
JSON = "application/json"
HTML = "text/html; charset=utf-8"
# API Gateway resources whose requests carry no website Origin rule (the mark-as-called links).
ANY_ORIGIN_RESOURCES = frozenset({"/callback-requests/{id}/contacted"})
_STAFF_LINK_PATH = re.compile(r"^/callback-requests/[^/]+/contacted/?$")

# Exception handlers only; intake.py includes this router beside its routes.
router = Router()


def error_response(
    status: int, code: str, message: str, problems: list[FieldProblem] | None = None
) -> Response[Any]:
    """The refusal as JSON for scripts, or as a small page for a browser's own form post."""
    if wants_page():
        return Response(status_code=status, content_type=HTML, body=refusal_page(message))
    body = ErrorBody(error=code, message=message, errors=problems or [])
    return Response(status_code=status, content_type=JSON, body=body.model_dump_json())


def count_rejection(reason: str) -> None:
    """One ``CallbackRequestRejected`` by ``reason``, so a wall of foreign origins stands out."""
    count_by_dimension("CallbackRequestRejected", "reason", reason)
    logger.info("callback_request_rejected", extra={"reason": reason})


def wants_page() -> bool:
    """Whether this request is a browser's own form post, which gets pages rather than JSON."""
    return prefers_html(router.current_event.headers.get("accept"))


def _form_page() -> str | None:
    """The ``form_page`` field of a plain form post (urlencoded, as browsers send without JavaScript)."""
    event = router.current_event
    content_type = (event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    try:
        values = parse_qs(event.decoded_body or "", max_num_fields=50).get("form_page")
    except ValueError:
        return None
    return values[0] if values else None


def _back_url() -> str | None:
    headers = router.current_event.headers
    host = headers.get("host")
    # The API's own origin, as the browser saw it: a post from a page on it has a whole Referer.
    own = f"{headers.get('x-forwarded-proto') or 'https'}://{host}" if host else None
    return form_back_link(
        headers.get("origin"), headers.get("referer"), _form_page(), get_settings().allowed_origins, own
    )


@router.exception_handler(RequestUnsupportedContentType)
def _unsupported_type(_: RequestUnsupportedContentType) -> Response[Any]:
    count_rejection("unsupported_content_type")
    return error_response(
        415,
        "unsupported_media_type",
        "Send the request as application/json, application/x-www-form-urlencoded or multipart/form-data.",
    )


@router.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Any]:
    problems = field_problems(list(error.errors()))
    # An error about the body as a whole (bad JSON, a JSON array, a broken multipart body) means
    # this is not an object of fields at all: malformed, not invalid.
    if any(problem.field == "body" for problem in problems):
        return _malformed_body()
    count_rejection("invalid_fields")
    logger.info("callback_request_invalid", extra={"fields": [problem.field for problem in problems]})
    if wants_page():
        return Response(status_code=422, content_type=HTML, body=error_page(problems, _back_url()))
    return error_response(422, "invalid_fields", "Some fields need your attention.", problems)


def _malformed_body() -> Response[Any]:
    count_rejection("malformed_body")
    return error_response(400, "malformed_body", "The request body could not be read.")


@router.exception_handler(ValueError)
def _undecodable(_: ValueError) -> Response[Any]:
    # Undecodable base64, bytes that are not UTF-8, a multipart body without its boundary.
    return _malformed_body()


@router.exception_handler(StorageUnavailableError)
def _storage_unavailable(error: StorageUnavailableError) -> Response[Any]:
    metrics.add_metric(name="StorageUnavailable", unit=MetricUnit.Count, value=1)
    logger.error("storage_unavailable", extra={"error_code": str(error)})
    response = error_response(
        503,
        "storage_unavailable",
        "We could not save your request just now. Please try again in a minute, "
        f"or call our office at {OFFICE_PHONE}.",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@router.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[Any]:
    # Only the type: an exception's text can carry what the visitor typed.
    logger.error("unexpected_error", extra={"error_type": type(error).__name__})
    return error_response(
        500, "internal_error", f"Something went wrong on our side. Please call {OFFICE_PHONE}."
    )


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

    Powertools validates the body before any middleware runs, so these checks sit in front of it.
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

"""Every refusal of the API, in one place: the JSON error shape, the HTML page for a browser's own
form post (which never gets JSON), the metric of each refusal by reason, and the exception
handlers that turn the domain's and the gate's errors into answers (the gate, gate.py, refuses a
foreign origin or an oversized body before anything is parsed).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from callbacks.core.observability import count_by_dimension, logger, metrics
from callbacks.core.office import OFFICE_PHONE
from callbacks.core.settings import get_settings
from callbacks.handlers.api.pages import error_page, form_back_link, prefers_html, refusal_page
from callbacks.models.api import ErrorBody, FieldProblem, field_problems
from callbacks.models.errors import StorageUnavailableError

RETRY_AFTER_SECONDS = 30
JSON = "application/json"
HTML = "text/html; charset=utf-8"

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


class UnsupportedMediaTypeError(Exception):
    """The body is of a media type the form never sends (415)."""


class MalformedBodyError(ValueError):
    """The body is not an object of fields at all: bad JSON, a JSON array, a broken multipart (400)."""


class InvalidFieldsError(Exception):
    """Fields the form sent that break its rules (422), each with the message a person reads."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid fields")
        self.problems = field_problems(errors)


@router.exception_handler(UnsupportedMediaTypeError)
def _unsupported_type(_: UnsupportedMediaTypeError) -> Response[Any]:
    count_rejection("unsupported_content_type")
    return error_response(
        415,
        "unsupported_media_type",
        "Send the request as application/json, application/x-www-form-urlencoded or multipart/form-data.",
    )


@router.exception_handler(InvalidFieldsError)
def _invalid(error: InvalidFieldsError) -> Response[Any]:
    problems = error.problems
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
    # Not an object of fields (MalformedBodyError), undecodable base64, bytes that are not UTF-8.
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

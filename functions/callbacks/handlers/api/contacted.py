"""Mark-as-called routes: ``GET`` and ``POST /callback-requests/{id}/contacted?token=...``.

The staff email links here. ``GET`` only shows a page with one button (mail scanners open every
link and must change nothing); the button ``POST``s to the same URL, which marks the request
called. The token is the only authority: no CORS, any ``Origin`` (the page's own) accepted, and
``Cache-Control: no-store`` on every answer.

The resolver must know these routes at a cold start; their pages (contacted_pages.py, with the
follow-up logic) load on the first click instead, since nearly every cold start serves a visitor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import Router

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

router = Router()

_PAGE: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "HTML page", "content": _PAGE},
    400: {"description": "HTML page: the link is incomplete or malformed", "content": _PAGE},
    403: {"description": "HTML page: the token is not valid for this request", "content": _PAGE},
    404: {"description": "HTML page: the request is no longer stored", "content": _PAGE},
    410: {"description": "HTML page: the link has expired", "content": _PAGE},
    503: {"description": "HTML page: try again in a minute", "content": _PAGE},
}


PATH = "/callback-requests/<request_id>/contacted"
# The routes' descriptions, shared with the OpenAPI document (infra/tools/openapi.py).
SHOW: dict[str, Any] = {
    "summary": "The mark-as-called page of a staff email's link (changes nothing)",
    "description": "Shows the request's reference, first name and received time, with one button that "
    "POSTs to this same URL. Safe for mail scanners: a GET never changes the request.",
    "responses": _RESPONSES,
    "tags": ["Staff"],
    "cors": False,
}
MARK: dict[str, Any] = {
    "summary": "Mark a request called (the page's button)",
    "description": "Sets status to contacted with contacted_at, once, by a conditional update. A second "
    "POST answers that it was already marked, and when.",
    "responses": _RESPONSES,
    "tags": ["Staff"],
    "cors": False,
}


def _token() -> str | None:
    """The link's ``token`` query parameter (the first, if it is given twice)."""
    return router.current_event.get_query_string_value("token")


@router.get(PATH, **SHOW)
def show_contacted_page(request_id: str) -> Response[str]:
    from callbacks.handlers.api import contacted_pages  # on the first click, not at a cold start

    return contacted_pages.show(request_id, _token())


@router.post(PATH, **MARK)
def mark_contacted(request_id: str) -> Response[str]:
    from callbacks.handlers.api import contacted_pages  # on the first click, not at a cold start

    return contacted_pages.mark(request_id, _token())

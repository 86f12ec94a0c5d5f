"""API entry point: the form's routes (``POST /callback-requests`` and its CORS preflight, ``GET
/callback-form.js``) and the mark-as-called routes of the staff email's links.

Event in, through the gate (gate.py: origin and size before anything is parsed, ``Vary: Origin``
after), one Powertools resolve of the routes (api/callback_requests.py, api/contacted.py), answer
out. Every refusal is api/errors.py's.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core.observability import logger, metrics
from callbacks.core.settings import get_settings, require
from callbacks.handlers.api import callback_requests, contacted, errors, gate

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ("thank_you_url",)
require(*REQUIRED_SETTINGS)


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
    # No OpenAPI validation on the request path: the routes validate with the form model itself.
    app = APIGatewayRestResolver(cors=cors())
    app.include_router(callback_requests.router)
    app.include_router(contacted.router)
    app.include_router(errors.router)
    return app


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = gate.refusal_before_parsing(event, cors())
    return gate.vary_on_origin(refusal if refusal is not None else resolver().resolve(event, context))


__all__ = ["lambda_handler", "resolver"]

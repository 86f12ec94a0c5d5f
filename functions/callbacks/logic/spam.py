"""Spam defences: silent layers that judge a request without a second DynamoDB call.

- the honeypot (models/form.py): a hidden field people leave empty;
- a render token: the form script carries a token signed when the script was served; a post that
  comes sooner than a person can fill the form, or with a forged or expired token, is caught. A post
  without one (a plain HTML form, an API client) is judged by the other layers alone;
- Cloudflare Turnstile, when the deployment switches it on: a response Cloudflare's siteverify
  refuses is caught. A post without a response (a browser without JavaScript cannot run Turnstile;
  a bot can leave the field out), or one Cloudflare could not judge (siteverify down), is stored and
  alerted, but never as verified: its staff email says it is unverified (docs/api.md, Spam);
- caps, written in the same transaction as the request (store.py): a number of requests per phone
  number a day, and per source address an hour, both kept only as keyed hashes.

A caught request gets the same answer as a stored one and is never emailed.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from callbacks.adapters import signing
from callbacks.core.observability import logger, metrics
from callbacks.core.settings import Settings
from callbacks.models.errors import SecretUnavailableError
from callbacks.models.record import Cap

RENDER_TOKEN_PURPOSE = "render-token"  # noqa: S105 - an HMAC purpose, not a secret


def new_render_token(now: float | None = None) -> str | None:
    """``<issued, ms since epoch>.<signature>``: what the form script carries back with a post.

    None when the secret cannot be read: the script then sends no token, judged by the other layers.
    """
    issued = str(int((time.time() if now is None else now) * 1000))
    try:
        return f"{issued}.{signing.signature(RENDER_TOKEN_PURPOSE, issued)}"
    except SecretUnavailableError as error:
        layers_unavailable(str(error))
        return None


def layers_unavailable(error_type: str) -> None:
    """The secret is out of reach: the token and caps stand aside, and the outage is counted."""
    logger.warning("spam_layers_unavailable", extra={"error_type": error_type})
    metrics.add_metric(name="SpamLayersUnavailable", unit=MetricUnit.Count, value=1)


def judge_render_token(token: str | None, now: float, settings: Settings) -> str | None:
    """The layer that catches ``token`` (forged, expired, too fresh), or None."""
    if not token:
        return None
    issued, _, mac = token.partition(".")
    if not issued.isdigit() or len(issued) > 15 or not signing.is_signed(RENDER_TOKEN_PURPOSE, issued, mac):
        return "render_token_forged"
    age = now - int(issued) / 1000
    if age > settings.render_token_max_age_hours * 3600:
        return "render_token_expired"
    if age < settings.min_fill_seconds:
        return "render_token_too_fresh"
    return None


# What Turnstile made of a post: refused (caught), or why it was not verified (stored, marked).
TurnstileVerdict = Literal["passed", "refused", "no_turnstile_response", "turnstile_unavailable"]


def judge_turnstile(
    response: str | None, ip_address: str | None, settings: Settings
) -> TurnstileVerdict | None:
    """Cloudflare's verdict on ``response``, whatever else the post carries; None when Turnstile is off.

    A missing response is never a pass: it is ``no_turnstile_response``, stored and marked. Any
    failure to ask Cloudflare (the secret unreadable, siteverify down or slow, a bad answer) is
    ``turnstile_unavailable``, stored, marked and counted: a lost patient costs more than a stray bot.
    """
    if not settings.turnstile_secret_parameter:
        return None
    if not response:
        return "no_turnstile_response"
    # Only a deployment with Turnstile on asks Cloudflare: its adapter waits for the first post.
    from callbacks.adapters import turnstile

    try:
        accepted = turnstile.siteverify(
            settings.turnstile_secret_parameter, response, ip_address, settings.turnstile_verify_url
        )
        return "passed" if accepted else "refused"
    except Exception as error:  # the secret, the network, the answer: never the visitor's fault
        logger.warning("turnstile_unavailable", extra={"error_type": type(error).__name__})
        metrics.add_metric(name="TurnstileUnavailable", unit=MetricUnit.Count, value=1)
        return "turnstile_unavailable"


def caps(phone: str, ip_address: str | None, received: datetime, settings: Settings) -> list[Cap]:
    """The counters a new request must fit under: its phone number today, its address this hour."""
    office_day = received.astimezone(ZoneInfo(settings.office_time_zone)).date().isoformat()
    found = [
        Cap(
            "phone_cap",
            f"{signing.signature('phone-cap', phone)}#{office_day}",
            settings.phone_daily_cap,
            2 * 86400,
        )
    ]
    if ip_address:
        hour = received.strftime("%Y-%m-%dT%H")
        found.append(
            Cap(
                "address_cap",
                f"{signing.signature('address-cap', ip_address)}#{hour}",
                settings.address_hourly_cap,
                2 * 3600,
            )
        )
    return found

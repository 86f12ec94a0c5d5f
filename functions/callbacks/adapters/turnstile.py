"""Cloudflare Turnstile's siteverify: the one call outside AWS, made only while Turnstile is on.

Its imports wait for the first call: a deployment with Turnstile off never pays for them.
"""

from __future__ import annotations

from callbacks.adapters import aws

# A visitor is waiting: Cloudflare answers in milliseconds, and an outage must not hold the post.
TIMEOUT_SECONDS = 2.0


def siteverify(secret_parameter: str, response: str, ip_address: str | None, url: str) -> bool:
    """Whether siteverify at ``url`` accepts ``response``; raises when it cannot be asked (the
    secret unreadable, the network, a malformed answer)."""
    import json
    import urllib.parse
    import urllib.request

    fields = {"secret": aws.ssm_parameter(secret_parameter), "response": response}
    if ip_address:
        fields["remoteip"] = ip_address
    request = urllib.request.Request(  # noqa: S310 - the URL is the deployment's setting, https by default
        url, data=urllib.parse.urlencode(fields).encode("ascii"), method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
        verdict = json.loads(answer.read())
    return isinstance(verdict, dict) and verdict.get("success") is True

"""The committed OpenAPI document is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from infra.tools.openapi import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "infra" / "openapi.json"


def test_given_the_routes_and_models_then_the_committed_openapi_document_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document(), "stale: run `make openapi`"


def test_given_the_document_then_it_describes_the_contract() -> None:
    document = json.loads(openapi_document())
    create = document["paths"]["/callback-requests"]["post"]

    assert set(create["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    assert {"200", "201", "303", "400", "403", "413", "415", "422", "429", "503"} <= set(create["responses"])
    fields = document["components"]["schemas"]["CallbackRequestIn"]["properties"]
    assert set(fields) == {
        "name",
        "phone",
        "email",
        "best_time",
        "interest",
        "message",
        "consent",
        "source_url",
        "form_page",
        "website",
        "idempotency_key",
        "render_token",
        "cf-turnstile-response",
    }
    assert [parameter["name"].lower() for parameter in create["parameters"]] == ["idempotency-key"]


def test_given_the_deployed_resolver_then_every_route_it_serves_is_in_the_document() -> None:
    from callbacks.handlers.intake import resolver
    from infra.tools.openapi import documented_api

    def routes(app: object) -> set[tuple[str, str]]:
        return {
            (route.method, route.path)
            for route in app._static_routes + app._dynamic_routes  # type: ignore[attr-defined]
            if route.method != "OPTIONS"
        }

    served = routes(resolver())
    assert served == routes(documented_api())
    assert ("POST", "/callback-requests") in served
    assert ("POST", "/callback-requests/<request_id>/contacted") in served

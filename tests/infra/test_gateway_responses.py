"""API Gateway's own answers (throttled, blocked, too large, timed out, any other 4XX/5XX).

They carry the API's error shape, a sentence a person can read with the office's number, and the
CORS headers that let the form's page read them, so the script can tell the visitor to call.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.provision import resource

OFFICE_NUMBER = "662-377-6290"
# Each type and the status the visitor's browser gets (None: API Gateway's own 4XX/5XX status).
RESPONSE_TYPES = {
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
    "THROTTLED": 429,
    "WAF_FILTERED": 403,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_TIMEOUT": 504,
}


@pytest.fixture(scope="module")
def responses() -> dict[str, Any]:
    found: dict[str, Any] = resource("CallbackApi")["Properties"]["GatewayResponses"]
    return found


def test_given_the_api_then_each_gateway_answer_is_customised(responses: dict[str, Any]) -> None:
    assert set(responses) == set(RESPONSE_TYPES)
    for response_type, status in RESPONSE_TYPES.items():
        assert responses[response_type].get("StatusCode") == status, response_type


@pytest.mark.parametrize("response_type", sorted(RESPONSE_TYPES))
def test_given_a_gateway_answer_then_its_body_has_the_apis_error_shape_and_the_office_number(
    responses: dict[str, Any], response_type: str
) -> None:
    body = json.loads(responses[response_type]["ResponseTemplates"]["application/json"])

    assert set(body) == {"error", "message", "errors"}
    assert body["errors"] == []
    assert body["error"].isidentifier()
    assert body["error"].islower()
    assert OFFICE_NUMBER in body["message"]
    assert body["message"][0].isupper()
    assert body["message"].endswith(".")
    # Gateway templates substitute $context variables: a stray "$" would change the text.
    assert "$" not in responses[response_type]["ResponseTemplates"]["application/json"]


@pytest.mark.parametrize("response_type", sorted(RESPONSE_TYPES))
def test_given_a_gateway_answer_then_the_requesting_page_may_read_it_and_caches_keep_origins_apart(
    responses: dict[str, Any], response_type: str
) -> None:
    headers = responses[response_type]["ResponseParameters"]["Headers"]

    # The request's own Origin (a gateway response cannot check AllowedOrigins): never '*'.
    assert headers["Access-Control-Allow-Origin"] == "method.request.header.Origin"
    assert headers["Vary"] == "'Origin'"
    assert headers["Cache-Control"] == "'no-store'"
    assert "Access-Control-Allow-Credentials" not in headers

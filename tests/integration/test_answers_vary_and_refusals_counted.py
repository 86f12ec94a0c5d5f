"""What caches and dashboards see of every answer: ``Vary: Origin``, and refusals counted by reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import VALID, invoke, json_event, metric_blobs, with_headers

pytestmark = pytest.mark.usefixtures("moto_aws")


def _script_event() -> dict[str, Any]:
    event = copy.deepcopy(load_event("preflight"))
    event.update(httpMethod="GET", path="/callback-form.js", resource="/callback-form.js")
    return with_headers(event, Access_Control_Request_Method=None)


@pytest.mark.parametrize(
    "make_event",
    [
        pytest.param(lambda: json_event(VALID), id="stored"),
        pytest.param(lambda: load_event("preflight"), id="preflight"),
        pytest.param(lambda: json_event(VALID, origin="https://evil.example"), id="foreign-origin"),
        pytest.param(lambda: json_event({**VALID, "message": "x" * 33000}), id="too-large"),
        pytest.param(lambda: json_event({**VALID, "phone": "12"}), id="invalid"),
        pytest.param(_script_event, id="form-script"),
    ],
)
def test_given_any_answer_then_it_varies_on_origin_so_no_cache_hands_it_to_another_site(
    make_event: Any,
) -> None:
    answer = invoke(make_event())

    assert answer.headers.get("vary") == "Origin"


@pytest.mark.parametrize(
    ("make_event", "reason"),
    [
        (lambda: json_event(VALID, origin="https://evil.example"), "origin_not_allowed"),
        (lambda: json_event({**VALID, "phone": "12"}), "invalid_fields"),
        (lambda: json_event({**VALID, "message": "x" * 33000}), "body_too_large"),
    ],
)
def test_given_a_refusal_then_it_is_counted_with_its_reason_and_nothing_the_visitor_typed(
    make_event: Any, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(make_event())

    output = capsys.readouterr().out
    rejected = [blob for blob in metric_blobs(output) if "CallbackRequestRejected" in blob]
    assert len(rejected) == 1
    assert rejected[0]["reason"] == reason
    assert rejected[0]["service"] == "callback-requests"
    dimensions = rejected[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sorted(dimensions[0]) == ["reason", "service"]
    assert "Jane" not in output
    assert "377-6290" not in output

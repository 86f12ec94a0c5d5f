"""The HTTP contract's response table (tests/http_contract.py) over real HTTP, and what only HTTP adds.

Given the local stack (the real intake handler behind the local API Gateway, the stream poller and
the notifier), when a client posts what a row describes, then it gets that row's answer; the same
scenarios run in-process in tests/integration. Over HTTP come on top: API Gateway's throttling
(429) and the email that a refused or caught request never causes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.e2e.conftest import TABLE, HttpClient, RunningStack, wait_for
from tests.http_contract import (
    SCENARIOS,
    Scenario,
    assert_receipt,
    json_body,
    post,
    valid_fields,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tableless_stack(
    start_stack: Callable[..., AbstractContextManager[RunningStack]],
) -> Iterator[RunningStack]:
    with start_stack() as stack:
        stack.aws("dynamodb").delete_table(TableName=TABLE)
        yield stack


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_contract_over_http(scenario: Scenario, request: pytest.FixtureRequest) -> None:
    stack: RunningStack = request.getfixturevalue(
        "tableless_stack" if scenario.storage_down else "local_stack"
    )

    scenario.run(HttpClient(stack))


def test_a_filled_honeypot_is_never_emailed(local_stack: RunningStack) -> None:
    client = HttpClient(local_stack)
    bot_id = assert_receipt(post(client, json_body(valid_fields(website="https://spam.example"))), 201)
    # The stream is delivered in order: once a later real request is emailed, the bot's would have been.
    real_id = assert_receipt(post(client, json_body(valid_fields())), 201)
    wait_for(lambda: local_stack.emails_about(real_id), 20, "the real request's email")

    assert local_stack.emails_about(bot_id) == []


def test_storage_unavailable_emails_nothing(tableless_stack: RunningStack) -> None:
    answer = post(HttpClient(tableless_stack), json_body(valid_fields()))

    assert answer.status == 503
    assert tableless_stack.emails() == []


@pytest.fixture(scope="module")
def throttled_stack(
    start_stack: Callable[..., AbstractContextManager[RunningStack]],
) -> Iterator[RunningStack]:
    with start_stack("--throttle-burst", "2", "--throttle-rate", "0.01") as stack:
        yield stack


def test_requests_beyond_the_burst_are_429(throttled_stack: RunningStack) -> None:
    client = HttpClient(throttled_stack)
    statuses = [post(client, json_body(valid_fields())).status for _ in range(3)]
    throttled = post(client, json_body(valid_fields()))

    assert statuses == [201, 201, 429]
    assert throttled.status == 429
    assert throttled.json() == {"message": "Too Many Requests"}

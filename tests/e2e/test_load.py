"""A burst of posts with double clicks, over real HTTP from several source addresses: nothing
lost, nothing doubled (a small run of `make loadtest`; docs/performance.md has the full run's figures)."""

from __future__ import annotations

import pytest

from infra.tools.loadtest import run_load
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def test_given_a_burst_with_double_clicks_then_every_request_is_stored_and_emailed_once(
    local_stack: RunningStack,
) -> None:
    report = run_load(
        local_stack.api_port,
        local_stack.moto_url,
        local_stack.outbox,
        requests=40,
        concurrency=8,
        doubles=0.1,
        addresses=4,
    )

    assert report.server_errors == 0
    assert report.statuses == {"200": report.double_submissions, "201": 40}
    assert (report.distinct_accepted, report.stored) == (40, 40)
    assert report.doubles_answered_with_the_same_id == report.double_submissions
    assert (report.emails, report.lost, report.doubled) == (40, 0, 0)

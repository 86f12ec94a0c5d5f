"""The local stack's sweep: a request whose stream retries were exhausted is emailed once SES is back.

This is docs/local.md's outage demo, on a stack that gives up after one retry and sweeps every second,
plus the documented on-demand commands (`make sweep`, `make ses-event`) run against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from infra.local.stack import SENDER_EMAIL
from tests.e2e.conftest import ROOT, RunningStack, wait_for
from tests.e2e.test_local_stack import stored_request

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def giving_up_stack(
    start_stack: Callable[..., AbstractContextManager[RunningStack]],
) -> Iterator[RunningStack]:
    flags = ("--stream-max-retries", "1", "--stream-max-backoff", "0.2", "--sweep-interval", "1")
    with start_stack(*flags) as stack:
        yield stack


def invoke(stack: RunningStack, function: str, event_file: str) -> str:
    """``python -m infra.local.invoke`` as `make sweep` / `make ses-event` run it."""
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "infra.local.invoke", function, "--event", (ROOT / event_file).read_text()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={
            **os.environ,
            "API_PORT": str(stack.api_port),
            "MOTO_PORT": moto_port,
            "OUTBOX_DIR": str(stack.outbox),
        },
    )
    return result.stdout


def test_a_request_the_stream_gave_up_on_is_emailed_by_the_sweep_once_ses_is_back(
    giving_up_stack: RunningStack,
) -> None:
    ses = giving_up_stack.aws("ses")
    sender = SENDER_EMAIL
    ses.delete_identity(Identity=sender)

    request_id = stored_request(giving_up_stack)
    wait_for(lambda: "dead-letter: 1 record(s)" in giving_up_stack.console(), 20, "the stream to give up")
    assert giving_up_stack.emails() == []

    ses.verify_email_identity(EmailAddress=sender)
    wait_for(giving_up_stack.emails, 30, "the email, sent by the sweep")
    wait_for(
        lambda: "schedule: StaffAlertSweepFunction: found 1, sent 1" in giving_up_stack.console(),
        10,
        "the sweep's console line",
    )
    swept_again = invoke(giving_up_stack, "StaffAlertSweepFunction", "infra/events/sweep-schedule.json")

    assert json.loads(swept_again.rsplit("StaffAlertSweepFunction: ", 1)[1])["found"] == 0
    assert len(giving_up_stack.emails_about(request_id)) == 1


def test_a_synthetic_bounce_is_counted_by_the_delivery_events_function(giving_up_stack: RunningStack) -> None:
    bounced = invoke(giving_up_stack, "DeliveryEventsFunction", "infra/events/ses-bounce.json")

    assert '"message":"staff_alert_bounce"' in bounced
    assert "office@example.com" not in bounced

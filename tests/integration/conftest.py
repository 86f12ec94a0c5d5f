"""Fixtures of the staff-alert tests (the network is switched off for this suite by tests/conftest.py)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

from callbacks.core import observability
from callbacks.logic import alerting
from infra.provision import Provisioned
from tests.integration.alerts import AwsCalls


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """Each test starts with an alerting memory as empty as a new Lambda process's."""
    alerting.forget_recent_alerts()
    yield
    alerting.forget_recent_alerts()


@pytest.fixture
def aws_calls(moto_aws: Provisioned) -> Iterator[AwsCalls]:
    """Every AWS call the functions' clients make, with its parameters."""
    recorder = AwsCalls()
    recorder.attach()
    yield recorder
    recorder.detach()


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the function prints: log lines (Powertools' handler) and metrics (stdout)."""
    buffer = io.StringIO()
    handler = observability.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield lambda: buffer.getvalue() + capsys.readouterr().out
    handler.setStream(previous)

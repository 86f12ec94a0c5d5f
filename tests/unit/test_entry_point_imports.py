"""What each entry point imports at cold start, held exactly: a stray import (an email renderer in
the intake, the SDK at import time, a layer a deployment has switched off) fails here before it
costs a visitor anything. Counts and names, not timings: `make bench` times them.

To change a list on purpose, run the handler's import and copy what it prints:
    cd functions && python -c "import sys, callbacks.handlers.intake as m; print(sorted(sys.modules))"
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

# Our own modules each entry point loads (without the ``callbacks.`` prefix).
OUR_MODULES = {
    "intake": {
        "adapters",
        "adapters.aws",
        "adapters.signing",
        "adapters.store",
        "core",
        "core.deadline",
        "core.lazy_packages",
        "core.observability",
        "core.office",
        "core.settings",
        "handlers",
        "handlers.api",
        "handlers.api.callback_requests",
        "handlers.api.contacted",
        "handlers.api.errors",
        "handlers.api.gate",
        "handlers.api.pages",
        "handlers.intake",
        "logic",
        "logic.registration",
        "logic.spam",
        "models",
        "models.api",
        "models.choices",
        "models.errors",
        "models.fields",
        "models.form",
        "models.phone",
        "models.record",
    },
    "notify": {
        "adapters",
        "adapters.alert_records",
        "adapters.aws",
        "adapters.ses",
        "adapters.signing",
        "adapters.store",
        "core",
        "core.deadline",
        "core.lazy_packages",
        "core.observability",
        "core.office",
        "core.settings",
        "emails",
        "emails.layout",
        "emails.staff_alert",
        "handlers",
        "handlers.notify",
        "logic",
        "logic.alerting",
        "logic.follow_up",
        "models",
        "models.choices",
        "models.email",
        "models.errors",
        "models.fields",
        "models.form",
        "models.phone",
        "models.record",
    },
    "sweep": {
        "adapters",
        "adapters.alert_records",
        "adapters.aws",
        "adapters.ses",
        "adapters.signing",
        "adapters.store",
        "core",
        "core.deadline",
        "core.lazy_packages",
        "core.observability",
        "core.office",
        "core.settings",
        "emails",
        "emails.layout",
        "emails.staff_alert",
        "handlers",
        "handlers.sweep",
        "logic",
        "logic.alerting",
        "logic.follow_up",
        "models",
        "models.choices",
        "models.email",
        "models.errors",
        "models.fields",
        "models.form",
        "models.phone",
        "models.record",
    },
    "digest": {
        "adapters",
        "adapters.aws",
        "adapters.ses",
        "adapters.signing",
        "adapters.store",
        "core",
        "core.deadline",
        "core.lazy_packages",
        "core.observability",
        "core.office",
        "core.settings",
        "emails",
        "emails.digest",
        "emails.layout",
        "handlers",
        "handlers.digest",
        "handlers.scheduled",
        "logic",
        "logic.follow_up",
        "logic.overdue",
        "models",
        "models.choices",
        "models.email",
        "models.errors",
        "models.fields",
        "models.form",
        "models.phone",
        "models.record",
    },
    "weekly_summary": {
        "adapters",
        "adapters.aws",
        "adapters.ses",
        "adapters.store",
        "core",
        "core.deadline",
        "core.lazy_packages",
        "core.observability",
        "core.office",
        "core.settings",
        "emails",
        "emails.layout",
        "emails.weekly_summary",
        "handlers",
        "handlers.scheduled",
        "handlers.weekly_summary",
        "logic",
        "logic.office_week",
        "models",
        "models.choices",
        "models.email",
        "models.errors",
        "models.fields",
        "models.form",
        "models.phone",
        "models.record",
        "models.week",
    },
    "delivery_events": {
        "adapters",
        "adapters.alert_records",
        "adapters.aws",
        "adapters.ses",
        "adapters.signing",
        "adapters.store",
        "core",
        "core.deadline",
        "core.lazy_packages",
        "core.observability",
        "core.office",
        "core.settings",
        "emails",
        "emails.layout",
        "emails.staff_alert",
        "handlers",
        "handlers.delivery_events",
        "logic",
        "logic.alerting",
        "logic.follow_up",
        "models",
        "models.choices",
        "models.email",
        "models.errors",
        "models.fields",
        "models.form",
        "models.phone",
        "models.record",
    },
}
# The third-party distributions a cold start may load (the SDK, beyond botocore's exceptions,
# waits for the first request; email-validator for the first request that carries an email).
THIRD_PARTY = {
    "annotated_types",
    "aws_lambda_powertools",
    "botocore",
    "jmespath",
    "phonenumbers",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "typing_inspection",
}
# Never at any cold start: the SDK's clients, X-Ray, the holidays library (its table is generated),
# Powertools' OpenAPI validation and parameters (no request path uses them), the Turnstile adapter
# (only a deployment with it on, at its first post).
NEVER = (
    "boto3",
    "aws_xray_sdk",
    "holidays",
    "email_validator",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.utilities.parameters",
    "callbacks.adapters.turnstile",
)
# Never in the intake: Powertools' other resolvers and event classes, which its aggregate packages
# would import (core/lazy_packages.py), and asyncio, which its HTTP resolver brings. (The notifier's
# batch processor imports asyncio and the Kafka events itself.)
NEVER_IN_THE_INTAKE = (
    "asyncio",
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.http_resolver",
    "aws_lambda_powertools.utilities.data_classes.kafka_event",
    "aws_lambda_powertools.utilities.data_classes.s3_event",
)


@cache
def loaded_by(entry_point: str) -> frozenset[str]:
    code = (
        f"import json, sys; import callbacks.handlers.{entry_point}; print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FUNCTIONS, timeout=60
    )
    return frozenset(json.loads(result.stdout))


@pytest.mark.parametrize("entry_point", sorted(OUR_MODULES))
def test_given_an_entry_point_then_it_imports_exactly_its_own_modules(entry_point: str) -> None:
    ours = {
        name.removeprefix("callbacks.") for name in loaded_by(entry_point) if name.startswith("callbacks.")
    }

    assert ours == OUR_MODULES[entry_point]


@pytest.mark.parametrize("entry_point", sorted(OUR_MODULES))
def test_given_an_entry_point_then_it_loads_no_other_library_and_nothing_it_never_needs(
    entry_point: str,
) -> None:
    loaded = loaded_by(entry_point)
    libraries = {name.split(".")[0] for name in loaded if not name.startswith(("callbacks", "_"))} - set(
        sys.stdlib_module_names
    )

    assert libraries <= THIRD_PARTY
    assert not [name for name in loaded if name.startswith(NEVER)]


def test_given_the_intake_then_no_email_or_alert_code_is_loaded() -> None:
    assert not [
        name
        for name in OUR_MODULES["intake"]
        if name.startswith(("emails", "adapters.ses", "logic.alerting"))
    ]


def test_given_the_intake_then_the_mark_as_called_pages_wait_for_a_staff_click() -> None:
    # The routes are known at a cold start; their pages and the follow-up logic are not loaded.
    loaded = loaded_by("intake")

    assert "callbacks.handlers.api.contacted" in loaded
    assert not {"callbacks.handlers.api.contacted_pages", "callbacks.logic.follow_up"} & loaded


def test_given_the_intake_then_only_the_rest_resolver_of_powertools_event_handler_is_loaded() -> None:
    loaded = loaded_by("intake")

    assert "aws_lambda_powertools.event_handler.api_gateway" in loaded
    assert not [name for name in loaded if name.startswith(NEVER_IN_THE_INTAKE)]

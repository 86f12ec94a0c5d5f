"""The one logger and metrics of the package.

Log lines and metrics carry ids and outcomes, never a name, phone number, email address or
message. No X-Ray SDK: Lambda's active tracing records each invocation without it, and the SDK
would add to every cold start.
"""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# The ``service`` of every log line and the dimension of every metric: the stack's name on AWS
# (template.yaml gives POWERTOOLS_SERVICE_NAME: !Ref AWS::StackName), so that two stacks in one
# account, staging beside production, never count in each other's alarms.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "callback-requests"
METRICS_NAMESPACE = "CallbackRequests"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# A preflight or a script download records no metric; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


# Every value a metric dimension may take: a fixed set each, so that no visitor and no bot can
# add a series (CloudWatch bills each one). Anything else is counted as "other".
DIMENSION_VALUES: dict[str, frozenset[str]] = {
    # The spam layer that caught a post (SpamCaught).
    "layer": frozenset(
        {
            "honeypot",
            "render_token_forged",
            "render_token_expired",
            "render_token_too_fresh",
            "turnstile",
            "phone_cap",
            "address_cap",
        }
    ),
    # Why a post was refused (CallbackRequestRejected) or stored unverified (CallbackRequestUnverified).
    "reason": frozenset(
        {
            "origin_not_allowed",
            "body_too_large",
            "unsupported_content_type",
            "malformed_body",
            "invalid_fields",
            "no_turnstile_response",
            "turnstile_unavailable",
        }
    ),
}
OTHER = "other"


def count_by_dimension(name: str, dimension: str, value: str) -> None:
    """One count of ``name`` with its own ``dimension`` (a reason, a layer) beside the service;
    a value outside the dimension's fixed set is counted as ``other``."""
    if value not in DIMENSION_VALUES[dimension]:
        value = OTHER
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)

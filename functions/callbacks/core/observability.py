"""The one logger and metrics of the package.

Log lines and metrics carry ids and outcomes, never a name, phone number, email address or
message. No X-Ray SDK: Lambda's active tracing records each invocation without it, and the SDK
would add to every cold start.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "callback-requests"
METRICS_NAMESPACE = "CallbackRequests"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# A preflight or a script download records no metric; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def count_by_dimension(name: str, dimension: str, value: str) -> None:
    """One count of ``name`` with its own ``dimension`` (a reason, a layer) beside the service."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)

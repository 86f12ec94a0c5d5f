"""The one logger and metrics of the package.

Log lines and metrics carry ids and outcomes, never a name, phone number, email address or
message. No X-Ray SDK: Lambda's active tracing records each invocation without it, and the SDK
would add to every cold start.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

SERVICE = "callback-requests"
METRICS_NAMESPACE = "CallbackRequests"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# A preflight or a script download records no metric; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

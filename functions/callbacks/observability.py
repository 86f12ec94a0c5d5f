"""The one logger and metrics of the package.

Log lines and metrics carry ids and outcomes, never a name, phone number, email address or
message. No X-Ray SDK: Lambda's active tracing records each invocation without it, and the SDK
would add to every cold start.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="callback-requests")
metrics = Metrics(namespace="CallbackRequests", service="callback-requests")

# A preflight or a script download records no metric; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

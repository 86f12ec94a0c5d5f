"""The in-memory AWS (moto's server application) and this process's boto3 pointed at it."""

from __future__ import annotations

import os
from typing import Any

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Variables that would point boto3 somewhere else than the local moto (a profile, a per-service endpoint).
_CLEARED_PREFIXES = ("AWS_ENDPOINT_URL_", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION")


def point_boto3_at(endpoint: str) -> None:
    """Send every boto3 client of this process (functions, poller, provisioning) to ``endpoint``."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            del os.environ[name]
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint


def moto_app() -> Any:
    """moto's server application, as ``moto_server`` serves it: every AWS service, in memory."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)

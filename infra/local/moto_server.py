"""The in-memory AWS: a moto server on 127.0.0.1, provisioned from template.yaml."""

from __future__ import annotations

import logging
import os
import socket

from infra.local.moto_patches import patch_moto

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Variables that would point boto3 somewhere else than the local moto (a profile, a per-service endpoint).
_CLEARED_PREFIXES = ("AWS_ENDPOINT_URL_", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION")


def ensure_port_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    """Fail with a clear message if the port is taken (moto's server would wait for it forever)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SystemExit(f"error: cannot use {host}:{port} for {what}: {error.strerror}") from None


def point_boto3_at(endpoint: str) -> None:
    """Send every boto3 client of this process (functions, poller, provisioning) to ``endpoint``."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            del os.environ[name]
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint


class MotoServer:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        from moto.server import ThreadedMotoServer

        ensure_port_free(port, "moto", host)
        # moto's werkzeug logs every AWS call; the console keeps to the stack's own lines.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)

    def start(self) -> None:
        self._unpatch = patch_moto()
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
        self._unpatch.close()

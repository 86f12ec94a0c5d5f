"""What Lambda hands a function and what API Gateway makes of its answer, built one way for all.

The local stack and the tests call the real handlers with these: the context object, the REST API
proxy event of an HTTP request, and the HTTP response made of the proxy result. The event has the
shape API Gateway (REST API, Lambda proxy) gives a function, so the handler cannot tell the local
stack or a test from the deployed API.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def lambda_context(function_name: str, memory_mb: int = 512, timeout_s: int = 10) -> SimpleNamespace:
    """A fresh context object for one invocation of ``function_name``, its deadline ``timeout_s`` away:
    what the handlers and Powertools read of Lambda's."""
    deadline = time.time() + timeout_s
    return SimpleNamespace(
        function_name=function_name,
        memory_limit_in_mb=memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}",
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: max(0, int((deadline - time.time()) * 1000)),
    )


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    server_port: int

    def header(self, name: str) -> str | None:
        """Its header ``name``, in any case (the last value, as API Gateway's single-value map keeps)."""
        return {key.lower(): value for key, value in self.headers}.get(name.lower())


@dataclass(frozen=True)
class OutgoingResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def is_binary(content_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, _ = media_type.partition("/")
    return any(t in (media_type, f"{main}/*", "*/*") for t in binary_media_types)


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    # API Gateway's single-value map keeps the last value of a repeated name.
    return {name: values[-1] for name, values in multi.items()}, multi


def proxy_event(
    request: IncomingRequest,
    resource: str,
    stage: str,
    binary_media_types: tuple[str, ...],
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway builds for ``request`` on ``resource``."""
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    headers = [
        *request.headers,
        # Headers API Gateway adds in front of every integration.
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(request.server_port)),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"),
    ]
    single_headers, multi_headers = _single_and_multi(headers)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))
    body: str | None = None
    encoded = False
    if request.body:
        if is_binary(request.header("content-type"), binary_media_types):
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
        else:
            # Text bodies reach the function as a string; bytes that are not UTF-8 are replaced.
            body = request.body.decode("utf-8", errors="replace")
    host = request.header("host") or f"127.0.0.1:{request.server_port}"
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": hashlib.sha1(resource.encode(), usedforsecurity=False).hexdigest()[:6],
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": base64.b32encode(uuid.uuid4().bytes).decode()[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("user-agent"),
                "user": None,
                "apiKey": None,
                "apiKeyId": None,
                "clientCert": None,
            },
            "domainName": host,
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})


def proxy_response(result: Any, request_id: str) -> OutgoingResponse:
    """The HTTP response API Gateway makes of a proxy integration's result.

    A malformed result raises ValueError: API Gateway answers it as a failed integration (502).
    """
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise ValueError(f"the function returned a malformed proxy response (request {request_id})")
    headers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
        seen.add(name.lower())
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in seen:
            headers.append((name, str(value)))
    headers = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return OutgoingResponse(status=result["statusCode"], headers=headers, body=body)

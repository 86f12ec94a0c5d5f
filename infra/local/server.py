"""The local API on 127.0.0.1: the template's routes through API Gateway's proxy, plus the demo site.

werkzeug's server (moto's own) speaks HTTP: chunked bodies, ``Expect: 100-continue``, any method.
This module does what API Gateway does between the client and the function: route, throttle, build
the proxy event, and answer for itself in the template's gateway responses.
"""

from __future__ import annotations

import html
import mimetypes
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from infra.local.lambda_events import IncomingRequest, OutgoingResponse, proxy_event, proxy_response
from infra.local.lambdas import LocalFunction
from infra.local.template import ApiRoute, ApiSpec, functions_dir

SITE_DIR = Path(__file__).resolve().parent / "site"
PAGES = {"/": "index.html", "/thank-you": "thank-you.html"}
# API Gateway's payload limit; the function enforces the contract's own, smaller one.
MAX_PAYLOAD = 10 * 1024 * 1024
# The answers API Gateway gives itself that the local API gives, and their status: the template's
# GatewayResponses (of the type, else its DEFAULT_4XX / DEFAULT_5XX) say how.
GATEWAY_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "THROTTLED": 429,
    "REQUEST_TOO_LARGE": 413,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 502,
}
# The very snippet the practice pastes into its site is the demo page's form, so the two cannot drift.
FORM_SNIPPET = functions_dir() / "callbacks" / "static" / "embed-snippet.html"
# The thank-you page's sentence with the request's reference (from ?ref=), left out without one.
REFERENCE_BLOCK = re.compile(rb"[ \t]*<!-- reference:start.*?<!-- reference:end -->\n?", re.DOTALL)
_REFERENCE = re.compile(r"[A-Z0-9]{1,16}")


def assemble_page(body: bytes) -> bytes:
    """A site page with the embeddable form put in, as the practice would paste it."""
    return body.replace(b"{{CALLBACK_FORM}}", FORM_SNIPPET.read_bytes().rstrip(b"\n"))


def show_reference(body: bytes, query: str) -> bytes:
    """The page with its reference sentence filled in from ``?ref=``, or without it."""
    ref = (parse_qs(query).get("ref") or [""])[0]
    if _REFERENCE.fullmatch(ref):  # only a reference, so nothing else lands in the page
        return body.replace(b"{{REFERENCE}}", ref.encode())
    return REFERENCE_BLOCK.sub(b"", body)


class TokenBucket:
    """API Gateway's throttling: a bucket per method, refilled at the rate, holding the burst."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._tokens = rate, float(burst), float(burst)
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one token; False means answer 429."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class Route:
    """One method of one resource of the API: its function, its throttle, the paths it matches."""

    def __init__(self, route: ApiRoute, function: LocalFunction, bucket: TokenBucket) -> None:
        self.method, self.resource, self.function, self.bucket = route.method, route.path, function, bucket
        # Like API Gateway, {name} matches one path segment ({name+} greedy paths are not used).
        self.pattern = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path)))


class LocalApi:
    """The routes, throttles and site of one local API; the HTTP server calls ``respond``."""

    def __init__(
        self, spec: ApiSpec, functions: dict[str, LocalFunction], *, rate: float, burst: int, port: int
    ) -> None:
        self.spec = spec
        self.port = port
        # Method settings "/*" "*" give every method of every resource its own bucket.
        routes = [Route(route, functions[route.function], TokenBucket(rate, burst)) for route in spec.routes]
        # Exact resources first: API Gateway prefers them to templated ones.
        self.routes = sorted(routes, key=lambda route: "{" in route.resource)

    def route_for(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route of ``path`` and its path parameters."""
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match and route.method == method:
                return route, {name: unquote(value) for name, value in match.groupdict().items()}
        return None

    def respond(self, request: IncomingRequest) -> OutgoingResponse:
        found = self.route_for(request.method, request.path)
        if found is not None:
            return self._invoke(*found, request)
        page = self._site_file(request.path) if request.method in ("GET", "HEAD") else None
        if page is not None:
            return self._static(page, request)
        # What API Gateway answers for a path or method it has no route for.
        return self.gateway_answer("MISSING_AUTHENTICATION_TOKEN", request)

    def gateway_answer(self, response_type: str, request: IncomingRequest) -> OutgoingResponse:
        """API Gateway's own answer: the template's GatewayResponse of the type (or its DEFAULT_4XX/5XX)."""
        status = GATEWAY_STATUS[response_type]
        responses = self.spec.gateway_responses
        custom = responses.get(response_type) or responses[f"DEFAULT_{status // 100}XX"]
        headers = [("Content-Type", "application/json")]
        for name, source in custom.get("ResponseParameters", {}).get("Headers", {}).items():
            # A gateway response header maps a static 'value' or a request header, nothing else.
            if source.startswith("method.request.header."):
                if (value := request.header(source.removeprefix("method.request.header."))) is not None:
                    headers.append((name, value))  # left out when the request has none, as API Gateway does
            elif len(source) > 1 and source[0] == source[-1] == "'":
                headers.append((name, source[1:-1]))
            else:
                raise ValueError(f"the local API cannot map {source!r} into the {name} header")
        body = custom.get("ResponseTemplates", {}).get("application/json", "")
        return OutgoingResponse(int(custom.get("StatusCode", status)), headers, body.encode())

    def _invoke(self, route: Route, parameters: dict[str, str], request: IncomingRequest) -> OutgoingResponse:
        if not route.bucket.take():
            return self.gateway_answer("THROTTLED", request)
        event = proxy_event(
            request, route.resource, self.spec.stage, self.spec.binary_media_types, parameters
        )
        request_id = event["requestContext"]["requestId"]
        try:
            return proxy_response(route.function.invoke(event), request_id)
        # A crashed function or a malformed answer is API Gateway's 502, never a dead server.
        except Exception:
            traceback.print_exc()
            print(f"error: {route.function.name} failed (request {request_id})")
            return self.gateway_answer("DEFAULT_5XX", request)

    def _site_file(self, path: str) -> Path | None:
        relative = PAGES.get(path, unquote(path).lstrip("/"))
        # Never a hidden file, nor one outside the site (a ".." part is hidden too).
        if not relative or any(part.startswith(".") for part in Path(relative).parts):
            return None
        page = SITE_DIR / relative
        return page if page.is_file() else None

    def _static(self, page: Path, request: IncomingRequest) -> OutgoingResponse:
        body = page.read_bytes()
        content_type = mimetypes.guess_type(page.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            # The page's own origin when it is one of ours, so that its fetches stay same-origin.
            host = request.header("host")
            ours = host in (f"127.0.0.1:{self.port}", f"localhost:{self.port}")
            api_base = f"http://{host if ours else f'127.0.0.1:{self.port}'}"
            body = assemble_page(body).replace(b"{{API_BASE}}", api_base.encode())
            # The page the form is on, which the form's form_page field carries.
            body = body.replace(b"{{FORM_PAGE}}", html.escape(request.path, quote=True).encode())
            body = show_reference(body, request.query)
            content_type += "; charset=utf-8"
        return OutgoingResponse(200, [("Content-Type", content_type), ("Cache-Control", "no-store")], body)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """The WSGI application: one HTTP request in, API Gateway's answer out, one console line."""
        started = time.monotonic()
        request = Request(environ)
        sent = urlsplit(environ["RAW_URI"])  # the path as sent (werkzeug's PATH_INFO is decoded)
        incoming = IncomingRequest(
            method=request.method,
            path=sent.path,
            query=sent.query,
            headers=environ["local.headers"],
            body=b"",
            source_ip=request.remote_addr or "127.0.0.1",
            server_port=self.port,
        )
        request.max_content_length = MAX_PAYLOAD
        try:
            body = request.get_data()
        except RequestEntityTooLarge:
            answer = self.gateway_answer("REQUEST_TOO_LARGE", incoming)
        except OSError as error:  # a malformed chunk, a client that stalled mid-body
            print(f"http: {request.method} {_printable(sent.path)}: unreadable body ({error})", flush=True)
            answer = self.gateway_answer("DEFAULT_4XX", incoming)
        else:
            answer = self.respond(replace(incoming, body=body))
        # One line per request; never the body or the query string (they may carry a visitor's data).
        ms = round((time.monotonic() - started) * 1000)
        print(f"http: {request.method} {_printable(sent.path)} -> {answer.status} ({ms} ms)", flush=True)
        return Response(answer.body, answer.status, answer.headers)(environ, start_response)


def _printable(text: str) -> str:
    # Request paths are the client's bytes: escape control characters before they reach a terminal.
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


class _Handler(WSGIRequestHandler):
    # A client that stalls mid-request is dropped rather than holding a worker.
    timeout = 15

    def make_environ(self) -> Any:
        environ = super().make_environ()
        # The headers as sent: WSGI's environ loses their case and joins repeated ones.
        environ["local.headers"] = list(self.headers.items())
        return environ

    def log_request(self, *args: Any) -> None:
        """Silenced: the local API prints a line of its own per request, and moto's would drown it."""


class BackgroundServer(ThreadedWSGIServer):
    """A WSGI app served on one address from a thread of its own, bound at once (a taken port fails first)."""

    # SO_REUSEADDR (werkzeug's) only skips TIME_WAIT; SO_REUSEPORT stays off, so a busy port fails loudly.
    # werkzeug listens with a backlog of 128: socketserver's 5 dropped a burst's connections.
    allow_reuse_port = False

    def __init__(self, host: str, port: int, app: Any) -> None:
        super().__init__(host, port, app, handler=_Handler)
        # A short poll interval makes shutdown (Ctrl-C) quick.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # shutdown() waits for serve_forever(): never call it if a failed start never served.
        if self._thread.is_alive():
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()

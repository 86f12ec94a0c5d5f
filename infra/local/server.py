"""The local API on 127.0.0.1: the template's routes through API Gateway's proxy, plus the demo site."""

from __future__ import annotations

import html
import mimetypes
import re
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from infra.local.lambda_events import (
    IncomingRequest,
    OutgoingResponse,
    gateway_error,
    proxy_event,
    proxy_response,
)
from infra.local.lambdas import LocalFunction
from infra.local.template import ApiSpec, gateway_response_headers
from infra.local.throttle import TokenBucket

SITE_DIR = Path(__file__).resolve().parent / "site"
# API Gateway's payload limit; the function enforces the contract's own, smaller one.
MAX_PAYLOAD = 10 * 1024 * 1024
# Pages whose placeholder names the API's origin; the demo pages are served by name.
API_BASE_PLACEHOLDER = b"{{API_BASE}}"
# The path the snippet's form_page field carries: the page the form is on.
FORM_PAGE_PLACEHOLDER = b"{{FORM_PAGE}}"
# The thank-you page shows the request's reference from ?ref= (or leaves its sentence out).
REFERENCE_BLOCK = re.compile(rb"[ \t]*<!-- reference:start.*?<!-- reference:end -->\n?", re.DOTALL)
REFERENCE_PLACEHOLDER = b"{{REFERENCE}}"
_REFERENCE = re.compile(r"[A-Z0-9]{1,16}")
# The demo page includes the very snippet the practice pastes into its site, so the two cannot drift.
FORM_PLACEHOLDER = b"{{CALLBACK_FORM}}"
FORM_SNIPPET = (
    Path(__file__).resolve().parents[2] / "functions" / "callbacks" / "static" / "embed-snippet.html"
)


def show_reference(body: bytes, query: str) -> bytes:
    """The page with its reference sentence filled in from ``?ref=``, or without it."""
    if REFERENCE_PLACEHOLDER not in body:
        return body
    ref = (parse_qs(query).get("ref") or [""])[0]
    if not _REFERENCE.fullmatch(ref):  # only a reference, so nothing else lands in the page
        return REFERENCE_BLOCK.sub(b"", body)
    return body.replace(REFERENCE_PLACEHOLDER, ref.encode())


def assemble_page(body: bytes) -> bytes:
    """A site page with the embeddable form put in, as the practice would paste it."""
    if FORM_PLACEHOLDER in body:
        body = body.replace(FORM_PLACEHOLDER, FORM_SNIPPET.read_bytes().rstrip(b"\n"))
    return body


PAGES = {"/": "index.html", "/thank-you": "thank-you.html"}
MAX_IN_FLIGHT = 32


@dataclass(frozen=True)
class Route:
    resource: str
    function: LocalFunction
    bucket: TokenBucket


def resource_pattern(resource: str) -> re.Pattern[str]:
    """A template path such as ``/callback-requests/{id}/contacted`` as a regex naming its parameters.

    Like API Gateway, ``{name}`` matches one path segment (``{name+}`` greedy paths are not used).
    """
    parts = re.split(r"\{([A-Za-z0-9_]+)\}", resource)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts)
    )
    return re.compile(f"^{pattern}$")


class LocalApi:
    """The routes, throttles and site of one local API; the HTTP server calls ``respond``."""

    def __init__(
        self,
        spec: ApiSpec,
        functions: dict[str, LocalFunction],
        *,
        rate: float,
        burst: int,
        port: int,
        site_dir: Path = SITE_DIR,
    ) -> None:
        self.spec = spec
        self.port = port
        self.site_dir = site_dir.resolve()
        # Method settings "/*" "*" give every method of every resource its own bucket.
        self.routes = {
            (route.method, route.path): Route(route.path, functions[route.function], TokenBucket(rate, burst))
            for route in spec.routes
        }
        self._templates = [
            (method, resource_pattern(path), route)
            for (method, path), route in self.routes.items()
            if "{" in path
        ]

    def route_for(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route of ``path`` (exact resources first, as API Gateway prefers) and its parameters."""
        route = self.routes.get((method, path))
        if route is not None and "{" not in route.resource:
            return route, {}
        for route_method, pattern, templated in self._templates:
            match = pattern.match(path)
            if route_method == method and match:
                return templated, {name: unquote(value) for name, value in match.groupdict().items()}
        return None

    def api_base(self, host: str | None) -> str:
        # The page's own origin when it is one of ours (localhost or 127.0.0.1), so fetches stay same-origin.
        if host in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            return f"http://{host}"
        return f"http://127.0.0.1:{self.port}"

    def respond(self, request: IncomingRequest) -> OutgoingResponse:
        found = self.route_for(request.method, request.path)
        if found is not None:
            return self._invoke(*found, request)
        if request.method in ("GET", "HEAD"):
            page = self._site_file(request.path)
            if page is not None:
                host = {k.lower(): v for k, v in request.headers}.get("host")
                return self._static(page, host, request.path, request.query)
        # What API Gateway answers for a path or method it has no route for.
        return gateway_error(403, "Missing Authentication Token")

    def _invoke(self, route: Route, parameters: dict[str, str], request: IncomingRequest) -> OutgoingResponse:
        if not route.bucket.take():
            return self._throttled(request)
        event = proxy_event(
            request, route.resource, self.spec.stage, self.spec.binary_media_types, parameters
        )
        request_id = event["requestContext"]["requestId"]
        try:
            result = route.function.invoke(event)
        except Exception:  # a crashed function is API Gateway's 502, never a dead server
            traceback.print_exc()
            print(f"error: {route.function.name} raised (request {request_id})")
            return gateway_error(502, "Internal server error")
        return proxy_response(result, request_id)

    def _throttled(self, request: IncomingRequest) -> OutgoingResponse:
        """The template's THROTTLED gateway response (its body and CORS headers), else API Gateway's own."""
        spec = self.spec.gateway_responses.get("THROTTLED")
        if spec is None:
            return gateway_error(429, "Too Many Requests")
        headers = gateway_response_headers(spec, {name.lower(): value for name, value in request.headers})
        headers.insert(0, ("Content-Type", "application/json"))
        return OutgoingResponse(spec.status, headers, spec.body.encode())

    def _site_file(self, path: str) -> Path | None:
        relative = PAGES.get(path, unquote(path).lstrip("/"))
        if not relative or any(part.startswith(".") for part in Path(relative).parts):
            return None
        candidate = (self.site_dir / relative).resolve()
        # Resolved paths outside the site (../, symlinks) are not served.
        if not candidate.is_relative_to(self.site_dir) or not candidate.is_file():
            return None
        return candidate

    def _static(self, page: Path, host: str | None, path: str = "/", query: str = "") -> OutgoingResponse:
        body = page.read_bytes()
        content_type = mimetypes.guess_type(page.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            body = assemble_page(body).replace(API_BASE_PLACEHOLDER, self.api_base(host).encode())
            body = body.replace(FORM_PAGE_PLACEHOLDER, html.escape(path, quote=True).encode())
            body = show_reference(body, query)
            content_type += "; charset=utf-8"
        return OutgoingResponse(200, [("Content-Type", content_type), ("Cache-Control", "no-store")], body)


class _PayloadTooLargeError(Exception):
    """The body is over API Gateway's payload limit."""


def _printable(text: str) -> str:
    # Request paths are the client's bytes: escape control characters before they reach a terminal.
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "local-api-gateway"
    # HTTP/1.1 answers "Expect: 100-continue" (curl sends it for bodies over 1 KiB); every response closes.
    protocol_version = "HTTP/1.1"
    # A client that stalls mid-request is dropped rather than holding a worker.
    timeout = 15

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones) gets what API Gateway answers, never a 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except _PayloadTooLargeError:
            response = gateway_error(413, "Request Too Long")
        except ValueError:  # a Content-Length or chunk size that is not a number
            response = gateway_error(400, "Bad Request")
        except TimeoutError:
            print(f"http: {self.command} {_printable(url.path)}: the client stalled; dropped", flush=True)
            return
        else:
            request = IncomingRequest(
                method=self.command,
                path=url.path,
                query=url.query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                server_port=self.server.server_address[1],
            )
            response = self.server.api.respond(request)
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            print(f"http: {self.command} {_printable(url.path)}: the client hung up early", flush=True)
            return
        # One line per request; never the body or the query string (they may carry a visitor's data).
        ms = round((time.monotonic() - started) * 1000)
        print(f"http: {self.command} {_printable(url.path)} -> {response.status} ({ms} ms)", flush=True)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                size += length
                if size > MAX_PAYLOAD:
                    raise _PayloadTooLargeError
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD:
            raise _PayloadTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: OutgoingResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: ``_handle`` prints one line of its own per request."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: socketserver's default of 5 drops the SYNs of a burst (25 browsers at
    # once), and each dropped client waits out TCP's 1 s, 3 s, 7 s retransmits.
    request_queue_size = 128
    # SO_REUSEADDR (inherited) only skips TIME_WAIT; SO_REUSEPORT stays off, so a busy port fails loudly.
    allow_reuse_port = False

    def __init__(self, port: int, api: LocalApi) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.api = api
        # Bounded load: beyond this many requests in flight, new connections wait in the backlog.
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class ApiServer:
    """The HTTP server on 127.0.0.1, serving in a thread of its own."""

    def __init__(self, api: LocalApi) -> None:
        self._server = _Server(api.port, api)
        # A short poll interval makes shutdown (Ctrl-C) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="local-api", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # shutdown() waits for serve_forever(): never call it if a failed start never served.
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

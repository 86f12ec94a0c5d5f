"""The HTTP contract's response table as one list of scenarios, run over two transports.

Each scenario posts what a row of DESIGN.md's response table describes and checks what a client
of the API would notice: status, headers, body, and whether a request was stored. The integration
suite runs them in-process (the local stack's API adapter, the real handler, moto in-process); the
e2e suite runs the same list over real HTTP against ``python -m infra.local``.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

PATH = "/callback-requests"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
_numbers = itertools.count(random.SystemRandom().randrange(0, 9000, 10))


@dataclass(frozen=True)
class Answer:
    """An HTTP response as a test reads it: header names in lower case, the body as bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Answer:
        joined: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        return cls(status, joined, body)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class ContractClient(ABC):
    """What a scenario needs of a transport: send a request, see the stored requests."""

    origins: tuple[str, ...]  # the origins the deployment allows
    thank_you_url: str

    @property
    def origin(self) -> str:
        return self.origins[0]

    @abstractmethod
    def send(self, method: str, headers: dict[str, str], body: bytes = b"", path: str = PATH) -> Answer:
        """One request to the API."""

    @abstractmethod
    def requests(self) -> list[dict[str, Any]]:
        """Every stored request item (``request#...``), as DynamoDB returns it."""


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[ContractClient], None]
    storage_down: bool = False  # run against a deployment whose table is gone


SCENARIOS: list[Scenario] = []


def scenario(run: Callable[[ContractClient], None]) -> Callable[[ContractClient], None]:
    SCENARIOS.append(Scenario(run.__name__, run))
    return run


# --- requests ----------------------------------------------------------------------------------


def new_phone() -> str:
    """A valid number no other scenario uses (dedupe keys on the phone), as a visitor types it."""
    number = next(_numbers) % 10_000
    return f"(601) 326-{number:04d}"


def e164(phone: str) -> str:
    return "+1" + re.sub(r"\D", "", phone)[-10:]


def valid_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Jane Doe",
        "phone": new_phone(),
        "email": "jane@example.com",
        "best_time": "morning",
        "interest": "scars-burns",
        "message": f"How long is the redness after the laser? {uuid.uuid4().hex[:8]}",
        "consent": True,
    }
    fields.update(overrides)
    return fields


def form_fields(fields: dict[str, Any]) -> dict[str, str]:
    """Form values as a browser sends them: a checked box is ``on``, an unchecked one is absent."""
    return {
        key: ("on" if value is True else str(value)) for key, value in fields.items() if value is not False
    }


def json_body(fields: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(fields).encode(), "application/json"


def form_body(fields: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode(form_fields(fields)).encode(), "application/x-www-form-urlencoded"


def multipart_body(
    fields: dict[str, Any], boundary: str = "----formdata-7MA4YWxkTrZu0gW"
) -> tuple[bytes, str]:
    """What ``fetch`` sends with a ``FormData`` body."""
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in form_fields(fields).items()
    )
    return f"{parts}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(
    client: ContractClient,
    encoded: tuple[bytes, str],
    *,
    accept: str = "application/json",
    origin: str | None = None,
    **headers: str,
) -> Answer:
    body, content_type = encoded
    sent = {"Content-Type": content_type, "Accept": accept}
    if origin is not None:
        sent["Origin"] = origin
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return client.send("POST", sent, body)


def stored_with_phone(client: ContractClient, phone: str) -> list[dict[str, Any]]:
    return [item for item in client.requests() if item.get("phone", {}).get("S") == e164(phone)]


# --- what a client sees ------------------------------------------------------------------------


def assert_receipt(answer: Answer, status: int) -> str:
    assert answer.status == status, answer.text
    assert answer.header("content-type").startswith("application/json")
    body = answer.json()
    assert body["status"] == "received"
    assert isinstance(body["id"], str)
    assert body["id"]
    return body["id"]


def assert_error(answer: Answer, status: int, error: str) -> dict[str, Any]:
    assert answer.status == status, answer.text
    assert answer.header("content-type").startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert body["error"] == error
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "Traceback" not in answer.text
    assert "botocore" not in answer.text
    return body


def assert_no_cors(answer: Answer) -> None:
    assert not [name for name in answer.headers if name.startswith("access-control-")]


# --- new request stored: 201 -------------------------------------------------------------------


def _stored_201(encode: Callable[[dict[str, Any]], tuple[bytes, str]], accept: str) -> Scenario:
    def run(client: ContractClient) -> None:
        fields = valid_fields()

        answer = post(client, encode(fields), accept=accept, origin=client.origin)

        request_id = assert_receipt(answer, 201)
        assert answer.header("access-control-allow-origin") == client.origin
        assert [item["id"]["S"] for item in stored_with_phone(client, fields["phone"])] == [request_id]

    kind = encode.__name__.removesuffix("_body")
    return Scenario(f"new_{kind}_request_is_stored_201_with_an_id", run)


SCENARIOS += [
    _stored_201(json_body, "application/json"),
    _stored_201(form_body, "application/json"),
    _stored_201(multipart_body, "*/*"),  # fetch's default Accept
]


@scenario
def no_origin_header_is_an_api_client_and_is_served(client: ContractClient) -> None:
    assert_receipt(post(client, json_body(valid_fields())), 201)


# --- duplicates: 200 with the same id ----------------------------------------------------------


def _key() -> str:
    return f"form-{uuid.uuid4().hex}"


@scenario
def same_idempotency_key_and_content_is_a_duplicate_200_and_corrected_content_a_new_201(
    client: ContractClient,
) -> None:
    key, fields = _key(), valid_fields()

    first = post(client, json_body(fields), Idempotency_Key=key)
    retry = post(client, json_body(fields), Idempotency_Key=key)
    corrected = post(client, json_body({**fields, "message": "changed my mind"}), Idempotency_Key=key)

    first_id = assert_receipt(first, 201)
    assert assert_receipt(retry, 200) == first_id
    assert assert_receipt(corrected, 201) != first_id
    assert len(stored_with_phone(client, fields["phone"])) == 2


@scenario
def same_idempotency_key_with_a_corrected_phone_is_a_new_request(client: ContractClient) -> None:
    key, typo, fields = _key(), valid_fields(), valid_fields()

    first = post(client, json_body({**fields, "phone": typo["phone"]}), Idempotency_Key=key)
    corrected = post(client, json_body(fields), Idempotency_Key=key)

    assert assert_receipt(corrected, 201) != assert_receipt(first, 201)
    assert len(stored_with_phone(client, typo["phone"])) == 1
    assert len(stored_with_phone(client, fields["phone"])) == 1


@scenario
def same_idempotency_key_with_only_the_email_corrected_is_stored_though_the_fingerprint_matches(
    client: ContractClient,
) -> None:
    key, fields = _key(), valid_fields()
    post(client, json_body({**fields, "email": "jane@exmaple.com"}), Idempotency_Key=key)

    corrected = post(client, json_body(fields), Idempotency_Key=key)

    assert_receipt(corrected, 201)
    emails = sorted(item["email"]["S"] for item in stored_with_phone(client, fields["phone"]))
    assert emails == ["jane@example.com", "jane@exmaple.com"]


@scenario
def two_tabs_with_different_keys_and_the_same_content_are_a_duplicate_200(client: ContractClient) -> None:
    fields = valid_fields()

    first = post(client, json_body(fields), Idempotency_Key=_key())
    second = post(client, json_body(fields), Idempotency_Key=_key())

    assert assert_receipt(second, 200) == assert_receipt(first, 201)


@scenario
def same_idempotency_key_form_field_and_content_is_a_duplicate_200(client: ContractClient) -> None:
    fields = valid_fields(idempotency_key=_key())

    first = post(client, form_body(fields))
    retry = post(client, multipart_body(fields))
    changed = post(client, multipart_body({**fields, "message": "other"}))

    first_id = assert_receipt(first, 201)
    assert assert_receipt(retry, 200) == first_id
    assert assert_receipt(changed, 201) != first_id


@scenario
def same_phone_name_interest_and_message_without_a_key_is_a_duplicate_200(client: ContractClient) -> None:
    fields = valid_fields()
    first = post(client, json_body(fields))
    # Another notation of the same number, the name in other case and spacing: the same request.
    dotted = ".".join(re.findall(r"\d+", fields["phone"]))
    again = post(
        client, json_body({**fields, "phone": dotted, "name": "  jane  DOE ", "best_time": "evening"})
    )

    assert assert_receipt(again, 200) == assert_receipt(first, 201)
    assert len(stored_with_phone(client, fields["phone"])) == 1


# --- plain HTML form posts ---------------------------------------------------------------------


@scenario
def browser_form_post_is_redirected_303_to_the_thank_you_page(client: ContractClient) -> None:
    fields = valid_fields()

    answer = post(client, form_body(fields), accept=BROWSER_ACCEPT, origin=client.origin)

    assert answer.status == 303
    assert answer.header("location") == client.thank_you_url
    assert len(stored_with_phone(client, fields["phone"])) == 1


@scenario
def browser_form_post_of_a_duplicate_is_also_303(client: ContractClient) -> None:
    fields = valid_fields()
    post(client, form_body(fields), accept=BROWSER_ACCEPT, origin=client.origin)

    answer = post(client, form_body(fields), accept=BROWSER_ACCEPT, origin=client.origin)

    assert answer.status == 303
    assert answer.header("location") == client.thank_you_url


@scenario
def invalid_browser_form_post_gets_a_422_html_page_listing_each_problem(client: ContractClient) -> None:
    page_url = f"{client.origin}/fractional-co2-laser-resurfacing/"
    before = len(client.requests())

    answer = post(
        client,
        form_body({"name": "<b>Bob</b>", "phone": "12", "consent": False}),
        accept=BROWSER_ACCEPT,
        origin=client.origin,
        Referer=page_url,
    )

    assert answer.status == 422
    assert answer.header("content-type").startswith("text/html")
    page = answer.text
    assert '<html lang="en">' in page
    assert "<li><strong>Name:</strong>" in page
    assert "<li><strong>Phone:</strong> Please enter a 10-digit US phone number" in page
    assert "<li><strong>Consent:</strong>" in page
    assert "<b>Bob</b>" not in page
    assert f'href="{page_url}"' in page
    assert len(client.requests()) == before


# --- honeypot ----------------------------------------------------------------------------------


def _honeypot(accept: str, kind: str) -> Scenario:
    def run(client: ContractClient) -> None:
        real_fields = valid_fields()
        bot_fields = valid_fields(website="http://cheap-pills.example")
        real = post(client, form_body(real_fields), accept=accept, origin=client.origin)

        bot = post(client, form_body(bot_fields), accept=accept, origin=client.origin)

        assert bot.status == real.status
        assert bot.header("location") == real.header("location")
        if accept == "application/json":
            assert set(bot.json()) == {"id", "status"}
            assert bot.json()["id"] != real.json()["id"]
        assert stored_with_phone(client, bot_fields["phone"]) == []
        assert len(stored_with_phone(client, real_fields["phone"])) == 1

    return Scenario(f"filled_honeypot_looks_like_success_to_a_{kind}_and_nothing_is_stored", run)


SCENARIOS += [_honeypot("application/json", "script"), _honeypot(BROWSER_ACCEPT, "browser")]


@scenario
def filled_honeypot_with_garbage_fields_is_still_a_quiet_success(client: ContractClient) -> None:
    assert_receipt(post(client, json_body({"website": "x", "phone": "nonsense"})), 201)


# --- malformed bodies: 400 ---------------------------------------------------------------------

_MALFORMED = {
    "truncated_json": (b'{"name": "Jane", ', "application/json"),
    "json_array": (b"[1, 2, 3]", "application/json"),
    "json_string": (b'"just a string"', "application/json"),
    "multipart_without_boundary": (
        b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nJane\r\n--x--\r\n',
        "multipart/form-data",
    ),
    "empty_multipart_without_boundary": (b"--x\r\n\r\n", "multipart/form-data"),
}


def _malformed(kind: str, encoded: tuple[bytes, str]) -> Scenario:
    def run(client: ContractClient) -> None:
        assert_error(post(client, encoded), 400, "malformed_body")

    return Scenario(f"malformed_body_{kind}_is_400_json_and_never_a_crash", run)


SCENARIOS += [_malformed(kind, encoded) for kind, encoded in _MALFORMED.items()]


# --- size and type -----------------------------------------------------------------------------


@scenario
def body_over_32_kib_is_413_with_cors_headers(client: ContractClient) -> None:
    answer = post(client, json_body(valid_fields(message="a" * 33000)), origin=client.origin)

    assert_error(answer, 413, "body_too_large")
    assert answer.header("access-control-allow-origin") == client.origin


@scenario
def body_of_exactly_32_kib_is_read(client: ContractClient) -> None:
    body = json.dumps(valid_fields(message=""))
    body = body[:-1] + " " * (32 * 1024 - len(body)) + "}"

    assert_receipt(post(client, (body.encode(), "application/json")), 201)


def _unsupported(content_type: str) -> Scenario:
    def run(client: ContractClient) -> None:
        body = assert_error(post(client, (b"name=Jane", content_type)), 415, "unsupported_media_type")
        assert "application/json" in body["message"]

    return Scenario(f"content_type_{content_type.replace('/', '_')}_is_415", run)


SCENARIOS += [_unsupported(content_type) for content_type in ("text/plain", "application/xml", "image/png")]


# --- invalid fields: 422 JSON ------------------------------------------------------------------


@scenario
def several_invalid_fields_are_422_naming_each_with_a_readable_message(client: ContractClient) -> None:
    fields = {
        "name": "R2-D2",
        "phone": "555-1234",
        "email": "not-an-email",
        "best_time": "midnight",
        "interest": "botox",
        "message": "x" * 1001,
        "consent": False,
        "source_url": "javascript:alert(1)",
    }

    body = assert_error(post(client, json_body(fields), Idempotency_Key="bad key!"), 422, "invalid_fields")

    problems = {problem["field"]: problem["message"] for problem in body["errors"]}
    assert set(problems) == {*fields, "idempotency_key"}
    assert problems["phone"].startswith("Please enter a 10-digit US phone number")
    for message in problems.values():
        assert message.endswith(".")
        assert " " in message
        assert "pydantic" not in message.lower()
        assert "Input should" not in message


@scenario
def required_fields_missing_are_422_naming_each(client: ContractClient) -> None:
    body = assert_error(post(client, json_body({})), 422, "invalid_fields")

    assert {problem["field"] for problem in body["errors"]} == {"name", "phone", "consent"}


@scenario
def json_values_of_the_wrong_type_are_422_not_a_crash(client: ContractClient) -> None:
    fields = {"name": {"first": "Jane"}, "phone": 6623776290, "consent": "yes", "message": {"a": 1}}

    body = assert_error(post(client, json_body(fields)), 422, "invalid_fields")

    assert {problem["field"] for problem in body["errors"]} == {"name", "phone", "message"}


# --- origins and CORS --------------------------------------------------------------------------


@scenario
def post_from_an_origin_not_allowed_is_403_without_cors_headers(client: ContractClient) -> None:
    fields = valid_fields()

    answer = post(client, json_body(fields), origin="https://evil.example")

    assert answer.status == 403
    assert_no_cors(answer)
    assert stored_with_phone(client, fields["phone"]) == []


def _preflight(client: ContractClient, origin: str) -> Answer:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key",
    }
    return client.send("OPTIONS", headers)


@scenario
def preflight_from_each_allowed_origin_allows_post_with_its_headers(client: ContractClient) -> None:
    for origin in client.origins:
        answer = _preflight(client, origin)

        assert answer.status == 204
        assert answer.header("access-control-allow-origin") == origin
        assert "POST" in answer.header("access-control-allow-methods")
        allowed = answer.header("access-control-allow-headers").lower()
        assert "content-type" in allowed
        assert "idempotency-key" in allowed
        assert int(answer.header("access-control-max-age", "0")) > 0


@scenario
def preflight_from_another_origin_is_403_without_cors_headers(client: ContractClient) -> None:
    answer = _preflight(client, "https://evil.example")

    assert answer.status == 403
    assert_no_cors(answer)


# --- storage unavailable: 503 ------------------------------------------------------------------


def _storage_unavailable(client: ContractClient) -> None:
    answer = post(client, json_body(valid_fields()))

    assert_error(answer, 503, "storage_unavailable")
    assert int(answer.header("retry-after", "0")) > 0
    assert "ResourceNotFound" not in answer.text
    assert "arn:" not in answer.text


SCENARIOS.append(
    Scenario("table_gone_is_503_with_retry_after_and_no_aws_error_text", _storage_unavailable, True)
)

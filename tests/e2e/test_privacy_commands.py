"""docs/privacy.md's commands, run as written against the local stack: export, forget, spam."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import HttpClient, RunningStack
from tests.http_contract import assert_receipt, e164, json_body, new_phone, post, valid_fields

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def make(stack: RunningStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    port = stack.moto_url.rsplit(":", 1)[1]
    return subprocess.run(
        ["make", "-s", *arguments, f"MOTO_PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def exported(stack: RunningStack, **who: str) -> dict[str, Any]:
    result = make(stack, "export", *(f"{key.upper()}={value}" for key, value in who.items()))
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_make_export_and_forget_find_and_erase_one_visitor(local_stack: RunningStack) -> None:
    # Given a visitor's request and honeypot catch on the running local stack
    client = HttpClient(local_stack)
    phone = new_phone()
    sent = post(client, json_body(valid_fields(phone=phone, email="zoe@example.com")))
    request_id = assert_receipt(sent, 201)
    caught = post(client, json_body(valid_fields(phone=phone, website="autofilled"))).json()["id"]

    # When exported by the number as the visitor says it, or by the address
    by_phone = exported(local_stack, phone=phone.replace("(", "").replace(") ", "."))
    by_email = exported(local_stack, email="ZOE@example.com")

    # Then both find the request and the catch
    assert [r["id"] for r in by_phone["requests"]] == [request_id]
    assert by_phone["requests"][0]["phone"] == e164(phone)
    assert [c["id"] for c in by_phone["honeypot_catches"]] == [caught]
    assert [r["id"] for r in by_email["requests"]] == [request_id]
    spam = make(local_stack, "spam")
    assert caught in spam.stdout

    # When forgotten (YES=1 for a script), then nothing of theirs is left, and the output says
    # which alert to purge from the mailboxes
    forgotten = make(local_stack, "forget", f"PHONE={phone}", "YES=1")
    assert forgotten.returncode == 0, forgotten.stderr
    assert f"Call-back request {request_id.replace('-', '')[:8].upper()}" in forgotten.stdout
    assert exported(local_stack, phone=phone)["requests"] == []
    assert exported(local_stack, phone=phone)["honeypot_catches"] == []


def test_make_export_with_a_number_that_is_not_one_says_so(local_stack: RunningStack) -> None:
    result = make(local_stack, "export", "PHONE=555-1234")

    assert result.returncode != 0
    assert "Please enter a 10-digit US phone number" in result.stderr

"""One visitor's data on request: find it, export it, erase it; and look at the honeypot's catches.

    make export PHONE='(662) 377-6290'        # or EMAIL=jane@example.com; prints JSON
    make forget PHONE='(662) 377-6290'        # lists, asks, erases; YES=1 skips the question
    make spam                                 # the honeypot's catches of the last 7 days
    ... STACK=<name>                          # a deployed stack instead of the local one

Against the local stack of ``make run`` by default (moto on http://127.0.0.1:$MOTO_PORT, 5000
unless set), or a deployed stack by name (its ``TableName`` output, with the caller's AWS
credentials). The phone number is normalised exactly as the intake does (the form model's own
function), the email as the intake does and then lower-cased; both are looked up through the
table's sparse ``by-phone`` / ``by-email`` indexes, never a scan.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))

from callbacks.adapters.store import REQUEST_PREFIX, SPAM_PREFIX, email_key, request_from_image  # noqa: E402
from callbacks.logic.registration import content_fingerprint  # noqa: E402
from callbacks.models.form import normalised_email  # noqa: E402
from callbacks.models.phone import normalised_phone  # noqa: E402
from callbacks.models.record import reference  # noqa: E402

LOCAL_TABLE = "callback-requests"  # the local stack's (infra/local/stack.py TABLE_NAME)
LOCAL_REGION = "us-east-1"
SPAM_DAYS = 7
_BATCH = 100  # BatchGetItem's limit
_deserializer = TypeDeserializer()


class PrivacyToolError(Exception):
    """Something the operator must fix (a number that is not one, a stack without a table)."""


@dataclass(frozen=True)
class Target:
    """The table to work on, and where it is (for the messages)."""

    client: Any
    table: str
    where: str


def local_target(endpoint: str | None = None, table: str | None = None) -> Target:
    url = endpoint or f"http://127.0.0.1:{os.environ.get('MOTO_PORT') or 5000}"
    # moto takes any credentials; these keep the caller's real ones away from the local stack.
    session = boto3.session.Session(
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - not a secret: moto's placeholder
        region_name=LOCAL_REGION,
    )
    return Target(
        session.client("dynamodb", endpoint_url=url), table or LOCAL_TABLE, f"the local stack at {url}"
    )


def stack_target(stack: str, session: Any = None) -> Target:
    """A deployed stack's table, from its ``TableName`` output."""
    session = session or boto3.session.Session()
    stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    if "TableName" not in outputs:
        raise PrivacyToolError(f"stack {stack} has no TableName output")
    return Target(session.client("dynamodb"), outputs["TableName"], f"stack {stack}")


def lookup(phone: str | None, email: str | None) -> tuple[str, str, str]:
    """(index, key attribute, value) for a phone number or an email address, normalised as stored."""
    if bool(phone) == bool(email):
        raise PrivacyToolError("give exactly one of PHONE=... or EMAIL=...")
    try:
        if phone:
            return "by-phone", "phone", normalised_phone(phone)
        return "by-email", "email_key", email_key(normalised_email(str(email).strip()))
    except ValueError as error:
        raise PrivacyToolError(str(error)) from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(item) for item in value]
    return value


def _items(client: Any, table: str, keys: list[str]) -> list[dict[str, Any]]:
    """The items of ``keys`` (pk values), read in batches; unprocessed keys are asked again."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), _BATCH):
        pending: dict[str, Any] = {
            table: {"Keys": [{"pk": {"S": pk}} for pk in keys[start : start + _BATCH]]}
        }
        while pending:
            answer = client.batch_get_item(RequestItems=pending)
            found += answer["Responses"].get(table, [])
            pending = answer.get("UnprocessedKeys") or {}
    items = [{key: _plain(_deserializer.deserialize(value)) for key, value in item.items()} for item in found]
    return sorted(items, key=lambda item: (str(item.get("created_at", "")), item["pk"]))


def _query_keys(client: Any, table: str, index: str, condition: str, values: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for page in client.get_paginator("query").paginate(
        TableName=table, IndexName=index, KeyConditionExpression=condition, ExpressionAttributeValues=values
    ):
        keys += [item["pk"]["S"] for item in page["Items"]]
    return keys


def find(target: Target, phone: str | None = None, email: str | None = None) -> list[dict[str, Any]]:
    """Every request and honeypot catch of one visitor, oldest first."""
    index, attribute, value = lookup(phone, email)
    keys = _query_keys(target.client, target.table, index, f"{attribute} = :v", {":v": {"S": value}})
    return [item for item in _items(target.client, target.table, keys) if _kind(item) is not None]


def _kind(item: dict[str, Any]) -> str | None:
    pk = str(item["pk"])
    return (
        "request"
        if pk.startswith(REQUEST_PREFIX)
        else "honeypot_catch"
        if pk.startswith(SPAM_PREFIX)
        else None
    )


def export_document(items: list[dict[str, Any]], found_by: str) -> dict[str, Any]:
    """What is held about the visitor, item by item, as stored (plus each request's reference)."""
    return {
        "found_by": found_by,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests": [{"reference": reference(str(i["id"])), **i} for i in items if _kind(i) == "request"],
        "honeypot_catches": [i for i in items if _kind(i) == "honeypot_catch"],
    }


def _summary(item: dict[str, Any]) -> str:
    emailed = f"emailed {item['notified_at']}" if item.get("notified_at") else "not emailed (yet)"
    kind = "request" if _kind(item) == "request" else "honeypot catch, never emailed"
    detail = emailed if _kind(item) == "request" else kind
    return f"  {reference(str(item['id']))}  {item['id']}  received {item['created_at']}  ({detail})"


def forget(
    target: Target,
    items: list[dict[str, Any]],
    *,
    yes: bool,
    ask: Callable[[str], str] = input,
    say: Callable[[str], None] = print,
) -> list[str]:
    """Erase ``items`` (and the dedupe marker of each request) after asking; the ids erased."""
    if not items:
        say(f"Nothing found in {target.where}: nothing to erase.")
        return []
    say(f"Found in {target.where} ({target.table}):")
    for item in items:
        say(_summary(item))
    if not yes and ask(f"Erase these {len(items)} item(s) for good? Type yes: ").strip().lower() != "yes":
        say("Nothing erased.")
        return []
    erased = []
    for item in items:
        target.client.delete_item(TableName=target.table, Key={"pk": {"S": str(item["pk"])}})
        erased.append(str(item["id"]))
        if _kind(item) == "request":
            _forget_markers(target, item)
    emailed = [item for item in items if _kind(item) == "request"]
    say(f"Erased {len(erased)} item(s).")
    if emailed:
        say("Now delete the staff alerts from every office mailbox (and its trash). Their subjects:")
        for item in emailed:
            say(f"  Call-back request {reference(str(item['id']))} - ...   (request id {item['id']})")
    say(
        "Still holding a copy: the table's point-in-time recovery backups for up to 35 days, and any "
        "mailbox or device the alerts reached. CloudWatch logs hold request ids only."
    )
    return erased


def _forget_markers(target: Target, item: dict[str, Any]) -> None:
    """The request's dedupe markers, while they still point at it (they expire within a day).

    The duplicate marker's key is a digest of phone, name, interest and message, so the record
    finds it; it names the idempotency key's hash, which finds the other marker.
    """
    record = request_from_image(item)
    old = _delete_pointing_at(target, f"fingerprint#{content_fingerprint(record)}", record.id)
    key_hash = old.get("key_hash", {}).get("S")
    if key_hash:
        _delete_pointing_at(target, f"idempotency#{key_hash}", record.id)


def _delete_pointing_at(target: Target, pk: str, request_id: str) -> dict[str, Any]:
    # Gone already (expired), or pointing at another request: then there is nothing of this one.
    with contextlib.suppress(target.client.exceptions.ConditionalCheckFailedException):
        answer = target.client.delete_item(
            TableName=target.table,
            Key={"pk": {"S": pk}},
            ConditionExpression="request_id = :id",
            ExpressionAttributeValues={":id": {"S": request_id}},
            ReturnValues="ALL_OLD",
        )
        return dict(answer.get("Attributes") or {})
    return {}


def recent_spam(target: Target, days: int = SPAM_DAYS, now: datetime | None = None) -> list[dict[str, Any]]:
    """The honeypot's catches of the last ``days`` days, oldest first (they expire after 7)."""
    since = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(timespec="milliseconds")
    keys = _query_keys(
        target.client,
        target.table,
        "spam-by-time",
        "caught_by = :layer AND created_at >= :since",
        {":layer": {"S": "honeypot"}, ":since": {"S": since.replace("+00:00", "Z")}},
    )
    return _items(target.client, target.table, keys)


def _print_json(document: Any, out: Callable[[str], None]) -> None:
    out(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False))


def main(argv: Iterable[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.tools.privacy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["export", "forget", "spam"])
    parser.add_argument("--phone", default=os.environ.get("PHONE") or None, help="the number (env PHONE)")
    parser.add_argument("--email", default=os.environ.get("EMAIL") or None, help="the address (env EMAIL)")
    parser.add_argument(
        "--stack", default=os.environ.get("STACK") or None, help="a deployed stack's name (env STACK)"
    )
    parser.add_argument("--endpoint", help="the local stack's moto URL (default http://127.0.0.1:$MOTO_PORT)")
    parser.add_argument("--table", help="the table's name on the local stack")
    parser.add_argument(
        "--yes", action="store_true", default=os.environ.get("YES") == "1", help="forget without asking"
    )
    parser.add_argument("--days", type=int, default=SPAM_DAYS, help="how far back spam looks")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        target = stack_target(args.stack) if args.stack else local_target(args.endpoint, args.table)
        if args.command == "spam":
            _print_json(recent_spam(target, args.days), out)
            return 0
        items = find(target, phone=args.phone, email=args.email)
        if args.command == "export":
            _print_json(export_document(items, "phone" if args.phone else "email"), out)
            return 0
        forget(target, items, yes=args.yes, say=out)
        return 0
    except PrivacyToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The outbox: every email the functions send through SES is also written as an .eml file.

A thin adapter on the functions' own SES v2 client (botocore events), so the handlers run
unchanged: the request's parameters are noted before the call, and the file is written once SES
has accepted the message and given it an id.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from infra.local.lambdas import put_functions_on_path

_PARAMS_KEY = "local_outbox_params"


def shown(path: Path) -> str:
    """``path`` as the console shows it: relative to the working directory when under it."""
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def _transfer_encoding(text: str) -> str:
    # 8bit keeps the file readable in an editor; quoted-printable only when a line is too long for it.
    return "8bit" if all(len(line) <= 900 for line in text.splitlines()) else "quoted-printable"


def build_message(params: dict[str, Any], message_id: str, sent_at: datetime) -> EmailMessage:
    """The email SES sends for the notifier's SendEmail ``params`` (simple content), as MIME."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = params["FromEmailAddress"]
    message["To"] = ", ".join(params["Destination"]["ToAddresses"])
    if params.get("ReplyToAddresses"):
        message["Reply-To"] = ", ".join(params["ReplyToAddresses"])
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{message_id}@email.amazonses.com>"
    if params.get("ConfigurationSetName"):
        message["X-SES-CONFIGURATION-SET"] = params["ConfigurationSetName"]
    simple = params["Content"]["Simple"]
    message["Subject"] = simple["Subject"]["Data"]
    text, page = simple["Body"]["Text"]["Data"], simple["Body"]["Html"]["Data"]
    message.set_content(text, charset="utf-8", cte=_transfer_encoding(text))
    message.add_alternative(page, subtype="html", charset="utf-8", cte=_transfer_encoding(page))
    return message


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def attach_to_functions(self) -> None:
        """Write every email the functions send: through their one SES client, which every handler shares."""
        put_functions_on_path()
        from callbacks.adapters import aws

        self.directory.mkdir(parents=True, exist_ok=True)
        events = aws.sesv2().meta.events
        events.register("before-parameter-build.sesv2.SendEmail", self._remember)
        events.register("after-call.sesv2.SendEmail", self._write)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS_KEY] = copy.deepcopy(params)

    def _write(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300 or not parsed.get("MessageId") or _PARAMS_KEY not in context:
            return  # SES refused it: the handler sees the error and nothing was sent
        sent_at, message_id = datetime.now(UTC), parsed["MessageId"]
        path = self.directory / f"{sent_at:%Y%m%d-%H%M%S-%f}-{message_id[:16]}.eml"
        # Written aside, then renamed: whoever watches the folder never reads half an email.
        partial = path.with_name(f".{path.name}.partial")
        try:
            message = build_message(context[_PARAMS_KEY], message_id, sent_at)
            partial.write_bytes(message.as_bytes(policy=policy.SMTP))
            os.replace(partial, path)
        except Exception as error:  # the email is sent either way; the outbox must never fail the send
            print(f"email: sent, but the outbox could not write it ({type(error).__name__}: {error})")
            return
        # Recipients and subject only: the subject never carries the visitor's details (contract).
        print(f'email: to {message["To"]}, subject "{message["Subject"]}" -> {shown(path)}', flush=True)

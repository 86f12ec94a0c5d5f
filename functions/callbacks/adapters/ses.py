"""Sending to the office through SES v2: the one module that calls SES.

Headers carry only what the deployment configured and what the server made; the caller's rendered
email (emails/) supplies the subject, both bodies and, for a staff alert, the validated Reply-To.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError

from callbacks.adapters import aws
from callbacks.core.settings import Settings
from callbacks.models.email import REQUEST_ID_TAG, OfficeEmail, StaffAlert
from callbacks.models.errors import StaffAlertNotSentError

CHARSET = "UTF-8"


def send_office_email(message: OfficeEmail, settings: Settings) -> str:
    """Send ``message`` to every office address; the SES message id, or ``StaffAlertNotSentError``."""
    return _send(message.subject, message.text, message.html, None, settings, request_id=None)


def send_staff_alert(alert: StaffAlert, settings: Settings) -> str:
    """Send ``alert`` to every office address; the SES message id, or ``StaffAlertNotSentError``."""
    return _send(alert.subject, alert.text, alert.html, alert.reply_to, settings, request_id=alert.request_id)


def _send(
    subject: str,
    text: str,
    html_body: str,
    reply_to: str | None,
    settings: Settings,
    *,
    request_id: str | None,
) -> str:
    request: dict[str, Any] = {
        "FromEmailAddress": settings.sender_email,
        "Destination": {"ToAddresses": list(settings.office_emails)},
        "Content": {
            "Simple": {
                "Subject": {"Data": subject, "Charset": CHARSET},
                "Body": {
                    "Text": {"Data": text, "Charset": CHARSET},
                    "Html": {"Data": html_body, "Charset": CHARSET},
                },
            }
        },
    }
    if reply_to:
        request["ReplyToAddresses"] = [reply_to]
    if settings.ses_configuration_set:
        request["ConfigurationSetName"] = settings.ses_configuration_set
        # Published with every bounce or complaint event of the configuration set: the request id.
        if request_id:
            request["EmailTags"] = [{"Name": REQUEST_ID_TAG, "Value": _tag_value(request_id)}]
    try:
        answer = aws.sesv2().send_email(**request)
    except ClientError as error:
        # `from None`: the SES message may quote an address, and tracebacks end up in logs.
        raise StaffAlertNotSentError(
            str(error.response.get("Error", {}).get("Code", "ClientError"))
        ) from None
    except ConnectionError as error:
        # Refused or timed out while connecting: the request never reached SES.
        raise StaffAlertNotSentError(type(error).__name__) from None
    except BotoCoreError as error:
        # A read timeout or a dropped answer: SES may have taken the message.
        raise StaffAlertNotSentError(type(error).__name__, maybe_sent=True) from None
    return str(answer["MessageId"])


def _tag_value(request_id: str) -> str:
    # SES tag values: ASCII letters, digits, '_' and '-' only (request ids are UUIDs).
    return "".join(char for char in request_id if char.isascii() and (char.isalnum() or char in "_-"))[:256]


def worst_case_send_seconds() -> float:
    """The longest one send can take (see ``aws._CONFIG``)."""
    return aws.worst_case_seconds("sesv2")

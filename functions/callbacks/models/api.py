"""What the API answers: a receipt for a stored (or repeated) request, or an error."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import ErrorDetails

from callbacks.models.fields import FIELD_MESSAGES, REQUIRED_MESSAGES


class CallbackRequestReceipt(BaseModel):
    """The answer to a stored or duplicate request: the same id for the same request."""

    id: str
    reference: Annotated[
        str,
        Field(
            description="The short reference of the staff email's subject, for the visitor to quote "
            "on the phone"
        ),
    ]
    status: Literal["received"] = "received"
    call_by: str = Field(description="When the office will have called back: ISO 8601 with offset")
    call_by_text: str = Field(description="The same, as a sentence: We will call you by Tuesday, ...")


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error the API answers with: a code for programs, a sentence for people."""

    error: str
    message: str
    errors: list[FieldProblem] = []


def field_problems(errors: list[ErrorDetails] | list[dict[str, Any]]) -> list[FieldProblem]:
    """Turn validation errors into one readable problem per field, in the form's order."""
    found: dict[str, str] = {}
    for error in errors:
        # ("body", "phone") for a body field, ("header", "Idempotency-Key") for the header.
        loc = [
            part for part in error.get("loc", ()) if isinstance(part, str) and part not in ("body", "header")
        ]
        field = loc[0].lower().replace("-", "_") if loc else "body"
        if field in found:
            continue
        if error.get("type") == "field_invalid":
            found[field] = str(error.get("msg"))
        elif error.get("type") == "missing" and field in REQUIRED_MESSAGES:
            found[field] = REQUIRED_MESSAGES[field]
        else:
            found[field] = FIELD_MESSAGES.get(field, "This value is not valid.")
    order = list(FIELD_MESSAGES)
    return [
        FieldProblem(field=field, message=message)
        for field, message in sorted(
            found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1
        )
    ]

"""What every work page and its API twin share: reading a form, errors that name the field
in Chinese (texts.FIELD_LABELS / FIELD_ERRORS), and the one refusal a workflow raises
(Refused; Invalid for wrong fields), with the JSON the API answers for it.

A page re-renders its form with the errors beside the fields and every value as typed
(agent_console.service.attempt); the API answers 422 with
{"detail": {"message": ..., "errors": {field: message}}}, or a message for other refusals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field

from agent_console.texts import FIELD_ERRORS, FIELD_LABELS, MESSAGES

Errors = dict[str, str]


class Refused(HTTPException):
    """A workflow's no. status: the API's status code (the page's too); message: why, for a
    page's banner; errors: each wrong field's message, shown beside the field.

    An HTTPException, so the API just lets it go: {"detail": message}, or for field
    errors alone {"detail": {"message": MESSAGES["fix_fields"], "errors": errors}};
    detail=... names another body where an API has always answered one (the phones API)."""

    def __init__(self, status: int, message: str = "", errors: Errors | None = None,
                 *, detail: Any = None) -> None:
        self.message, self.errors = message, dict(errors or {})
        if detail is None and errors is not None and not message:
            detail = {"message": MESSAGES["fix_fields"], "errors": self.errors}
        super().__init__(status, message if detail is None else detail)


class Invalid(Refused):
    """Input refused (422); errors maps each wrong field to its Chinese message."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(422, errors=errors)


def field_error(field: str, kind: str, **values: object) -> str:
    return FIELD_ERRORS[kind].format(label=FIELD_LABELS[field], **values)


async def form_values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The named text fields of a posted form ("" when absent; files are ignored)."""
    form = await request.form()
    values = {}
    for name in names:
        value = form.get(name, "")
        values[name] = value if isinstance(value, str) else ""
    return values


def parse_day(field: str, raw: str, errors: Errors) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors[field] = field_error(field, "required" if not raw.strip() else "date")
        return None


# --- what the API answers when it refuses: documented once, for every route ----------------

class ErrorOut(BaseModel):
    detail: str = Field(description="why, in Chinese, for the user")


class FieldErrorsOut(BaseModel):
    message: str
    errors: dict[str, str] = Field(description="each wrong field's message, in Chinese")


class InvalidOut(BaseModel):
    detail: str | FieldErrorsOut | list[dict[str, Any]] = Field(
        description="a message; or the message and each wrong field's (the work forms); or "
                    "FastAPI's list of validation errors (a value of the wrong type)")


# Applied where create_app includes the routers, so the OpenAPI (and the fuzz test that
# checks answers against it) knows every route can refuse these ways.
API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not logged in: no, an unknown or an expired "
                                            "token or session"},
    403: {"model": ErrorOut, "description": "the user's role may not do this, or (browser "
                                            "sessions) the CSRF token is missing or wrong"},
    404: {"model": ErrorOut, "description": "no such record, or not one this user may see"},
    409: {"model": ErrorOut, "description": "not now: the record's state (or the user's, "
                                            "e.g. no seat phone) does not allow it"},
    422: {"model": InvalidOut, "description": "the request is not valid: a field, a value "
                                              "out of range, or a number the database cannot "
                                              "hold (such as an id far too large)"},
}
# Also for the routers that drive the PBX (the desk, reply calls).
PBX_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorOut, "description": "the PBX refused the action"},
    503: {"model": ErrorOut, "description": "the PBX is not connected; try again later"},
}

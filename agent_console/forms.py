"""What every work page and its API twin share: reading a form, and errors that name the
field in Chinese (texts.FIELD_LABELS / FIELD_ERRORS).

A page re-renders its form with the errors beside the fields and every value as typed;
the API answers 422 with {"detail": {"message": ..., "errors": {field: message}}}.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request

from agent_console.texts import FIELD_ERRORS, FIELD_LABELS, MESSAGES

Errors = dict[str, str]


def field_error(field: str, kind: str, **values: object) -> str:
    return FIELD_ERRORS[kind].format(label=FIELD_LABELS[field], **values)


class Invalid(Exception):
    """Input refused; errors maps each wrong field to its Chinese message."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def api_error(errors: Errors) -> HTTPException:
    return HTTPException(422, {"message": MESSAGES["fix_fields"], "errors": errors})


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


def local_time(moment: datetime | None, timezone: str) -> str:
    """A moment as staff read it: the court's local time, to the minute."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if moment else ""

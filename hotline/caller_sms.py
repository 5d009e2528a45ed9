"""What callers are told by SMS about their matter (Art. 5(3)-(5)): one text per kind of
message, the court's signature in front.

The texts ship in hotline/resources/sms_zh.toml; a court edits its own copy in
data_dir/sms_texts.toml (a kind left out keeps the shipped text, a kind set to "" is not
sent). Both are checked when the settings load, so a text with a placeholder its kind does
not have stops every process at start, naming the file and line:

    >>> from hotline.settings import Settings
    >>> texts = load(Settings())
    >>> texts.render("progress_received", reference="2612010001", date="12月1日")
    '【12368诉讼服务热线】受理编号2612010001的事项已于12月1日受理，正在办理。'

Each message is queued with its kind and values (SmsMessage.kind, .params), so a gateway
that sends by the provider's own template ids can map a kind to one.
"""

from __future__ import annotations

import logging
import re
import string
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hotline.phonenumbers import is_mobile
from hotline.privacy import mask_phone
from hotline.settings import Settings, SettingsError

if TYPE_CHECKING:  # the texts are checked by every process at start, the CLI's too: the
    # database layer is imported only by tell(), which sends
    from sqlalchemy.ext.asyncio import AsyncSession

    from hotline.db.models import SmsMessage, Ticket

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).parent / "resources" / "sms_zh.toml"
OVERRIDE_NAME = "sms_texts.toml"
# UCS-2: 70 characters make one SMS (hotline.sms.encoding).
ONE_SMS = 70
DEFAULT_SIGNATURE = "12368诉讼服务热线"
DEFAULT_COURT = "人民法院"

FORWARDED, ANSWERED, CLOSED = "forwarded", "answered", "closed"
PROGRESS_RECEIVED, PROGRESS_FORWARDED = "progress_received", "progress_forwarded"
PROGRESS_ANSWERED = "progress_answered"
# Closed with the satisfaction question in the same SMS (hotline.ratings): sent instead of
# CLOSED to a caller it can ask; set to "" and callers get CLOSED and are not asked.
RATING_ASK = "rating_ask"
# An appointment's slot set, moved or cancelled by the department (hotline.appointments).
APPOINTMENT_CONFIRMED = "appointment_confirmed"
APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
APPOINTMENT_CANCELLED = "appointment_cancelled"
_APPOINTMENT = frozenset({"reference", "appointment", "date", "half", "place", "bring", "court"})
# Each kind and the placeholders its text may use.
KINDS: dict[str, frozenset[str]] = {
    FORWARDED: frozenset({"reference", "department", "due", "court"}),
    ANSWERED: frozenset({"reference", "department", "date", "court"}),
    CLOSED: frozenset({"reference", "department", "date", "court"}),
    RATING_ASK: frozenset({"reference", "department", "date", "court"}),
    PROGRESS_RECEIVED: frozenset({"reference", "date", "court"}),
    PROGRESS_FORWARDED: frozenset({"reference", "department", "date", "due", "court"}),
    PROGRESS_ANSWERED: frozenset({"reference", "department", "date", "court"}),
    APPOINTMENT_CONFIRMED: _APPOINTMENT,
    APPOINTMENT_RESCHEDULED: _APPOINTMENT,
    APPOINTMENT_CANCELLED: _APPOINTMENT | {"reason"},
}
# Long but real values: a text that is over one SMS with these is logged at start. An
# appointment's place and what to bring are the court's own (hotline.appointments) and
# make its SMS longer than one whatever the text: they are left out of the measure.
_SAMPLE = {"reference": "2612310001", "department": "审判管理办公室", "date": "12月31日",
           "due": "12月31日", "appointment": "预约立案", "half": "上午", "place": "", "bring": "",
           "reason": ""}


@dataclass(frozen=True)
class CallerTexts:
    signature: str  # 【…】
    court: str
    texts: dict[str, str]  # kind -> text; "" for a kind the court turned off

    def render(self, kind: str, **values: str) -> str | None:
        """The SMS for `kind`, signature first; None when the court turned it off."""
        text = self.texts[kind]
        if not text:
            return None
        return self.signature + text.format_map({"court": self.court, **values})


def signature(settings: Settings) -> str:
    """[court] sms_signature in 【】, else the court's name, else the hotline's."""
    name = settings.court.sms_signature.strip().strip("【】").strip()
    return f"【{name or settings.court.name.strip() or DEFAULT_SIGNATURE}】"


def override_path(settings: Settings) -> Path:
    return settings.data_dir / OVERRIDE_NAME


def load(settings: Settings) -> CallerTexts:
    """The texts in force: the shipped ones, then the court's file. SettingsError names the
    file and line of a wrong text."""
    texts = _read(MANIFEST)
    custom = override_path(settings)
    if custom.exists():
        texts.update(_read(custom))
    loaded = CallerTexts(signature(settings), settings.court.name.strip() or DEFAULT_COURT,
                         texts)
    for kind in texts:
        sample = loaded.render(kind, **_SAMPLE)
        if sample and len(sample) > ONE_SMS:
            log.warning("SMS text %r is %d characters with the signature: more than one SMS "
                        "(%d)", kind, len(sample), ONE_SMS)
    return loaded


_cache: dict[tuple[object, ...], CallerTexts] = {}


def texts(settings: Settings) -> CallerTexts:
    """load(), read again only when the court's file or the settings changed. A file broken
    while running is refused (logged) and the last good texts stay."""
    custom = override_path(settings)
    stat = custom.stat() if custom.exists() else None
    key = (str(custom), stat and (stat.st_mtime_ns, stat.st_size), settings.court)
    if key not in _cache:
        try:
            loaded = load(settings)
        except SettingsError as exc:
            last = next((t for k, t in reversed(_cache.items()) if k[0] == key[0]), None)
            if last is None:
                raise
            log.error("SMS texts change refused, the previous texts stay: %s", exc)
            return last
        _cache[key] = loaded
    return _cache[key]


def _read(path: Path) -> dict[str, str]:
    source = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from exc
    table = raw.get("texts")
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: needs a [texts] table")
    for kind, text in table.items():
        problem = _problem(kind, text)
        if problem:
            raise SettingsError(f"{path} line {_line_of(source, kind)}: {kind}: {problem}")
    return dict(table)


def _problem(kind: str, text: object) -> str | None:
    if kind not in KINDS:
        return f"not a kind of SMS to callers (known: {', '.join(KINDS)})"
    if not isinstance(text, str):
        return "must be a text in quotes"
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text)
                  if name is not None]
    except ValueError as exc:  # a lone { or }
        return f"{exc} (write {{{{ and }}}} for a brace itself)"
    unknown = sorted({name or "{}" for name in fields} - KINDS[kind])
    if unknown:
        return (f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                f"this kind has {', '.join('{' + k + '}' for k in sorted(KINDS[kind]))}")
    return None


def _line_of(source: str, key: str) -> int:
    pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    return next((number for number, line in enumerate(source.splitlines(), start=1)
                 if pattern.match(line)), 0)


# --- telling the caller ------------------------------------------------------------------

def day(moment: datetime | None, timezone: str) -> str:
    """A date as the texts say it, 12月3日 (the court's day); "" for no moment."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.month}月{local.day}日"


async def tell(session: AsyncSession, settings: Settings, ticket: Ticket, kind: str,
               to_number: str = "", call_id: str | None = None,
               **values: str) -> SmsMessage | None:
    """Queue the `kind` SMS about `ticket` to the number that raised it (or to_number), in
    the caller's transaction. None when there is nothing to send: no mobile number (a fixed
    line, withheld), or the court turned the kind off."""
    from hotline.db.sms import queue_sms

    number = to_number or ticket.caller_number
    text = texts(settings).render(kind, reference=ticket.reference, **values)
    if text is None or not number or not is_mobile(number):
        log.info("ticket %s: no %s SMS (%s)", ticket.reference, kind,
                 "turned off" if text is None else f"not a mobile: {mask_phone(number)}")
        return None
    params = {"reference": ticket.reference, "court": texts(settings).court, **values}
    message = await queue_sms(session, number, text, call_id=call_id or ticket.call_id,
                              ticket_id=ticket.id, kind=kind, params=params)
    log.info("ticket %s: %s SMS #%d queued to %s", ticket.reference, kind, message.id,
             mask_phone(number))
    return message

"""Case lookup (Art. 5(1)): where the voice menu finds a caller's case, who may ask, and how
the local copy of the case-flow system is filled.

The case-flow system is external. ``case_source(settings, sessions)`` picks the adapter:
``LocalCaseSource`` reads the cases table (filled by ``hotline cases import``, the embedded
default); ``HttpCaseSource`` asks the court's case-flow API. Both raise ``CaseSourceError``
when they cannot answer, so the menu says the query service is unavailable instead of
keeping the caller waiting.

>>> valid_id_number("11010519491231002X"), valid_id_number("110105194912310021")
(True, False)
>>> valid_query_code("20260001"), valid_query_code("2026-01")
(True, False)
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol
from urllib.error import HTTPError
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import cases as cases_db
from hotline.db.alerts import raise_alert, resolve_alert
from hotline.db.base import session_scope
from hotline.db.models import Case
from hotline.db.sms import number_variants
from hotline.phonenumbers import caller_number
from hotline.privacy import mask_phone
from hotline.settings import HoursSettings, Settings, SettingsError

logger = logging.getLogger(__name__)

COURT_TIMEZONE = HoursSettings().timezone

# The query code printed on the case acceptance notice, keyed on the phone.
QUERY_CODE_MIN_LENGTH = 6
QUERY_CODE_MAX_LENGTH = 20
QUERY_CODE_RULE = f"digits only, {QUERY_CODE_MIN_LENGTH} to {QUERY_CODE_MAX_LENGTH} long"
_QUERY_CODE_RE = re.compile(f"[0-9]{{{QUERY_CODE_MIN_LENGTH},{QUERY_CODE_MAX_LENGTH}}}")

# Resident ID numbers (GB 11643): 17 digits, then a check character over them (ISO 7064
# MOD 11-2), where X stands for 10.
ID_NUMBER_LENGTH = 18
_ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_ID_CHECK_CHARACTERS = "10X98765432"


def valid_query_code(code: str) -> bool:
    return _QUERY_CODE_RE.fullmatch(code) is not None


def id_check_character(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of an ID number.

    >>> id_check_character("11010519491231002")
    'X'
    """
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARACTERS[total % 11]


def id_number_problem(value: str) -> str | None:
    """What is wrong with an ID number (upper-case X expected), or None when it is valid."""
    if len(value) != ID_NUMBER_LENGTH:
        return f"must be {ID_NUMBER_LENGTH} characters, not {len(value)}"
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return "must be 17 digits then a digit or X"
    if id_check_character(value[:17]) != value[17]:
        return "wrong check digit"
    return None


def valid_id_number(value: str) -> bool:
    return id_number_problem(value) is None


def mask_id_number(value: str) -> str:
    """Keep the region code and the last 4 characters, enough to tell numbers apart."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


# A mobile number in its national form: what an SMS can be sent to.
MOBILE = re.compile(r"1[3-9]\d{9}")
# A phone as the case-flow system may write it, once spaces and dashes are taken out.
_PHONE_RE = re.compile(r"\+?\d{7,20}")
_PHONE_FILLER = re.compile(r"[\s\-()]")


def mobile_number(number: str) -> str | None:
    """The national form of a mobile number (13912345678), None for anything else.

    >>> mobile_number("+86 139-1234-5678"), mobile_number("037965111111")
    ('13912345678', None)
    """
    return next((v for v in number_variants(_PHONE_FILLER.sub("", number))
                 if MOBILE.fullmatch(v)), None)


def same_phone(first: str, second: str) -> bool:
    """Whether two numbers are one phone, however each is written (+86, 0086, spaces, an
    area code with or without its 0): both read as a caller's number is (issue 16)."""
    a, b = _PHONE_FILLER.sub("", first), _PHONE_FILLER.sub("", second)
    # A withheld or bare-prefix number is nobody's: it must not make two callers one.
    if not (_PHONE_RE.fullmatch(a) and _PHONE_RE.fullmatch(b)):
        return False
    return caller_number(a) == caller_number(b)


# --- what a case source answers -------------------------------------------------------

@dataclass(frozen=True)
class Party:
    """A party of a case as the case-flow system knows them: who may hear it by phone."""

    id_number: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CaseInfo:
    """What the hotline may tell a caller about a case. next_hearing is UTC-aware.

    parties is not told to anyone: it decides who may hear the case (caller_is_party)
    and where its SMS goes; kept out of repr so that no log shows it.
    """

    query_code: str
    case_number: str
    stage: str = ""
    department: str = ""
    judge: str = ""
    next_hearing: datetime | None = None
    parties: tuple[Party, ...] = field(default=(), repr=False, compare=False)


def caller_is_party(case: CaseInfo, caller_number: str) -> bool:
    """Whether the call comes from the phone of one of the case's parties: only then is a
    case found by ID number read out (ID numbers are not secret; the phone on file is)."""
    return any(same_phone(party.phone, caller_number) for party in case.parties)


def party_mobiles(found: list[CaseInfo], id_number: str) -> list[str]:
    """The mobiles on file of the person with this ID number, on the cases found: where
    the result of a lookup by ID number from another phone is sent."""
    numbers = (mobile_number(party.phone) for case in found for party in case.parties
               if party.id_number == id_number)
    return list(dict.fromkeys(number for number in numbers if number))


class CaseSourceError(RuntimeError):
    """The case source cannot answer now (down, slow, or an answer we do not understand)."""


class CaseSource(Protocol):
    async def by_query_code(self, code: str) -> CaseInfo | None: ...

    async def by_id_number(self, id_number: str) -> list[CaseInfo]: ...


def case_info(case: Case) -> CaseInfo:
    return CaseInfo(query_code=case.query_code, case_number=case.case_number,
                    stage=case.stage, department=case.department, judge=case.judge,
                    next_hearing=case.next_hearing,
                    parties=tuple(Party(p.id_number, p.phone) for p in case.parties))


class LocalCaseSource:
    """The cases table, as the last ``hotline cases import`` left it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def by_query_code(self, code: str) -> CaseInfo | None:
        try:
            async with session_scope(self._sessions) as session:
                case = await cases_db.case_by_query_code(session, code)
                return case_info(case) if case else None
        except (SQLAlchemyError, OSError) as exc:
            raise _table_failure(exc) from exc

    async def by_id_number(self, id_number: str) -> list[CaseInfo]:
        try:
            async with session_scope(self._sessions) as session:
                found = await cases_db.cases_by_id_number(session, id_number)
                return [case_info(case) for case in found]
        except (SQLAlchemyError, OSError) as exc:
            raise _table_failure(exc) from exc


def _table_failure(exc: Exception) -> CaseSourceError:
    # Only the error's class: a driver's message quotes the statement's parameters, which
    # may be an ID number, and this message is logged.
    logger.warning("the cases table cannot be read: %s", type(exc).__name__)
    return CaseSourceError(f"the cases table cannot be read ({type(exc).__name__})")


class HttpCaseSource:
    """The court's case-flow API, asked over HTTP GET.

    Requests: ``{url}?query_code=20260001`` and ``{url}?id_number=11010519491231002X``.

    Answer: JSON, either one object or a list of objects, each::

        {"query_code": "20260001", "case_number": "（2026）豫03民初1234号",
         "stage": "审理中", "department": "民事审判第一庭", "judge": "王法官",
         "next_hearing": "2026-12-03T09:30:00+08:00",
         "parties": [{"id_number": "11010519491231002X", "phone": "13912345678"}]}

    query_code and case_number are required; stage, department, judge may be missing or
    null; next_hearing is ISO 8601 or null (without an offset it is court time); parties
    (each id_number and phone optional) may be missing: then a case found by ID number is
    never read out on the phone and its SMS has nowhere to go. Not found
    is HTTP 404, ``null`` or ``[]``. Anything else (another status, a timeout, JSON we do
    not understand, a case with another query code) raises CaseSourceError.

    The whole request is bounded by ``timeout`` seconds: a caller is waiting. Proxy
    variables are ignored, as the case-flow system is on the court's own network.
    """

    MAX_BYTES = 1_000_000

    def __init__(self, url: str, timeout: float, timezone: str = COURT_TIMEZONE) -> None:
        self._url = url
        self._timeout = timeout
        self._zone = ZoneInfo(timezone)
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    async def by_query_code(self, code: str) -> CaseInfo | None:
        found = self._infos(await self._get({"query_code": code}))
        matching = [info for info in found if info.query_code == code]
        if found and not matching:
            # Telling a caller about someone else's case is worse than telling nothing.
            raise self._failure("answered with another case")
        return matching[0] if matching else None

    async def by_id_number(self, id_number: str) -> list[CaseInfo]:
        return self._infos(await self._get({"id_number": id_number}))

    def _failure(self, reason: str) -> CaseSourceError:
        # The parameters (ID numbers) stay out of the message: it is logged.
        logger.warning("case service %s: %s", self._url, reason)
        return CaseSourceError(f"case service {self._url}: {reason}")

    async def _get(self, params: dict[str, str]) -> Any:
        separator = "&" if "?" in self._url else "?"
        url = self._url + separator + urllib.parse.urlencode(params)
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._fetch, url), self._timeout)
        except TimeoutError as exc:
            raise self._failure(f"no answer in time ({self._timeout} s)") from exc
        except (OSError, ValueError) as exc:  # refused, reset, bad JSON or UTF-8, ...
            raise self._failure(f"{type(exc).__name__}: {exc}") from exc

    def _fetch(self, url: str) -> Any:
        """Runs in a worker thread; None when the service says there is no such case."""
        try:
            with self._opener.open(url, timeout=self._timeout) as response:
                body: bytes = response.read(self.MAX_BYTES + 1)
        except HTTPError as exc:
            exc.close()
            if exc.code == HTTPStatus.NOT_FOUND:
                return None
            raise self._failure(f"HTTP {exc.code}") from None
        if len(body) > self.MAX_BYTES:
            raise self._failure("answer too large")
        return json.loads(body.decode("utf-8")) if body.strip() else None

    def _infos(self, payload: Any) -> list[CaseInfo]:
        items = [] if payload is None else payload if isinstance(payload, list) else [payload]
        try:
            return [self._info(item) for item in items]
        except (KeyError, TypeError, ValueError) as exc:
            raise self._failure(f"answer not understood: {type(exc).__name__}: {exc}") from exc

    def _info(self, item: Any) -> CaseInfo:
        if not isinstance(item, dict):
            raise TypeError(f"expected an object per case, got {type(item).__name__}")
        return CaseInfo(query_code=_required(item, "query_code"),
                        case_number=_required(item, "case_number"),
                        stage=_optional(item, "stage"), department=_optional(item, "department"),
                        judge=_optional(item, "judge"),
                        next_hearing=_iso_datetime(item.get("next_hearing"), self._zone),
                        parties=_parties(item.get("parties")))


def _parties(value: Any) -> tuple[Party, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError("parties must be a list of objects")
    return tuple(Party(_optional(item, "id_number").upper(), _optional(item, "phone"))
                 for item in value)


def _optional(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"{key} must be a string")
    return str(value)


def _required(item: dict[str, Any], key: str) -> str:
    value = _optional(item, key)
    if not value:
        raise KeyError(key)
    return value


def _iso_datetime(value: Any, zone: tzinfo) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise TypeError("next_hearing must be an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def case_source(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> CaseSource:
    """The adapter [cases] source names: "local" (the default) or "http"."""
    cases = settings.cases
    if cases.source == "local":
        return LocalCaseSource(sessions)
    if cases.source == "http":
        if not cases.http_url:
            raise SettingsError("[cases] source = \"http\" needs http_url")
        return HttpCaseSource(cases.http_url, cases.http_timeout, settings.hours.timezone)
    raise SettingsError(f"[cases] source: {cases.source!r} is neither \"local\" nor \"http\"")


# --- lock-out of numbers that guess query codes --------------------------------------

async def query_locked(session: AsyncSession, settings: Settings, number: str,
                       now: datetime) -> bool:
    """Whether `number` may not query now: [cases] lockout_failures wrong codes within
    lockout_window_minutes lock it for lockout_minutes from the last of them."""
    if settings.cases.lockout_failures <= 0:
        return False
    since = now - _lockout_span(settings)
    return _locked(await cases_db.failure_times(session, number, since), settings, now)


def _lockout_span(settings: Settings) -> timedelta:
    """How far back a failure can still count: the window plus the lock."""
    return timedelta(minutes=settings.cases.lockout_window_minutes
                     + settings.cases.lockout_minutes)


def _locked(times: list[datetime], settings: Settings, now: datetime) -> bool:
    rules = settings.cases
    if rules.lockout_failures <= 0:
        return False
    window = timedelta(minutes=rules.lockout_window_minutes)
    lock = timedelta(minutes=rules.lockout_minutes)
    starts = _lock_starts([at for at in times if at <= now], rules.lockout_failures, window)
    return any(now < start + lock for start in starts)


class QueryLockout:
    """The lock-out as the bridge answers it: from memory, so a caller's key never waits
    on a database read (issue 12). It holds the wrong codes of the last window plus lock,
    read from the database at start and again every refresh() (another node's bridge
    notes failures too), and what this bridge noted since: the caller's own failure
    counts at once, while its row is written behind the call. A number that keys a right
    code is forgotten here at once; the rows read back before its deletion is committed
    are ignored (they are not newer than that moment)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._times: dict[str, list[datetime]] = {}
        self._cleared: dict[str, datetime] = {}

    def locked(self, number: str, now: datetime) -> bool:
        return _locked(self._times.get(number, []), self.settings, now)

    def note(self, number: str, success: bool, now: datetime) -> None:
        if success:
            self._times.pop(number, None)
            self._cleared[number] = now
        else:
            self._times.setdefault(number, []).append(now)

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        since = now - _lockout_span(self.settings)
        read = await cases_db.failures_by_number(session, since)
        merged: dict[str, list[datetime]] = {}
        for number in read.keys() | self._times.keys():
            cleared = self._cleared.get(number)
            times = {at for at in read.get(number, []) + self._times.get(number, [])
                     if at >= since and (cleared is None or at > cleared)}
            if times:
                merged[number] = sorted(times)
        self._times = merged
        self._cleared = {n: at for n, at in self._cleared.items() if at >= since}


def _lock_starts(times: list[datetime], count: int, window: timedelta) -> list[datetime]:
    """The failures that completed a run of `count` within `window` (times sorted)."""
    return [times[i] for i in range(count - 1, len(times))
            if times[i] - times[i - count + 1] <= window]


async def note_failure(session: AsyncSession, number: str, now: datetime | None = None) -> None:
    """Record a query from `number` that found nothing (ask query_locked afterwards)."""
    await cases_db.add_failure(session, number, now)


async def note_success(session: AsyncSession, number: str) -> None:
    """A query found a case: earlier mistakes no longer count towards a lock-out."""
    await cases_db.clear_failures(session, number)


# --- failures from every number: somebody trying codes from many phones -----------------

ALERT_KIND = "case-query"
FAILURE_RATE_KEY = "failures-per-hour"
FAILURE_RATE_WINDOW = timedelta(hours=1)
TEXTS = {
    "failure_rate": "最近一小时案件查询失败{count}次（来自{numbers}个号码），超过警戒值{limit}次："
                    "可能有人在用多个号码试查询码。单个号码的锁定挡不住这种尝试，请核查通话记录。",
}


async def watch_failure_rate(session: AsyncSession, settings: Settings,
                             now: datetime | None = None) -> bool:
    """After a failure: raise the alert when the failures of the last hour from all numbers
    reach [cases] alert_failures_per_hour, resolve it once they are below. True when the
    alert was newly raised (once per episode, however many failures follow)."""
    limit = settings.cases.alert_failures_per_hour
    if limit <= 0:
        return False
    now = now or datetime.now(UTC)
    count, numbers = await cases_db.failures_since(session, now - FAILURE_RATE_WINDOW, now)
    if count < limit:
        await resolve_alert(session, ALERT_KIND, FAILURE_RATE_KEY, now)
        return False
    message = TEXTS["failure_rate"].format(count=count, numbers=numbers, limit=limit)
    raised = await raise_alert(session, ALERT_KIND, FAILURE_RATE_KEY, message, now)
    if raised:
        logger.warning("case queries: %d failures in the last hour from %d numbers "
                       "(alert at %d)", count, numbers, limit)
    return raised


# --- import from the case-flow system's export ----------------------------------------

CSV_COLUMNS = ("query_code", "case_number", "stage", "department", "judge", "next_hearing",
               "party_id_numbers")
# Optional, so that exports from before it still import: the parties' phones, in the order
# of party_id_numbers ("13912345678;;037965111111": the second party has none on file).
PHONES_COLUMN = "party_phones"
HEARING_FORMAT = "%Y-%m-%d %H:%M"
# The column sizes in hotline.db.models: PostgreSQL refuses longer values.
_MAX_LENGTHS = {"case_number": 80, "stage": 40, "department": 80, "judge": 40}
_PARTY_SEPARATORS = re.compile("[;；]")


class CaseImportError(ValueError):
    """The file cannot be imported at all (missing, not UTF-8, no usable header)."""


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    # (line number in the file, what is wrong): those rows were skipped
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _CaseRow:
    query_code: str
    case_number: str
    stage: str
    department: str
    judge: str
    next_hearing: datetime | None
    party_id_numbers: tuple[str, ...]
    party_phones: dict[str, str]


async def import_cases_csv(session: AsyncSession, path: Path,
                           timezone: str = COURT_TIMEZONE) -> ImportReport:
    """Upsert every good row of a case-flow export by query code; report the bad ones.

    The CSV has the header of CSV_COLUMNS, and may have PHONES_COLUMN; next_hearing is
    ``YYYY-MM-DD HH:MM`` in court time or empty; party_id_numbers and party_phones are
    separated by ``;``, the n-th phone the n-th party's. UTF-8, with or without BOM.
    Raises CaseImportError when the file cannot be used at all.
    """
    report = ImportReport()
    seen: dict[str, int] = {}  # query code -> the line that brought it
    for line, fields in _read_csv(path):
        row, problems = _parse_row(fields, ZoneInfo(timezone))
        if row and row.query_code in seen:
            problems = [f"query code {row.query_code} is already on line {seen[row.query_code]}"]
        if row is None or problems:
            report.errors.append((line, "; ".join(problems)))
            continue
        seen[row.query_code] = line
        created = await _store(session, row)
        report.imported += created
        report.updated += not created
    return report


async def _store(session: AsyncSession, row: _CaseRow) -> bool:
    return await cases_db.upsert_case(
        session, row.query_code, case_number=row.case_number, stage=row.stage,
        department=row.department, judge=row.judge, next_hearing=row.next_hearing,
        party_id_numbers=row.party_id_numbers, party_phones=row.party_phones)


def _read_csv(path: Path) -> list[tuple[int, dict[str | None, Any]]]:
    """(line number, row) for every record; the whole file is checked before any import."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CaseImportError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CaseImportError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8 CSV"
                              ) from exc
    reader = csv.DictReader(io.StringIO(content, newline=""))
    _check_header(path, reader.fieldnames)
    reader.fieldnames = [name.strip() for name in reader.fieldnames or ()]
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise CaseImportError(f"{path}:{reader.line_num}: {exc}") from exc


def _check_header(path: Path, names: Any) -> None:
    missing = [c for c in CSV_COLUMNS if c not in {str(n).strip() for n in names or ()}]
    if missing:
        raise CaseImportError(f"{path}:1: the header must name the columns "
                              f"{','.join(CSV_COLUMNS)} (missing: {', '.join(missing)})")


def _parse_row(fields: dict[str | None, Any],
               zone: tzinfo) -> tuple[_CaseRow | None, list[str]]:
    problems = _shape_problems(fields)
    if problems:
        return None, problems
    value = {column: str(fields[column]).strip() for column in CSV_COLUMNS}
    problems += _text_problems(value)
    hearing, hearing_problems = _parse_hearing(value["next_hearing"], zone)
    parties, party_problems = _parse_parties(value["party_id_numbers"])
    # A row ending before the optional column is an older export's: no phones on file.
    phones, phone_problems = _parse_phones(str(fields.get(PHONES_COLUMN) or ""), parties)
    problems += hearing_problems + party_problems + phone_problems
    row = _CaseRow(value["query_code"], value["case_number"], value["stage"],
                   value["department"], value["judge"], hearing, parties, phones)
    return row, problems


def _shape_problems(fields: dict[str | None, Any]) -> list[str]:
    if None in fields:
        return [f"more fields than the {len(fields) - 1} columns of the header"]
    if any(fields.get(column) is None for column in CSV_COLUMNS):
        return ["fewer fields than the columns of the header"]
    return []


def _text_problems(value: dict[str, str]) -> list[str]:
    problems = []
    if not value["query_code"]:
        problems.append("missing query code")
    elif not valid_query_code(value["query_code"]):
        problems.append(f"query code {value['query_code']!r} is not {QUERY_CODE_RULE}")
    if not value["case_number"]:
        problems.append("missing case number")
    problems += [f"{column} longer than {limit} characters"
                 for column, limit in _MAX_LENGTHS.items() if len(value[column]) > limit]
    return problems


def _parse_hearing(text: str, zone: tzinfo) -> tuple[datetime | None, list[str]]:
    if not text:
        return None, []
    try:
        local = datetime.strptime(text, HEARING_FORMAT)
    except ValueError:
        return None, [f"bad date {text!r} in next_hearing: write YYYY-MM-DD HH:MM (court time)"]
    return local.replace(tzinfo=zone).astimezone(UTC), []


def _parse_parties(text: str) -> tuple[tuple[str, ...], list[str]]:
    numbers = [n.strip().upper() for n in _PARTY_SEPARATORS.split(text) if n.strip()]
    problems = [f"bad ID number {i} ({mask_id_number(number)}): {problem}"
                for i, number in enumerate(numbers, 1)
                if (problem := id_number_problem(number))]
    return tuple(numbers), problems


def _parse_phones(text: str, parties: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    phones = [_PHONE_FILLER.sub("", p) for p in _PARTY_SEPARATORS.split(text)]
    while phones and not phones[-1]:
        phones.pop()
    if len(phones) > len(parties):
        return {}, [f"{len(phones)} phones for {len(parties)} parties: write one per ID "
                    "number, in the same order (empty for none)"]
    problems = [f"bad phone {i} ({mask_phone(phone)}): write digits, like 13912345678"
                for i, phone in enumerate(phones, 1) if phone and not _PHONE_RE.fullmatch(phone)]
    on_file = {number: phone for number, phone in zip(parties, phones, strict=False) if phone}
    return on_file, problems

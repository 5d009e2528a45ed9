"""hotline.cases: ID and query code checks, the CSV import, the lock-out, and the case
sources (the local table; the HTTP API against a real local server)."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import cases
from hotline.cases import CaseImportError, CaseInfo, CaseSourceError, HttpCaseSource
from hotline.db import cases as cases_db
from hotline.db.alerts import list_open_alerts
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.settings import REPO_ROOT, CasesSettings, Settings, SettingsError

Sessions = async_sessionmaker[AsyncSession]
ALICE, BOB = "410399198001010018", "41039919751212002X"
HEADER = "query_code,case_number,stage,department,judge,next_hearing,party_id_numbers\n"
EXAMPLE = REPO_ROOT / "docs" / "cases.example.csv"


# --- ID numbers and query codes -------------------------------------------------------

@pytest.mark.parametrize("value", [ALICE, BOB, "11010519491231002X", "410399200002290066"])
def test_valid_id_numbers(value: str) -> None:
    assert cases.valid_id_number(value)
    assert cases.id_number_problem(value) is None


@pytest.mark.parametrize(("value", "problem"), [
    ("410399198001010019", "wrong check digit"),  # ALICE with the last digit changed
    ("41039919751212002", "must be 18 characters, not 17"),
    ("4103991975121200200", "must be 18 characters, not 19"),
    ("41039919751212002x", "must be 17 digits then a digit or X"),  # callers upper-case it
    ("4103991975121200X2", "must be 17 digits then a digit or X"),
    ("４１０３９９１９８００１０１００１８", "must be 17 digits then a digit or X"),
    ("", "must be 18 characters, not 0"),
])
def test_invalid_id_numbers_say_why(value: str, problem: str) -> None:
    assert cases.id_number_problem(value) == problem
    assert not cases.valid_id_number(value)


def test_check_character_ten_is_x() -> None:
    assert cases.id_check_character("41039919751212002") == "X"
    assert cases.id_check_character("41039919800101001") == "8"


def test_mask_id_number_keeps_region_and_last_four() -> None:
    assert cases.mask_id_number(ALICE) == "410399********0018"
    assert cases.mask_id_number("4103991975") == "4103991975"
    assert cases.mask_id_number("12345") == "*****"


@pytest.mark.parametrize(("code", "valid"), [
    ("123456", True), ("1" * 20, True), ("2026030001", True),
    ("12345", False), ("1" * 21, False), ("", False), ("2026-0001", False),
    ("20260001X", False), ("２０２６０００１", False), ("١٢٣٤٥٦", False), ("123456\n", False),
])
def test_query_code_rule(code: str, valid: bool) -> None:
    assert cases.valid_query_code(code) is valid
    assert cases.QUERY_CODE_RULE == "digits only, 6 to 20 long"


# --- the CSV import ---------------------------------------------------------------------

def _csv(tmp_path: Path, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(HEADER + body, encoding=encoding)
    return path


async def _import(sessions: Sessions, path: Path) -> cases.ImportReport:
    async with session_scope(sessions) as session:
        return await cases.import_cases_csv(session, path)


async def _case(sessions: Sessions, code: str) -> CaseInfo | None:
    return await cases.LocalCaseSource(sessions).by_query_code(code)


async def test_import_keeps_good_rows_and_reports_bad_ones(sessions: Sessions,
                                                           tmp_path: Path) -> None:
    path = _csv(tmp_path, "\n".join([
        f"2026030001,（2026）豫03民初1234号,审理中,民事审判第一庭,张明,2026-12-03 09:30,{ALICE};{BOB}",
        ",（2026）豫03民初2号,审理中,,,,",
        "2026030003,（2026）豫03民初3号,审理中,,,2026-13-03 09:30,",
        "2026030004,（2026）豫03民初4号,审理中,,,,410399198001010019",
        "2026030005,（2026）豫03民初5号",
        "2026030006,,审理中,,,12/03/2026,",
        "2026030001,（2026）豫03民初9号,,,,,",
        "2026030007,（2026）豫03执7号,执行中,执行局,王强,,",
    ]) + "\n")

    report = await _import(sessions, path)

    assert (report.imported, report.updated) == (2, 0)
    assert report.errors == [
        (3, "missing query code"),
        (4, "bad date '2026-13-03 09:30' in next_hearing: write YYYY-MM-DD HH:MM (court time)"),
        (5, "bad ID number 1 (410399********0019): wrong check digit"),
        (6, "fewer fields than the columns of the header"),
        (7, "missing case number; bad date '12/03/2026' in next_hearing: write YYYY-MM-DD "
            "HH:MM (court time)"),
        (8, "query code 2026030001 is already on line 2"),
    ]
    kept = await _case(sessions, "2026030001")
    assert kept == CaseInfo("2026030001", "（2026）豫03民初1234号", "审理中", "民事审判第一庭",
                            "张明", datetime(2026, 12, 3, 1, 30, tzinfo=UTC))
    assert await _case(sessions, "2026030003") is None


async def test_import_again_updates_and_replaces_parties(sessions: Sessions,
                                                         tmp_path: Path) -> None:
    await _import(sessions, _csv(tmp_path, f"2026030001,（2026）豫03民初1号,审理中,,,,{ALICE}\n"))
    path = _csv(tmp_path, f"2026030001,（2026）豫03民初1号,已结案,,,,{BOB}\n"
                          "2026030002,（2026）豫03民初2号,审理中,,,,\n")

    report = await _import(sessions, path)

    assert (report.imported, report.updated, report.errors) == (1, 1, [])
    async with session_scope(sessions) as session:
        assert await cases_db.cases_by_id_number(session, ALICE) == []
        found = await cases_db.cases_by_id_number(session, BOB)
    assert [(c.query_code, c.stage) for c in found] == [("2026030001", "已结案")]


async def test_import_reads_bom_spaces_fullwidth_separators_and_lower_x(
        sessions: Sessions, tmp_path: Path) -> None:
    lower_bob = BOB.lower()
    path = _csv(tmp_path, f" 2026030001 ,（2026）豫03民初1号, 审理中 ,,,2026-12-03 09:30,"
                          f"{ALICE}； {lower_bob};\n\n", encoding="utf-8-sig")

    report = await _import(sessions, path)

    assert (report.imported, report.errors) == (1, [])
    async with session_scope(sessions) as session:
        case = await cases_db.case_by_query_code(session, "2026030001")
    assert case is not None and case.stage == "审理中"
    assert [p.id_number for p in case.parties] == [ALICE, BOB]


async def test_import_reports_extra_fields_and_long_values(sessions: Sessions,
                                                           tmp_path: Path) -> None:
    path = _csv(tmp_path, "2026030001,（2026）豫03民初1号,审理中,,,,,extra\n"
                          f"2026030002,（2026）豫03民初2号,审理中,{'庭' * 81},,,\n"
                          "12345,（2026）豫03民初3号,,,,,\n")

    report = await _import(sessions, path)

    assert report.imported == 0
    assert report.errors == [
        (2, "more fields than the 7 columns of the header"),
        (3, "department longer than 80 characters"),
        (4, "query code '12345' is not digits only, 6 to 20 long"),
    ]


async def test_import_counts_lines_of_quoted_multiline_fields(sessions: Sessions,
                                                              tmp_path: Path) -> None:
    path = _csv(tmp_path, '2026030001,"（2026）豫03\n民初1号",审理中,,,,\n'
                          "2026030002,（2026）豫03民初2号,,,,bad,\n")

    report = await _import(sessions, path)

    assert report.imported == 1
    assert [line for line, _ in report.errors] == [4]


async def test_example_file_imports_cleanly(sessions: Sessions) -> None:
    report = await _import(sessions, EXAMPLE)

    assert report.errors == [] and report.imported >= 5
    async with session_scope(sessions) as session:
        found = await cases_db.cases_by_id_number(session, ALICE)
    assert len(found) == 2, "the example has a person who is party to two cases"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the header must name the columns"),
    (b"query_code,case_number\n1,2\n", "missing: stage, department, judge"),
    ("query_code,案号\n".encode("gbk"), "not UTF-8"),
])
async def test_unusable_files_raise(sessions: Sessions, tmp_path: Path, content: bytes,
                                    message: str) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(content)
    with pytest.raises(CaseImportError, match=message):
        await _import(sessions, path)


async def test_missing_file_raises(sessions: Sessions, tmp_path: Path) -> None:
    with pytest.raises(CaseImportError, match="cannot read"):
        await _import(sessions, tmp_path / "nope.csv")


async def test_import_uses_the_given_time_zone(sessions: Sessions, tmp_path: Path) -> None:
    path = _csv(tmp_path, "2026030001,（2026）豫03民初1号,,,,2026-12-03 09:30,\n")
    async with session_scope(sessions) as session:
        await cases.import_cases_csv(session, path, timezone="UTC")

    case = await _case(sessions, "2026030001")
    assert case is not None and case.next_hearing == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


# --- parties' phones: who may hear a case found by ID number --------------------------------

PHONES_HEADER = HEADER.rstrip("\n") + ",party_phones\n"


def _csv_with_phones(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "cases-phones.csv"
    path.write_text(PHONES_HEADER + body, encoding="utf-8")
    return path


async def _parties(sessions: Sessions, code: str) -> list[tuple[str, str]]:
    async with session_scope(sessions) as session:
        case = await cases_db.case_by_query_code(session, code)
    assert case is not None
    return [(p.id_number, p.phone) for p in case.parties]


async def test_import_keeps_each_partys_phone_in_order(sessions: Sessions,
                                                       tmp_path: Path) -> None:
    path = _csv_with_phones(tmp_path, "\n".join([
        f"2026030001,（2026）豫03民初1号,,,,,{ALICE};{BOB},+86 139-1234-5678；0379-6511 0002",
        f"2026030002,（2026）豫03民初2号,,,,,{ALICE};{BOB},;13812340002;",
        f"2026030003,（2026）豫03民初3号,,,,,{ALICE}",  # an older row: no phone field
    ]) + "\n")

    report = await _import(sessions, path)

    assert (report.imported, report.errors) == (3, [])
    assert await _parties(sessions, "2026030001") == [(ALICE, "+8613912345678"),
                                                      (BOB, "037965110002")]
    assert await _parties(sessions, "2026030002") == [(ALICE, ""), (BOB, "13812340002")]
    assert await _parties(sessions, "2026030003") == [(ALICE, "")]


async def test_import_reports_bad_phones_masked(sessions: Sessions, tmp_path: Path) -> None:
    path = _csv_with_phones(tmp_path, "\n".join([
        f"2026030001,（2026）豫03民初1号,,,,,{ALICE},13912345678;13812340002",
        f"2026030002,（2026）豫03民初2号,,,,,{ALICE};{BOB},1391234567x;12",
    ]) + "\n")

    report = await _import(sessions, path)

    assert report.imported == 0
    assert report.errors == [
        (2, "2 phones for 1 parties: write one per ID number, in the same order "
            "(empty for none)"),
        (3, "bad phone 1 (139****567x): write digits, like 13912345678; "
            "bad phone 2 (12): write digits, like 13912345678"),
    ]


async def test_example_file_has_phones(sessions: Sessions) -> None:
    await _import(sessions, EXAMPLE)
    assert await _parties(sessions, "2026030001") == [(ALICE, "13912345678"),
                                                      (BOB, "13812340002")]


async def test_local_source_tells_the_parties(sessions: Sessions) -> None:
    await _import(sessions, EXAMPLE)
    [first, second] = await cases.LocalCaseSource(sessions).by_id_number(ALICE)

    assert second.parties == (cases.Party(ALICE, "13912345678"), cases.Party(BOB, "13812340002"))
    assert ALICE not in repr(second) and "13912345678" not in repr(second)
    assert cases.caller_is_party(second, "+86 139 1234 5678")
    assert cases.caller_is_party(second, "8613812340002")
    assert not cases.caller_is_party(second, "13700000009")
    assert cases.party_mobiles([first, second], ALICE) == ["13912345678"]
    assert cases.party_mobiles([first, second], BOB) == ["13812340002"]


@pytest.mark.parametrize(("first", "second", "same"), [
    ("13912345678", "+8613912345678", True), ("13912345678", "0086 139 1234 5678", True),
    ("037965110002", "0379-65110002", True), ("13912345678", "13912345679", False),
    ("", "", False), ("anonymous", "unknown", False), ("", "13912345678", False),
    ("+86", "86", False), ("+86 379 6511 0002", "037965110002", True),
])
def test_same_phone(first: str, second: str, same: bool) -> None:
    assert cases.same_phone(first, second) is same


def test_mobile_number_is_the_national_form_or_none() -> None:
    assert cases.mobile_number("+86 139-1234-5678") == "13912345678"
    assert cases.mobile_number("037965110002") is None
    assert cases.mobile_number("") is None


# --- lock-out -----------------------------------------------------------------------------

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
CALLER = "13812345678"
# 3 wrong codes within 10 minutes lock the number for 30 minutes
RULES = dataclasses.replace(Settings(), cases=CasesSettings(
    lockout_failures=3, lockout_window_minutes=10, lockout_minutes=30))


async def _fail(sessions: Sessions, *minutes: float, number: str = CALLER) -> None:
    async with session_scope(sessions) as session:
        for m in minutes:
            await cases.note_failure(session, number, T0 + timedelta(minutes=m))


async def _locked(sessions: Sessions, minute: float, number: str = CALLER,
                  settings: Settings = RULES) -> bool:
    async with session_scope(sessions) as session:
        return await cases.query_locked(session, settings, number,
                                        T0 + timedelta(minutes=minute))


async def test_failures_within_the_window_lock_for_the_lock_time(sessions: Sessions) -> None:
    await _fail(sessions, 0, 4)
    assert not await _locked(sessions, 5)
    await _fail(sessions, 9)

    assert await _locked(sessions, 9)
    assert await _locked(sessions, 38.9)
    assert not await _locked(sessions, 39)
    assert not await _locked(sessions, 9, number="13900000000")


async def test_failures_spread_wider_than_the_window_do_not_lock(sessions: Sessions) -> None:
    await _fail(sessions, 0, 6, 12, 18, 24)  # never 3 within 10 minutes
    assert not await _locked(sessions, 24)


async def test_the_lock_counts_from_the_last_failure_of_the_run(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2, 20)  # locked at 2; the failure at 20 is a new attempt
    assert await _locked(sessions, 31)
    assert not await _locked(sessions, 32.5)


async def test_a_lock_started_long_ago_has_expired(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2)
    assert not await _locked(sessions, 24 * 60)


async def test_failures_after_now_do_not_count(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2)
    assert not await _locked(sessions, 1.5)


async def test_success_clears_the_count(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1)
    async with session_scope(sessions) as session:
        await cases.note_success(session, CALLER)
    await _fail(sessions, 2)

    assert not await _locked(sessions, 3)


async def test_note_failure_without_time_uses_now(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        for _ in range(3):
            await cases.note_failure(session, CALLER)
        assert await cases.query_locked(session, RULES, CALLER, datetime.now(UTC))


def _rate(limit: int) -> Settings:
    return dataclasses.replace(Settings(), cases=CasesSettings(alert_failures_per_hour=limit))


async def _watch(sessions: Sessions, minute: float, limit: int = 4) -> bool:
    async with session_scope(sessions) as session:
        return await cases.watch_failure_rate(session, _rate(limit),
                                              T0 + timedelta(minutes=minute))


async def _open_rate_alerts(sessions: Sessions) -> list[str]:
    async with session_scope(sessions) as session:
        return [a.message for a in await list_open_alerts(session, cases.ALERT_KIND)]


async def test_failures_from_many_numbers_raise_one_alert(sessions: Sessions) -> None:
    # One wrong code from each of 6 numbers: no number is ever locked out.
    raised = []
    for n in range(6):
        await _fail(sessions, n, number=f"1370000000{n}")
        raised.append(await _watch(sessions, n))

    assert raised == [False, False, False, True, False, False]
    [message] = await _open_rate_alerts(sessions)
    assert "6次" in message and "6个号码" in message and "13700000000" not in message
    assert not await _locked(sessions, 6, number="13700000000")


async def test_the_failure_alert_counts_the_last_hour_only(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2, 70)
    assert not await _watch(sessions, 70)  # only one failure within the hour before
    assert await _open_rate_alerts(sessions) == []


async def test_the_failure_alert_clears_once_the_rate_drops(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2, 3)
    assert await _watch(sessions, 3)
    await _fail(sessions, 90)
    assert not await _watch(sessions, 90)
    assert await _open_rate_alerts(sessions) == []
    await _fail(sessions, 91, 92, 93)
    assert await _watch(sessions, 93), "a new episode is a new alert"


async def test_zero_turns_the_failure_alert_off(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2, 3, 4)
    assert not await _watch(sessions, 4, limit=0)


async def test_zero_failures_setting_disables_the_lock(sessions: Sessions) -> None:
    await _fail(sessions, 0, 1, 2, 3)
    off = dataclasses.replace(Settings(), cases=CasesSettings(lockout_failures=0))
    assert not await _locked(sessions, 3, settings=off)


# --- the local source ---------------------------------------------------------------------

async def test_local_source_by_code_and_by_id_number(sessions: Sessions) -> None:
    await _import(sessions, EXAMPLE)
    source = cases.LocalCaseSource(sessions)

    found = await source.by_query_code("2026030001")
    assert found is not None and found.case_number == "（2026）豫03民初1234号"
    assert await source.by_query_code("999999") is None
    assert [c.query_code for c in await source.by_id_number(ALICE)] == [
        "2026030003", "2026030001"]
    assert await source.by_id_number("11010519491231002X") == []


async def test_local_source_without_its_table_raises_case_source_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    try:
        source = cases.LocalCaseSource(make_sessionmaker(engine))
        with pytest.raises(CaseSourceError, match="cases table"):
            await source.by_query_code("2026030001")
        with pytest.raises(CaseSourceError, match="cases table"):
            await source.by_id_number(ALICE)
    finally:
        await engine.dispose()


def test_case_source_follows_the_settings(tmp_path: Path) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    http = CasesSettings(source="http", http_url="http://127.0.0.1:1/cases", http_timeout=1.5)

    assert isinstance(cases.case_source(Settings(), sessions), cases.LocalCaseSource)
    source = cases.case_source(dataclasses.replace(Settings(), cases=http), sessions)
    assert isinstance(source, HttpCaseSource)
    for wrong, message in ((CasesSettings(source="http"), "needs http_url"),
                           (CasesSettings(source="ftp"), "neither")):
        with pytest.raises(SettingsError, match=message):
            cases.case_source(dataclasses.replace(Settings(), cases=wrong), sessions)


# --- the HTTP source, against a real server -------------------------------------------------

CASE_JSON = {"query_code": "2026030001", "case_number": "（2026）豫03民初1234号",
             "stage": "审理中", "department": "民事审判第一庭", "judge": "张明",
             "next_hearing": "2026-12-03T09:30:00+08:00"}


@dataclasses.dataclass
class CaseService:
    """A stand-in for the court's case-flow API: answers by query string."""

    url: str = ""
    answers: dict[str, tuple[int, bytes]] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    requests: list[dict[str, list[str]]] = dataclasses.field(default_factory=list)
    released: threading.Event = dataclasses.field(default_factory=threading.Event)

    def answer(self, query: str, status: int, body: object) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[query] = (status, raw)


def _handler(service: CaseService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.urlsplit(self.path).query
            service.requests.append(urllib.parse.parse_qs(query))
            if service.delay and service.released.wait(service.delay):
                return  # the test is over; nobody is listening
            status, body = service.answers.get(query, (404, b""))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up waiting, which is what a slow-server test wants

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output quiet

    return Handler


@pytest.fixture
def service() -> Iterator[CaseService]:
    service = CaseService()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    service.url = f"http://127.0.0.1:{server.server_address[1]}/api/cases"
    try:
        yield service
    finally:
        service.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


async def test_http_found_by_query_code(service: CaseService) -> None:
    service.answer("query_code=2026030001", 200, CASE_JSON)

    found = await HttpCaseSource(service.url, 2.0).by_query_code("2026030001")

    assert found == CaseInfo("2026030001", "（2026）豫03民初1234号", "审理中", "民事审判第一庭",
                             "张明", datetime(2026, 12, 3, 1, 30, tzinfo=UTC))
    assert service.requests == [{"query_code": ["2026030001"]}]


async def test_http_by_id_number_reads_a_list(service: CaseService) -> None:
    other = {"query_code": "2026030003", "case_number": "（2025）豫03执89号", "stage": None,
             "next_hearing": "2026-12-10T15:00:00"}  # no offset: court time
    service.answer(f"id_number={ALICE}", 200, [other, CASE_JSON])

    found = await HttpCaseSource(service.url, 2.0).by_id_number(ALICE)

    assert [c.query_code for c in found] == ["2026030003", "2026030001"]
    assert (found[0].stage, found[0].judge) == ("", "")
    assert found[0].next_hearing == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "body"), [(404, b""), (200, None), (200, []),
                                              (200, b"")])
async def test_http_not_found_is_none(service: CaseService, status: int, body: object) -> None:
    service.answer("query_code=2026030009", status, body)
    source = HttpCaseSource(service.url, 2.0)

    assert await source.by_query_code("2026030009") is None


async def test_http_reads_the_parties_phones(service: CaseService) -> None:
    parties = [{"id_number": ALICE.lower(), "phone": "13912345678"},
               {"id_number": BOB, "phone": None}, {"phone": 13812340002}]
    service.answer(f"id_number={ALICE}", 200, [{**CASE_JSON, "parties": parties}])

    [found] = await HttpCaseSource(service.url, 2.0).by_id_number(ALICE)

    assert found.parties == (cases.Party(ALICE, "13912345678"), cases.Party(BOB, ""),
                             cases.Party("", "13812340002"))
    assert cases.caller_is_party(found, "13812340002")
    assert cases.party_mobiles([found], ALICE) == ["13912345678"]


async def test_http_case_without_parties_is_nobodys_by_phone(service: CaseService) -> None:
    service.answer(f"id_number={ALICE}", 200, CASE_JSON)

    [found] = await HttpCaseSource(service.url, 2.0).by_id_number(ALICE)

    assert found.parties == () and not cases.caller_is_party(found, "13912345678")


@pytest.mark.parametrize("parties", [{"id_number": ALICE}, ["13912345678"],
                                     [{"phone": ["13912345678"]}]])
async def test_http_parties_not_understood_raise(service: CaseService, parties: object) -> None:
    service.answer(f"id_number={ALICE}", 200, {**CASE_JSON, "parties": parties})

    with pytest.raises(CaseSourceError, match="answer not understood"):
        await HttpCaseSource(service.url, 2.0).by_id_number(ALICE)


async def test_http_unknown_person_is_an_empty_list(service: CaseService) -> None:
    assert await HttpCaseSource(service.url, 2.0).by_id_number(BOB) == []


async def test_http_keeps_the_urls_own_parameters(service: CaseService) -> None:
    service.answer("court=ly&query_code=2026030001", 200, CASE_JSON)

    source = HttpCaseSource(service.url + "?court=ly", 2.0)

    assert await source.by_query_code("2026030001") is not None


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, b"oops", "HTTP 500"),
    (503, b"", "HTTP 503"),
    (200, b"{not json", "JSONDecodeError"),
    (200, {"case_number": "x"}, "answer not understood"),
    (200, "just a string", "answer not understood"),
    (200, {**CASE_JSON, "next_hearing": "next week"}, "answer not understood"),
    (200, {**CASE_JSON, "judge": ["a"]}, "judge must be a string"),
    (200, {**CASE_JSON, "query_code": "2026030002"}, "another case"),
])
async def test_http_failures_raise_case_source_error(service: CaseService, status: int,
                                                     body: object, message: str) -> None:
    service.answer("query_code=2026030001", status, body)

    with pytest.raises(CaseSourceError, match=message):
        await HttpCaseSource(service.url, 2.0).by_query_code("2026030001")


async def test_http_failures_are_logged_without_the_id_number(
        service: CaseService, caplog: pytest.LogCaptureFixture) -> None:
    service.answer(f"id_number={ALICE}", 500, b"")

    with pytest.raises(CaseSourceError) as caught:
        await HttpCaseSource(service.url, 2.0).by_id_number(ALICE)

    assert "HTTP 500" in caplog.text
    assert ALICE not in caplog.text and ALICE not in str(caught.value)


async def test_http_slow_server_fails_after_the_timeout(service: CaseService) -> None:
    service.answer("query_code=2026030001", 200, CASE_JSON)
    service.delay = 10.0

    started = time.monotonic()
    with pytest.raises(CaseSourceError, match="no answer in time"):
        await HttpCaseSource(service.url, 0.3).by_query_code("2026030001")
    assert 0.25 < time.monotonic() - started < 2.0


async def test_http_server_down_raises_case_source_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # nobody listens on the port any more: the connection is refused

    with pytest.raises(CaseSourceError, match="case service"):
        await HttpCaseSource(f"http://127.0.0.1:{port}/cases", 2.0).by_id_number(ALICE)


# --- the bridge's lock-out, from memory (issue 12) -----------------------------------------

def test_the_bridges_lockout_judges_as_the_database_does() -> None:
    lockout = cases.QueryLockout(RULES)
    for minute in (0, 4):
        lockout.note(CALLER, False, T0 + timedelta(minutes=minute))
    assert not lockout.locked(CALLER, T0 + timedelta(minutes=5))
    lockout.note(CALLER, False, T0 + timedelta(minutes=9))

    assert lockout.locked(CALLER, T0 + timedelta(minutes=38.9))
    assert not lockout.locked(CALLER, T0 + timedelta(minutes=39))
    assert not lockout.locked("13900000000", T0 + timedelta(minutes=9))
    lockout.note(CALLER, True, T0 + timedelta(minutes=10))
    assert not lockout.locked(CALLER, T0 + timedelta(minutes=10))


async def test_the_bridges_lockout_reads_other_nodes_failures_and_keeps_its_own(
        sessions: Sessions) -> None:
    lockout = cases.QueryLockout(RULES)
    await _fail(sessions, 0, 1)  # another bridge's, in the database
    lockout.note(CALLER, False, T0 + timedelta(minutes=2))  # ours, not written yet
    async with session_scope(sessions) as session:
        await lockout.refresh(session, T0 + timedelta(minutes=3))

    assert lockout.locked(CALLER, T0 + timedelta(minutes=3))
    async with session_scope(sessions) as session:  # once written, it is not counted twice
        await cases.note_failure(session, CALLER, T0 + timedelta(minutes=2))
        await lockout.refresh(session, T0 + timedelta(minutes=3))
    lockout.note(CALLER, True, T0 + timedelta(minutes=4))
    lockout.note(CALLER, False, T0 + timedelta(minutes=5))
    assert not lockout.locked(CALLER, T0 + timedelta(minutes=5))


async def test_a_right_code_is_not_undone_by_rows_read_before_their_deletion(
        sessions: Sessions) -> None:
    lockout = cases.QueryLockout(RULES)
    await _fail(sessions, 0, 1, 2)
    async with session_scope(sessions) as session:
        await lockout.refresh(session, T0 + timedelta(minutes=2))
    assert lockout.locked(CALLER, T0 + timedelta(minutes=2))

    lockout.note(CALLER, True, T0 + timedelta(minutes=3))  # the deletion is still queued
    async with session_scope(sessions) as session:
        await lockout.refresh(session, T0 + timedelta(minutes=4))
    assert not lockout.locked(CALLER, T0 + timedelta(minutes=4))
    # and long after, the memory holds nothing older than the window and the lock
    async with session_scope(sessions) as session:
        await lockout.refresh(session, T0 + timedelta(days=1))
    assert lockout._times == {} and lockout._cleared == {}

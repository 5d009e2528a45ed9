"""Hearing a call's recordings in the console, only for those allowed, every listen logged.

    GET /api/recordings/{id}/audio          the audio, with HTTP Range (206) for the player;
                                            ?download=1 as an attachment
    GET /api/calls/{call_id}/recordings     the call's parts in playing order (a playlist)
    GET /api/recording-access               the access log (administrators)
    GET /calls/{call_id}                    the call's page: timeline and player
    GET /admin/recording-access             the access log and open alerts (administrators)

Who may hear what is decided in hotline.recording_access; a refusal is answered 403 and
logged as "denied" — and so is a call or recording that does not exist, for everyone but
administrators: call ids are predictable, and a 404 would tell which calls exist. A play is
logged once per playback start (no Range, or a range from byte 0), not once per chunk the
player fetches while seeking.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

import pbx
from agent_console.auth import Console, Forbidden, Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error
from agent_console.listing import Filter, Page, Sort, Spec, api_page, page_of, read_query
from agent_console.pages import render
from agent_console.service import Actor, actor
from agent_console.texts import (
    ADMIN,
    AGENT,
    CALL_EVENT_LABELS,
    CALL_EVENT_TEXTS,
    CALL_OUTCOME_LABELS,
    CALL_ROUTE_LABELS,
    DIAL_STATUS_LABELS,
    HANGUP_CAUSE_LABELS,
    LEADER,
    MESSAGES,
    QUEUE_LEFT_LABELS,
    ROLES,
    SEES_PERSONAL_DATA,
    TRANSFER_KIND_LABELS,
)
from hotline import prompts, recording_access
from hotline.confidential import call_seen, clearance
from hotline.courts import calls_in_scope, court_scope
from hotline.db import calls as calls_db
from hotline.db import recording_access as access_db
from hotline.db.alerts import list_open_alerts
from hotline.db.base import session_scope
from hotline.db.models import Call, Recording, User
from hotline.db.recordings import PEAKS_SUFFIX
from hotline.privacy import mask_phone
from hotline.recording_access import Listener, may_hear_call
from hotline.timefmt import clock_time, iso, local_time

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["recordings"])

Anyone = Annotated[Principal, Depends(require_role(*ROLES))]
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
CallReader = Annotated[Principal, Depends(require_role(AGENT, LEADER, ADMIN))]

MEDIA_TYPES = {".wav": "audio/wav", ".opus": "audio/ogg", ".ogg": "audio/ogg",
               ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".webm": "audio/webm"}
# The waveform drawn on the call's page: this many bars, whatever the peaks file holds.
WAVEFORM_BARS = 400
ACCESS_LOG_LIMIT = 500


def listener(who: Principal) -> Listener:
    a = who.account
    return Listener(a.id, a.role, a.username, a.display_name, a.extension)


def recordings_dir(request: Request) -> Path:
    """The recordings folder of this configuration's PBX instance (worked out once)."""
    state = request.app.state
    folder = getattr(state, "recordings_dir", None)
    if folder is None:
        folder = pbx.instance_for(console(request).settings).recordings_dir
        state.recordings_dir = folder
    return Path(folder)


@dataclass(frozen=True)
class Playable:
    """The file to play for a recording: the kept compact copy once post-processing has
    verified it, else the original WAV."""

    path: Path
    media_type: str


def stored_file(root: Path, relative: str) -> Path | None:
    """The file a database row names under the recordings folder, if it is one there: a
    path (absolute, or with ..) never leads the console outside that folder."""
    base = root.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) and path.is_file() else None


def playable(rec: Recording, root: Path) -> Playable | None:
    candidates = []
    if rec.kept_path and rec.process_state == "done":
        candidates.append(rec.kept_path)
    if not rec.original_deleted:
        candidates.append(rec.path)
    for relative in candidates:
        path = stored_file(root, relative)
        if path is not None:
            return Playable(path, MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"))
    return None


def starts_playback(request: Request) -> bool:
    """The request a player sends to start playing: no Range, or one from byte 0."""
    wanted = request.headers.get("range", "").strip().replace(" ", "")
    return not wanted or wanted.startswith("bytes=0-")


def _not_found() -> HTTPException:
    return HTTPException(404, MESSAGES["recording_not_found"])


def refused(who: Principal, not_found: str) -> Exception:
    """What a request for a call who may not see gets: for administrators, who may see
    every call, it can only be missing (404); for anyone else missing and refused are one
    answer (403)."""
    if who.account.role == ADMIN:
        return HTTPException(404, MESSAGES[not_found])
    return Forbidden("recording_denied")


async def log_refusal(db: AsyncSession, by: Actor, call_id: str) -> None:
    if by.account.role != ADMIN:
        await recording_access.log_refusal(db, listener(by.who), call_id, by.address, by.path,
                                           at=by.now())


async def call_allowed(by: Actor, call_id: str) -> Call | None:
    """The call, if by may name it in what they write (a call log, a consultation): it
    exists and they handled it (hotline.recording_access). None otherwise, the attempt
    logged and committed; the caller answers 403 whether the call exists or not."""
    async with session_scope(by.c.sessions) as db:
        if await recording_access.may_use_call(db, listener(by.who), call_id):
            return await calls_db.get_call(db, call_id)
        await log_refusal(db, by, call_id)
    return None


def not_your_call() -> Refused:
    """The refusal of a call named in a form that is not the user's: 403, the API's message
    and the form's field error."""
    return Refused(403, MESSAGES["not_your_call"], {"call": field_error("call", "not_your_call")})


async def check_call(by: Actor, call_id: str | None) -> None:
    """A call named in a form that by did not handle (or that does not exist) is refused,
    the attempt logged (Art. 8: nobody reaches a call's caller or recording by declaring
    it)."""
    if call_id and await call_allowed(by, call_id) is None:
        raise not_your_call()


# --- the audio ------------------------------------------------------------------------

@api.get("/recordings/{recording_id}/audio", response_class=FileResponse,
         summary="A recording's audio (HTTP Range supported; ?download=1 to save it)")
async def recording_audio(recording_id: int, request: Request, who: Anyone,
                          download: bool = False) -> Response:
    by = actor(request, who)
    found: Playable | None = None
    async with session_scope(by.c.sessions) as db:
        rec = await access_db.get_recording(db, recording_id)
        allowed = rec is not None and await may_hear_call(db, listener(who), rec.call_id)
        if rec is None:
            await log_refusal(db, by, "")
        elif not allowed:
            await access_db.log_access(db, rec.id, who.account.id, access_db.DENIED,
                                       by.address, by.path, at=by.now())
        else:
            found = None if rec.deleted_at else playable(rec, recordings_dir(request))
            if found is not None and (download or starts_playback(request)):
                await access_db.log_access(
                    db, rec.id, who.account.id,
                    access_db.DOWNLOAD if download else access_db.PLAY, by.address,
                    at=by.now())
    # Refused after the commit, so the refusal stays in the log.
    if rec is None or not allowed:
        raise refused(who, "recording_not_found")
    if found is None:
        raise _not_found()
    name = f"{rec.call_id}-{rec.part}{found.path.suffix}"
    return FileResponse(found.path, media_type=found.media_type,
                        content_disposition_type="attachment" if download else "inline",
                        filename=name)


# --- the call's parts, and its page ------------------------------------------------------

class PartOut(BaseModel):
    id: int
    part: int
    kind: str = Field(description="call: the whole-call recording; message: a voice message")
    status: str
    duration_seconds: float | None
    format: str = Field(description="wav, or the kept format (opus, mp3) once processed")
    available: bool
    url: str
    download_url: str


class PlaylistOut(BaseModel):
    call_id: str
    parts: list[PartOut] = Field(description="in playing order: one call plays as one")


def _part(rec: Recording, root: Path) -> PartOut:
    found = None if rec.deleted_at else playable(rec, root)
    fmt = found.path.suffix.lstrip(".").lower() if found else ""
    url = f"/api/recordings/{rec.id}/audio"
    return PartOut(id=rec.id, part=rec.part, kind=rec.kind, status=rec.status,
                   duration_seconds=rec.duration_seconds, format=fmt,
                   available=found is not None, url=url, download_url=f"{url}?download=1")


async def _call_for(request: Request, who: Principal, call_id: str
                    ) -> tuple[Call, list[Recording]]:
    """The call and its recordings in playing order, if who may hear them; a refusal is
    logged against each recording, and committed, before the 403."""
    by = actor(request, who)
    async with session_scope(by.c.sessions) as db:
        call = await calls_db.get_call(db, call_id)
        allowed = call is not None and await may_hear_call(db, listener(who), call_id)
        if not allowed:
            await log_refusal(db, by, call_id)
        parts = await access_db.parts_of_call(db, call_id) if allowed else []
    if call is None or not allowed:
        raise refused(who, "call_not_found")
    return call, parts


async def _call_id(request: Request, named: str) -> str:
    """The call's id from its readable number (20261130-0042), or the id as given."""
    if calls_db.parse_readable(named):
        c = console(request)
        async with session_scope(c.sessions) as db:
            return await calls_db.call_id_by_number(db, named, c.settings.hours.timezone) \
                or named
    return named


@api.get("/calls/{call_id}/recordings", response_model=PlaylistOut,
         summary="a call's recordings in playing order, the call named by its readable "
                 "number (20261130-0042) or its id")
async def call_recordings(call_id: str, request: Request, who: Anyone) -> PlaylistOut:
    _call, parts = await _call_for(request, who, await _call_id(request, call_id))
    root = recordings_dir(request)
    return PlaylistOut(call_id=call_id, parts=[_part(rec, root) for rec in parts])


async def _calls(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str],
                 base: str) -> Page[CallRow]:
    """A page of the call list: searched by number (the caller's digits, or its readable
    number), filtered by day, route, agent and outcome."""
    tz = c.settings.hours.timezone
    agents = await _agents(db)
    spec = call_spec({u: name for u, (name, _) in agents.items()}, agents)
    wanted = read_query(raw, spec, tz, base=base)
    seen = await clearance(db, who.account.id, who.account.role)
    query = calls_db.list_query().where(
        call_seen(seen, Call.id), calls_in_scope(await court_scope(db, who.account.id), Call.id))
    asked = wanted
    if calls_db.parse_readable(wanted.search):
        # a readable number names one call (or none): not a search by digits
        named = await calls_db.call_id_by_number(db, wanted.search, tz)
        query = query.where(Call.id == (named or ""))
        asked = dataclasses.replace(wanted, search="")
    found = await page_of(db, query, asked, scalars=True)
    numbers = await calls_db.readable_numbers(db, found.rows, tz)
    rows = [await _call_row(db, who, call, numbers.get(call.id, ""), tz)
            for call in found.rows]
    return Page(rows, found.total, found.number, found.pages, wanted)


@pages.get("/calls")
async def calls_page(request: Request, who: CallReader) -> Response:
    """Every call, searched and filtered (_calls); the player for those who may hear it."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        page = await _calls(c, db, who, request.query_params, "/calls")
    return render(request, "calls.html", user=who.account, csrf_token=who.csrf_token,
                  page=page)


class CallOut(BaseModel):
    number: str = Field(description="the call's readable number: its local day and place "
                                    "among that day's calls, 20261130-0042")
    started_at: str = Field(description="the court's local time, YYYY-MM-DD HH:MM")
    caller_number: str = Field(description="masked unless the reader's role sees personal "
                                           "data")
    route: str = Field(description="where the menu sent the call (code)")
    route_label: str
    agent: str = Field(description="who answered (a name, or 分机 8001); '' if no seat did")
    duration: str = Field(description="3分05秒; '' while the call lasts")
    duration_seconds: int | None
    recorded: bool
    audible: bool = Field(description="the reader may hear its recordings")
    audio_urls: list[str] = Field(description="the recording's parts in playing order, if "
                                              "audible (every play is logged)")
    asterisk_id: str | None = Field(None, description="the PBX's id of the call "
                                                      "(administrators only)")


@api.get("/calls", summary="the call list: the same search, filters and paging as /calls "
                           "(X-Total-Count, Link)")
async def api_calls(request: Request, response: Response, who: CallReader) -> list[CallOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        page = await _calls(c, db, who, request.query_params, "/api/calls")
    # the seat's words as the page shows them (a template filter of the app's)
    from agent_console.app import seat_label

    admin = who.account.role == ADMIN
    return api_page(response, page.map(lambda row: CallOut(
        number=row.number, started_at=row.started_at, caller_number=row.caller,
        route=row.route_code, route_label=row.route, agent=seat_label(row.agent),
        duration=row.duration, duration_seconds=row.seconds,
        recorded=row.recorded, audible=row.audible,
        audio_urls=[f"/api/recordings/{part}/audio" for part in row.parts],
        asterisk_id=row.call_id if admin else None)))


async def _agents(db: AsyncSession) -> dict[str, tuple[str, set[str]]]:
    """Agents by user name: the name shown, and the names a call's agent column may hold
    for them (the queue member name is the display name, or the user name)."""
    rows = (await db.execute(select(User.username, User.display_name, User.extension)
                             .where(User.role == AGENT).order_by(User.username))).all()
    return {name: (shown or name, {shown or name, name}) for name, shown, _ in rows}


def call_spec(agent_choices: dict[str, str],
              agents: dict[str, tuple[str, set[str]]]) -> Spec:
    routes = {k: v for k, v in CALL_ROUTE_LABELS.items() if k}
    return Spec(
        numbers=(Call.caller_number,), moment=Call.started_at,
        filters={
            "route": Filter("去向", routes, lambda v: Call.route == v),
            "agent": Filter("座席员", agent_choices,
                            lambda v: Call.agent.in_(sorted(agents[v][1]))),
            "outcome": Filter("接通情况", CALL_OUTCOME_LABELS, _outcome),
        },
        sorts={"time": Sort("来电时间", Call.started_at, Call.id)},
        default_sort="time", search_hint="来电号码或通话编号，如 20261130-0042")


def _outcome(code: str) -> ColumnElement[bool]:
    """answered: a seat took the call; abandoned: the caller waited in the queue and no
    seat took it."""
    if code == "answered":
        return Call.agent != ""
    return and_(Call.route == "queue", Call.agent == "")


@dataclass(frozen=True)
class CallRow:
    call_id: str
    number: str
    started_at: str
    caller: str
    route: str
    agent: str
    duration: str
    recorded: bool
    audible: bool
    parts: list[int]
    route_code: str = ""
    seconds: int | None = None


async def _call_row(db: AsyncSession, who: Principal, call: Call, number: str,
                    tz: str) -> CallRow:
    whole = who.account.role in SEES_PERSONAL_DATA
    kept = [r for r in call.recordings if r.deleted_at is None]
    audible = bool(kept) and await may_hear_call(db, listener(who), call.id)
    return CallRow(call.id, number, local_time(call.started_at, tz),
                   call.caller_number if whole else mask_phone(call.caller_number),
                   CALL_ROUTE_LABELS.get(call.route, "其他"), call.agent,
                   duration_text(call.started_at, call.ended_at), bool(kept), audible,
                   [r.id for r in sorted(kept, key=lambda r: (r.part, r.id))
                    if r.kind == "call"] if audible else [], call.route,
                   None if call.ended_at is None
                   else max(0, round((call.ended_at - call.started_at).total_seconds())))


def duration_text(start: datetime, end: datetime | None) -> str:
    """A call's length as staff read it: 3分05秒; "" while it lasts.

    >>> from datetime import UTC
    >>> duration_text(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 3, 5, tzinfo=UTC))
    '3分05秒'
    """
    if end is None:
        return ""
    seconds = max(0, round((end - start).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}分{seconds:02d}秒" if minutes else f"{seconds}秒"


@pages.get("/calls/{call_id}")
async def call_page(call_id: str, request: Request, who: Anyone) -> Response:
    """A call's page, by its readable number (20261130-0042) or its id."""
    c = console(request)
    tz = c.settings.hours.timezone
    if calls_db.parse_readable(call_id):
        async with session_scope(c.sessions) as db:
            call_id = await calls_db.call_id_by_number(db, call_id, tz) or call_id
    call, parts = await _call_for(request, who, call_id)
    root = recordings_dir(request)
    whole = who.account.role in SEES_PERSONAL_DATA
    async with session_scope(c.sessions) as db:
        number = await calls_db.readable_number_of(db, call, tz)
    return render(request, "call_detail.html", user=who.account, csrf_token=who.csrf_token,
                  call=call, number=number, started_at=local_time(call.started_at, tz),
                  caller=call.caller_number if whole else mask_phone(call.caller_number),
                  route=CALL_ROUTE_LABELS.get(call.route, "其他"),
                  duration=duration_text(call.started_at, call.ended_at),
                  events=[event_view(e.at, e.kind, e.detail, tz) for e in call.events],
                  parts=[(_part(rec, root), waveform(rec, root)) for rec in parts])


def event_view(at: datetime, kind: str, detail: dict[str, str] | None,
               tz: str) -> dict[str, str]:
    """One step of a call as its timeline shows it: the time of day in the court's zone,
    what happened and its detail in words (never a file path or a code)."""
    return {"at": clock_time(at, tz), "kind": kind, "label": CALL_EVENT_LABELS.get(kind, "其他"),
            "detail": event_detail(kind, detail or {})}


def event_detail(kind: str, detail: dict[str, str]) -> str:
    """What a call event's detail says, in Chinese.

    >>> event_detail("route", {"route": "menu"})
    '转入语音菜单'
    >>> event_detail("recording", {"path": "2026/11/30/x.wav", "kind": "call"})
    '整通通话录音'
    >>> event_detail("menu", {"prompt": "main-menu", "key": "2", "timeout": "no"})
    '按键 2'
    """
    words = CALL_EVENT_TEXTS
    if kind == "recording":
        return words["recording_message" if detail.get("kind") == "message" else "recording_call"]
    if kind == "prompt":
        return _prompt_words(detail.get("prompt", ""))
    if kind == "menu":
        return _menu_words(detail)
    if kind == "route":
        route = detail.get("route", "")
        return words["route"].format(route=CALL_ROUTE_LABELS.get(route, "其他流程"))
    if kind in ("say", "record", "reconciled"):
        return words[kind]
    if kind == "ticket" and detail.get("reference", "").isdigit():
        return words["ticket"].format(reference=detail["reference"])
    if kind == "sms":
        return (words["sms_party"].format(count=detail.get("count", "")) if detail.get("to") ==
                "party" else words["sms_caller"])
    if kind in ("queue", "queue-wait") and detail.get("position", "").isdigit():
        return words["queue"].format(position=detail["position"])
    if kind == "queue-left":
        return QUEUE_LEFT_LABELS.get(detail.get("status", ""), "")
    if kind == "agent":
        return (words["agent"].format(extension=detail["extension"])
                if detail.get("extension", "").isdigit() else "")
    if kind == "judge-ringing" and detail.get("target", "").isdigit():
        return words["target"].format(target=f"分机 {detail['target']}")
    if kind == "transfer-returned":
        return DIAL_STATUS_LABELS.get(detail.get("status", ""), "")
    if kind == "transfer":
        how = TRANSFER_KIND_LABELS.get(detail.get("kind", ""), "转接")
        ok = detail.get("result", "").lower() in ("success", "")
        return words["transfer_ok" if ok else "transfer_failed"].format(kind=how)
    if kind == "hangup":
        cause = detail.get("cause", "")
        return HANGUP_CAUSE_LABELS.get(cause) or (
            words["cause_other"].format(cause=cause) if cause.isdigit() else "")
    return ""


_PROMPT_WORDS = 24


@functools.cache
def _prompt_sentences() -> dict[str, str]:
    try:
        return prompts.manifest()
    except (OSError, ValueError, prompts.PromptError):
        return {}


def _prompt_words(prompt: str) -> str:
    sentence = _prompt_sentences().get(prompt, "")
    if not sentence:
        return CALL_EVENT_TEXTS["prompt_other"]
    cut = sentence if len(sentence) <= _PROMPT_WORDS else sentence[:_PROMPT_WORDS] + "…"
    return CALL_EVENT_TEXTS["prompt"].format(text=cut)


def _menu_words(detail: dict[str, str]) -> str:
    key = detail.get("key", "")
    hidden = re.fullmatch(r"<(\d+) digits>", key)
    if hidden:
        return CALL_EVENT_TEXTS["menu_digits"].format(count=hidden.group(1))
    if key:
        spoken = key.replace("*", "星号").replace("#", "井号")
        return CALL_EVENT_TEXTS["menu_key"].format(key=spoken)
    return CALL_EVENT_TEXTS["menu_timeout"] if detail.get("timeout") == "yes" else ""


def waveform(rec: Recording, root: Path) -> list[float]:
    """Bar heights (0..1) from the peaks file post-processing writes beside the kept copy;
    empty when there is none yet."""
    if not rec.kept_path or rec.deleted_at:
        return []
    peaks_file = stored_file(root, rec.kept_path + PEAKS_SUFFIX)
    if peaks_file is None:
        return []
    try:
        data: Any = json.loads(peaks_file.read_text())
        peaks = [float(p) for p in data["peaks"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if len(peaks) <= WAVEFORM_BARS:
        return peaks
    step = len(peaks) / WAVEFORM_BARS
    return [max(peaks[int(i * step):int((i + 1) * step)] or [0.0])
            for i in range(WAVEFORM_BARS)]


# --- the access log, for administrators ------------------------------------------------

@dataclass(frozen=True)
class AccessFilter:
    username: str
    since: datetime | None
    until: datetime | None
    action: str


def access_filter(raw: dict[str, str], tz: str) -> tuple[AccessFilter, Errors]:
    """The log's filters as typed: user name, first and last day (inclusive), action."""
    errors: Errors = {}
    days = {}
    for name in ("start", "end"):
        text = raw.get(name, "").strip()
        try:
            days[name] = datetime.fromisoformat(text).date() if text else None
        except ValueError:
            errors[name] = field_error(name, "date")
            days[name] = None
    action = raw.get("action", "").strip()
    if action and action not in access_db.ACTIONS:
        errors["action"] = field_error("action", "choose")
        action = ""
    zone = ZoneInfo(tz)
    since = datetime.combine(days["start"], time(), zone) if days["start"] else None
    until = (datetime.combine(days["end"] + timedelta(days=1), time(), zone)
             if days["end"] else None)
    return AccessFilter(raw.get("user", "").strip(), since, until, action), errors


class AccessOut(BaseModel):
    id: int
    at: str
    action: str
    username: str
    display_name: str
    recording_id: int | None
    call_id: str
    address: str
    reason: str


@api.get("/recording-access", response_model=list[AccessOut])
async def access_log_api(request: Request, _who: Admin, user: str = "", start: str = "",
                         end: str = "", action: str = "") -> list[AccessOut]:
    c = console(request)
    wanted, errors = access_filter({"user": user, "start": start, "end": end,
                                    "action": action}, c.settings.hours.timezone)
    if errors:
        raise Invalid(errors)
    async with session_scope(c.sessions) as db:
        rows = await _access_rows(db, wanted)
    return [AccessOut(id=r.id, at=iso(r.at), action=r.action, username=r.username,
                      display_name=r.display_name, recording_id=r.recording_id,
                      call_id=r.call_id, address=r.address, reason=r.reason) for r in rows]


async def _access_rows(db: AsyncSession, wanted: AccessFilter) -> list[access_db.AccessRow]:
    return await access_db.list_access(db, username=wanted.username, since=wanted.since,
                                       until=wanted.until, action=wanted.action,
                                       limit=ACCESS_LOG_LIMIT)


@pages.get("/admin/recording-access")
async def access_log_page(request: Request, who: Admin) -> Response:
    c = console(request)
    raw = {name: request.query_params.get(name, "") for name in ("user", "start", "end",
                                                                 "action")}
    wanted, errors = access_filter(raw, c.settings.hours.timezone)
    async with session_scope(c.sessions) as db:
        rows = [] if errors else await _access_rows(db, wanted)
        alerts = await list_open_alerts(db)
    tz = c.settings.hours.timezone
    return render(request, "admin_recording_access.html", user=who.account,
                  csrf_token=who.csrf_token, values=raw, errors=errors,
                  rows=[(local_time(r.at, tz), r) for r in rows],
                  alerts=[(local_time(a.raised_at, tz), a) for a in alerts],
                  actions=ACTION_LABELS, limit=ACCESS_LOG_LIMIT)


ACTION_LABELS = {"play": "播放", "download": "下载", "denied": "拒绝访问", "delete": "删除",
                 "hold": "诉讼保全", "release": "解除保全"}

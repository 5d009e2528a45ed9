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

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

import pbx
from agent_console.auth import Forbidden, Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error
from agent_console.pages import render
from agent_console.service import Actor, actor
from agent_console.texts import ADMIN, MESSAGES, ROLES, SEES_PERSONAL_DATA
from hotline import recording_access
from hotline.db import calls as calls_db
from hotline.db import recording_access as access_db
from hotline.db.alerts import list_open_alerts
from hotline.db.base import session_scope
from hotline.db.models import Call, Recording
from hotline.db.recordings import PEAKS_SUFFIX
from hotline.privacy import mask_phone
from hotline.recording_access import Listener, may_hear_call
from hotline.timefmt import clock_time, iso, local_time

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["recordings"])

Anyone = Annotated[Principal, Depends(require_role(*ROLES))]
Admin = Annotated[Principal, Depends(require_role(ADMIN))]

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


@api.get("/calls/{call_id}/recordings", response_model=PlaylistOut)
async def call_recordings(call_id: str, request: Request, who: Anyone) -> PlaylistOut:
    _call, parts = await _call_for(request, who, call_id)
    root = recordings_dir(request)
    return PlaylistOut(call_id=call_id, parts=[_part(rec, root) for rec in parts])


@pages.get("/calls/{call_id}")
async def call_page(call_id: str, request: Request, who: Anyone) -> Response:
    call, parts = await _call_for(request, who, call_id)
    c = console(request)
    root = recordings_dir(request)
    tz = c.settings.hours.timezone
    whole = who.account.role in SEES_PERSONAL_DATA
    return render(request, "call_detail.html", user=who.account, csrf_token=who.csrf_token,
                  call=call, started_at=local_time(call.started_at, tz),
                  caller=call.caller_number if whole else mask_phone(call.caller_number),
                  events=[_event_view(e.at, e.kind, e.detail, tz) for e in call.events],
                  parts=[(_part(rec, root), waveform(rec, root)) for rec in parts])


def _event_view(at: datetime, kind: str, detail: dict[str, str], tz: str) -> dict[str, str]:
    moment = clock_time(at, tz)
    shown = {k: v for k, v in (detail or {}).items() if k != "user_id"}
    return {"at": moment, "kind": kind, "label": EVENT_LABELS.get(kind, kind),
            "detail": "，".join(f"{k}={v}" for k, v in shown.items())}


EVENT_LABELS = {
    "recording": "开始录音", "prompt": "播放提示音", "menu": "语音菜单按键", "route": "分流",
    "queue": "进入排队", "queue-left": "离开排队", "abandon": "排队中挂断", "agent": "座席接听",
    "judge-ringing": "转接值班法官", "transfer": "转接", "transfer-returned": "转接未接通返回座席",
    "fallback": "应急流程", "hangup": "挂机",
}


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

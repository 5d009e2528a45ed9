"""The hotline's tables, one section per aggregate: calls (with their events and
recordings), the calendar, cases, the knowledge base, tickets and SMS."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db.base import Base, UTCDateTime, utcnow


class Call(Base):
    """One call to the hotline, from the carrier's INVITE to hang-up, across every leg.

    The id is Asterisk's linkedid: the uniqueid of the caller's channel, shared by every
    channel the call touches (queue, agent, transfer).
    """

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller_number: Mapped[str] = mapped_column(String(40), default="")
    channel: Mapped[str] = mapped_column(String(120), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # answered | unanswered | failed | busy, as Asterisk's CDR says it
    disposition: Mapped[str] = mapped_column(String(20), default="")
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    # where the call went: menu (the bridge's voice menu), queue, closed, fallback
    route: Mapped[str] = mapped_column(String(20), default="")
    # the keys pressed in the voice menu, in order, e.g. "1,0"
    menu_path: Mapped[str] = mapped_column(String(200), default="")
    agent: Mapped[str] = mapped_column(String(40), default="")
    # live: written as it happened; reconciled: rebuilt from Asterisk's CDR after a gap
    source: Mapped[str] = mapped_column(String(12), default="live")

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.id", cascade="all, delete-orphan"
    )
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="call", order_by="Recording.id", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_calls_started_at", "started_at"),)


class CallEvent(Base):
    """One step of a call's life: start, answer, route, menu, queue, agent, transfer, ..."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class Recording(Base):
    """An audio file of a call. path is relative to the recordings folder."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    # call: the whole-call MixMonitor file; message: a voice message left by the caller
    kind: Mapped[str] = mapped_column(String(12), default="call")
    path: Mapped[str] = mapped_column(String(300), unique=True)
    # recording | complete | missing | invalid
    status: Mapped[str] = mapped_column(String(12), default="recording")
    duration_seconds: Mapped[float | None]
    size_bytes: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    call: Mapped[Call] = relationship(back_populates="recordings")


class ReconcileMark(Base):
    """How far the reconciler has read a source (e.g. the CDR file), so it resumes there."""

    __tablename__ = "reconcile_marks"

    source: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StateEntry(Base):
    """Small pieces of shared state that every process must agree on (e.g. the manual
    open/closed mode), kept in the database rather than in one process's memory."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- the working-day calendar -----------------------------------------------------------

class CalendarOverride(Base):
    """A date whose working-day status the court sets itself, over the state calendar:
    next year's holidays before the package knows them, a local closure, a court event."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool]
    name: Mapped[str] = mapped_column(String(60), default="")
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- cases, as the case-flow system exports them ----------------------------------------

class Case(Base):
    """One case as the court's case-flow system last exported it (Art. 5(1))."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # the query code printed on the case acceptance notice
    query_code: Mapped[str] = mapped_column(String(40), unique=True)
    case_number: Mapped[str] = mapped_column(String(80), default="")
    stage: Mapped[str] = mapped_column(String(40), default="")
    department: Mapped[str] = mapped_column(String(80), default="")
    judge: Mapped[str] = mapped_column(String(40), default="")
    next_hearing: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseParty.id")


class CaseParty(Base):
    """A party's resident ID number on a case: a caller may look cases up by it."""

    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)

    case: Mapped[Case] = relationship(back_populates="parties")


class QueryFailure(Base):
    """A wrong query code keyed from a number; enough of them lock the number out."""

    __tablename__ = "query_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller_number: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- knowledge base ------------------------------------------------------------------

class KnowledgeEntry(Base):
    """A procedural answer the voice menu plays and agents search (Art. 5(2))."""

    __tablename__ = "knowledge_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # the key that plays it in the consultation menu ("1".."9"), or empty: console only
    menu_key: Mapped[str] = mapped_column(String(2), default="")
    title: Mapped[str] = mapped_column(String(80))
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- tickets and messages -----------------------------------------------------------

class Ticket(Base):
    """A matter a caller raised (Art. 4-6). The tickets issue extends this minimal table
    with departments, deadlines and escalation."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # what the caller is told and keys in later: YYMMDD + a 4-digit sequence
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    type: Mapped[str] = mapped_column(String(20))  # hotline.catalog.TICKET_TYPES
    subtype: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    caller_number: Mapped[str] = mapped_column(String(40), default="")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"),
                                                index=True)
    # a voice message, relative to the recordings folder
    audio_path: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # the agent who answered the call (Art. 6), or who picked up an after-hours ticket
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    # who is asked to act on it now: the duty judge for a consultation, a handler, ...
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # when the caller first joined the queue: callbacks are returned in this order, so a
    # caller who gave up waiting keeps their turn
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsMessage(Base):
    """An SMS to a caller. The SMS issue adds the drivers that send them; until then they
    wait here, in the outbox."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to_number: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- console users, sessions and API tokens -------------------------------------------

class User(Base):
    """A member of staff who logs in to the web console. role is one of
    agent_console.texts.ROLES; passwords are kept only as argon2 hashes."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # the seat (or judge) phone this user answers on, e.g. "8001"; empty for none
    extension: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A browser's session with the console. The cookie holds a random secret; only its
    SHA-256 is stored, so a copy of the database logs nobody in. A session without a user
    is a login form's, there only to carry that form's CSRF token."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # last_seen_at + the idle timeout, moved on at every request
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A bearer token for the console's JSON API (/api/), stored as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# --- office hours: phones, presence, call logs, the duty roster -------------------------

class Phone(Base):
    """A SIP desk phone: a seat agent's or a duty judge's. Administrators add, disable and
    re-key them in the console; site/pjsip.conf is rendered from this table. The SIP
    password must be kept readable (Asterisk answers the digest challenge with it); it is
    shown to administrators only, and only when it is set."""

    __tablename__ = "phones"

    extension: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # seat | judge
    label: Mapped[str] = mapped_column(String(60), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    password: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AgentPresence(Base):
    """Where an agent is: logged out, ready in the seats queue, or paused with a reason.
    Asterisk holds the live queue; this row is what the console asked for, so the queue
    is rebuilt after Asterisk restarts and the console shows it without asking."""

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    extension: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(10), default="out")  # out | ready | paused
    reason: Mapped[str] = mapped_column(String(20), default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallLog(Base):
    """The agent's record of one call (Art. 9): who called, about what, what they were told
    and what happened next. The agent who answered owns it (Art. 6)."""

    __tablename__ = "call_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"),
                                                index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    caller_name: Mapped[str] = mapped_column(String(60))
    caller_kind: Mapped[str] = mapped_column(String(20))  # party | lawyer | public
    contact: Mapped[str] = mapped_column(String(40))
    id_number: Mapped[str] = mapped_column(String(20), default="")
    case_number: Mapped[str] = mapped_column(String(60), default="")
    category: Mapped[str] = mapped_column(String(20))  # hotline.catalog.SERVICES
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    # answered | duty_judge | forwarded | substantive
    outcome: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DutyAssignment(Base):
    """The duty judge of one court day (Art. 7), set by the administrator."""

    __tablename__ = "duty_roster"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(200), default="")

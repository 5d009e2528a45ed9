"""The hotline's tables, one section per aggregate: courts, calls (with their events and
recordings), the calendar, cases, the knowledge base, tickets and SMS."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy import text as sql_text  # where a column is called text
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column, relationship

from hotline.db.base import Base, UTCDateTime, utcnow

# --- courts: the centre answers 12368 for the city's courts (issue 17) --------------------

# The court an installation started as (migration 0018): the centre's own court, and the
# court of everything no other court was given.
CENTRE_COURT_ID = 1


class Court(Base):
    """A court the hotline answers for: the intermediate court (the centre, court 1) and
    each basic court of the city. Departments, staff, phones, matters, cases, the duty
    roster and calendar overrides belong to one (court_id)."""

    __tablename__ = "courts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)  # 洛阳市西工区人民法院
    short_name: Mapped[str] = mapped_column(String(20), default="")  # 西工区法院
    # the court's code in its case numbers, e.g. 豫03 (intermediate), 豫0302 (a basic
    # court): （2026）豫0302民初123号 is this court's case; "" for none
    case_prefix: Mapped[str] = mapped_column(String(20), default="")
    # the numbers callers may be given for it (free text, e.g. 0379-63211234)
    phones: Mapped[str] = mapped_column(String(200), default="")
    # the order courts are listed and offered in the voice menu (the first active is key 1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # the centre's court: its leaders and administrators see every court's matters
    centre: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


def court_column(table: str, primary_key: bool = False) -> MappedColumn[int]:
    """The court_id of a table whose rows belong to a court: the centre's court unless
    said otherwise, so a single-court installation's code and data need not name it."""
    return mapped_column(ForeignKey("courts.id", name=f"fk_{table}_court_id"),
                         default=CENTRE_COURT_ID, server_default=str(CENTRE_COURT_ID),
                         index=True, primary_key=primary_key)


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
    # the court the caller chose in the voice menu (issue 17; None: one court, or no choice)
    court_id: Mapped[int | None] = mapped_column(
        ForeignKey("courts.id", name="fk_calls_court_id"))
    # the cluster node whose Asterisk carried the call ([cluster] node; "" on one server)
    node: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # why the call was ended by something else than its hang-up: "node-lost" (its node died
    # mid-call, hotline.cluster.close_lost_calls); "" for every call Asterisk ended
    ended_by: Mapped[str] = mapped_column(String(20), default="", server_default="")

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.id", cascade="all, delete-orphan"
    )
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="call", order_by="Recording.id", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_calls_started_at", "started_at"),
                      Index("ix_calls_node_open", "node", "ended_at"))


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
    # When Asterisk splits one call's audio, the parts play in this order.
    part: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[int] = mapped_column(Integer, default=1)
    # --- post-processing (recordings/): the compact copy kept, and what was checked
    kept_path: Mapped[str] = mapped_column(String(300), default="")
    kept_format: Mapped[str] = mapped_column(String(12), default="")
    kept_size_bytes: Mapped[int | None]
    original_deleted: Mapped[bool] = mapped_column(default=False)
    level_dbfs: Mapped[float | None]
    silent: Mapped[bool] = mapped_column(default=False)
    # pending | done | failed (process_error says why)
    process_state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    process_error: Mapped[str] = mapped_column(Text, default="")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- keeping and deleting
    legal_hold: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="recordings")


class RecordingAccess(Base):
    """Every play, download, refusal and deletion of a recording: who, when, from where."""

    __tablename__ = "recording_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    # play | download | denied | delete | hold | release
    action: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Alert(Base):
    """Something wrong that staff must see (status, console) until it is resolved: a call
    without a recording, a file without a call, the disk filling up, an SMS gateway down.
    (kind, key) names one problem, so raising it again does not repeat it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (Index("ux_alerts_kind_key", "kind", "key", unique=True),)


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
    # the court it belongs to (hotline.courts), part of the key: each court has its own
    # overrides (migration 0023); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("calendar_overrides", primary_key=True)
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
    # the court it belongs to (hotline.courts); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("cases")
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
    # the party's phone in the case-flow system: a lookup by ID number is read out only to
    # a call from a party's phone, and otherwise sent by SMS to this one ("" = none known)
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")

    case: Mapped[Case] = relationship(back_populates="parties")


class QueryFailure(Base):
    """A wrong query code keyed from a number; enough of them lock the number out."""

    __tablename__ = "query_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller_number: Mapped[str] = mapped_column(String(40), index=True)
    # indexed for the failures of the last hour from every number (hotline.cases)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


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


class KnowledgeChange(Base):
    """One change to a knowledge-base entry (issue 13): who made it, when, and the entry as
    it stood after it; for a deletion, as it stood when deleted, which is what restoring it
    brings back. entry_id is no foreign key: the history outlives the entry."""

    __tablename__ = "knowledge_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    # created, changed, deleted, restored (console), imported (the CLI's TOML import)
    action: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # kept as written then: the user may be renamed or gone; "" for the command line
    username: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(80))
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40), default="")
    menu_key: Mapped[str] = mapped_column(String(2), default="")
    active: Mapped[bool] = mapped_column(default=True)


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
    # the court it belongs to (hotline.courts); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("tickets")
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
    # --- forwarding and deadlines (Art. 5(6), 10)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the close of office hours on the 2nd working day after forwarding
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 0 none, 1 the department head was pushed (督办), 2 the supervising leader
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # when the next level is due if still unanswered; NULL when nothing more is due.
    # The escalation pass reads only this indexed column.
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # --- the answer that closes it: a recorded reply call or a delivered SMS
    reply_text: Mapped[str] = mapped_column(Text, default="")
    answer_call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"))
    answer_sms_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_messages.id", ondelete="SET NULL", use_alter=True,
                   name="fk_tickets_answer_sms_id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- a complaint about the court's staff (issue 15): seen only by the discipline
    # department and administrators (hotline.confidential), never by the department
    # complained about (accused_department_id) nor its head
    confidential: Mapped[bool] = mapped_column(default=False, server_default=false())
    accused_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL",
                   name="fk_tickets_accused_department_id"))
    # --- answered or closed outside the hotline (issue 19): the court system's reference
    # of its answer ("system:reference"), a proof like a recording or a delivered SMS; and
    # how it was closed: "" with proof, "outside" by a head or an administrator without it
    answer_ref: Mapped[str] = mapped_column(String(200), default="", server_default="")
    close_kind: Mapped[str] = mapped_column(String(16), default="", server_default="")

    # the calls a confidential matter hides (hotline.confidential.call_seen)
    __table_args__ = (Index("ix_tickets_confidential_call", "call_id",
                            sqlite_where=sql_text("confidential"),
                            postgresql_where=sql_text("confidential")),)


class TicketEvent(Base):
    """One step in a ticket's history, which its owner agent sees whole (Art. 6):
    created, picked up, forwarded, notified, escalated, replied, closed, note."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Escalation(Base):
    """A push of an overdue ticket up one level: who was told, when, with which messages.
    Unique per (ticket, level): two passes at once cannot both notify."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the moment the pass was run "as of" (hotline escalate --now)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    sms_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    notice_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ux_escalations_ticket_level", "ticket_id", "level", unique=True),)


# --- the court's systems (issue 19) ------------------------------------------------------

class OutboxEvent(Base):
    """A change of a matter to push to one configured endpoint ([integrations]), written in
    the transaction of the change itself (hotline.db.outbox), so none is lost; delivered in
    id order, once acknowledged never again (hotline.integrations)."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint: Mapped[str] = mapped_column(String(40))
    # what the receiver dedupes on: the same for every endpoint the change goes to
    event_id: Mapped[str] = mapped_column(String(36))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_events_pending", "endpoint", "id",
                            sqlite_where=sql_text("delivered_at IS NULL"),
                            postgresql_where=sql_text("delivered_at IS NULL")),)


class OutboxEndpoint(Base):
    """One endpoint's delivery state: who delivers to it now (a lease, so two schedulers
    never both do), its back-off, and since when it fails (the alert)."""

    __tablename__ = "outbox_endpoints"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    lease_holder: Mapped[str] = mapped_column(String(80), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SystemToken(Base):
    """A court system's token for the inbound API (/api/systems/), stored as its SHA-256,
    limited to its scopes (hotline.system_tokens.SCOPES)."""

    __tablename__ = "system_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Appointment(Base):
    """What an appointment matter asks for (Art. 4(6)) and what the department set: its kind
    (hotline.catalog.APPOINTMENT_KINDS), the case, the caller's preferred half-days, and
    the slot confirmed, moved or cancelled in the console (hotline.appointments)."""

    __tablename__ = "appointments"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_number: Mapped[str] = mapped_column(String(60), default="")
    # the query code keyed in the voice menu when it names no case on file (for staff)
    case_code: Mapped[str] = mapped_column(String(20), default="")
    # half-days the caller prefers, in their order: ["2026-12-02/am", "2026-12-03/pm"]
    preferred: Mapped[list[str]] = mapped_column(JSON, default=list)
    # pre-litigation guidance offered before a filing (Art. 4(8)): "" not offered,
    # mediation | filing (what the caller chose), none (no answer: filing)
    guidance: Mapped[str] = mapped_column(String(20), default="")
    # requested | confirmed | cancelled
    status: Mapped[str] = mapped_column(String(20), default="requested")
    slot_day: Mapped[date | None] = mapped_column(Date)
    slot_half: Mapped[str] = mapped_column(String(2), default="")  # am | pm
    place: Mapped[str] = mapped_column(String(200), default="")
    bring: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Department(Base):
    """A court department that matters are forwarded to (Art. 5(3)-(6)): its named handler,
    its head (pushed at level 1) and its supervising court leader (level 2)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # unique within its court (two courts may each have a 立案庭; migration 0023)
    __table_args__ = (UniqueConstraint("court_id", "name", name="uq_departments_court_name"),)
    name: Mapped[str] = mapped_column(String(60))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    # the court it belongs to (hotline.courts); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("departments")


class DirectoryEntry(Base):
    """One line of the court's telephone directory (内外一号, issue 15): a department or a
    named staff member (a judge, a clerk) with the number that rings them — a PBX
    extension or an outside number dialled through the carrier — and their office hours.
    Callers reach departments by menu_key and anyone by extension; agents transfer to any
    entry. `department` names the Department a message left for the entry goes to."""

    __tablename__ = "directory_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # department | staff
    name: Mapped[str] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(60), default="")
    title: Mapped[str] = mapped_column(String(20), default="")  # 法官, 书记员, ...
    number: Mapped[str] = mapped_column(String(20))
    # "1".."8": the key of a department in the voice menu's list; "": not in the list
    menu_key: Mapped[str] = mapped_column(String(2), default="")
    # "08:30-12:00,14:30-17:30" on working days; "": the hotline's office hours
    hours: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ux_directory_entries_department_name", "department", "name",
                            unique=True),)


class Notice(Base):
    """A message to a member of staff in the console (forwarded to you, 督办, an SMS
    needing a reply); read_at set when they open it."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsMessage(Base):
    """An SMS, out to a caller or a member of staff, or in from a caller. Outgoing ones
    wait here until the configured driver (hotline.sms) has sent them; nothing is lost
    while the gateway is down."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to_number: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    # out: queued | sending | sent | delivered | failed (gave up) | undeliverable
    # in: received | replied
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    direction: Mapped[str] = mapped_column(String(3), default="out")  # out | in
    from_number: Mapped[str] = mapped_column(String(40), default="")
    # a member of staff it was sent to (notices), so the console can show their messages
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # the gateway's message id(s), one per part of a long message
    provider_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # in: the agent who answered it (Art. 8)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # out to a caller about their matter: the kind of text (hotline.caller_sms.KINDS) and
    # the values put into it, so a gateway can send it by the provider's template id
    kind: Mapped[str] = mapped_column(String(30), default="", server_default="")
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class SmsProviderEvent(Base):
    """A receipt or inbound SMS an HTTP provider reported (issue 19), kept by its key so
    each is taken once however often the provider pushes or a poll returns it. A pushed
    one waits (done_at empty) for the sender job, which stores it the way an SMPP one is
    stored and sets done_at in the same transaction (hotline.sms.sender)."""

    __tablename__ = "sms_provider_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # receipt:<provider's message id>:<state>, or inbound:<provider's id of the SMS>
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # receipt | inbound
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


# --- satisfaction (满意度) ---------------------------------------------------------------

class Rating(Base):
    """A caller's rating of the service (满意度评价): 1 满意, 2 基本满意, 3 不满意
    (hotline.ratings). Keyed on the phone after a seat's call (channel "call"), or asked
    by SMS once a matter was answered (channel "sms": the row is the ask, its score empty
    until the caller replies 1, 2 or 3). Counted per call, agent, matter and department."""

    __tablename__ = "ratings"
    # One rating keyed on the phone per call: a job run twice cannot count it twice.
    __table_args__ = (Index("ux_ratings_call", "call_id", unique=True,
                            sqlite_where=text("channel = 'call'"),
                            postgresql_where=text("channel = 'call'")),
                      Index("ix_ratings_caller_asked", "caller_number", "asked_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(4))  # call | sms
    # 1 满意 | 2 基本满意 | 3 不满意; None: asked by SMS, not answered (yet)
    score: Mapped[int | None] = mapped_column(Integer)
    caller_number: Mapped[str] = mapped_column(String(40), default="")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"),
                                                index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"),
                                                  index=True)
    # the agent the rating is about: who answered the call, or the matter's owner (Art. 6)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ask_sms_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_messages.id", ondelete="SET NULL"))
    reply_sms_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_messages.id", ondelete="SET NULL"))


# --- console users, sessions and API tokens -------------------------------------------

class User(Base):
    """A member of staff who logs in to the web console. role is one of
    agent_console.texts.ROLES; passwords are kept only as argon2 hashes."""

    __tablename__ = "users"
    # An extension is one user's at a time: the PBX's queue member, the call's agent and
    # the recording's listener are worked out from it. "" (no extension) is no claim.
    __table_args__ = (Index("uq_users_extension", "extension", unique=True,
                            sqlite_where=text("extension <> ''"),
                            postgresql_where=text("extension <> ''")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # the seat (or judge) phone this user answers on, e.g. "8001"; empty for none
    extension: Mapped[str] = mapped_column(String(20), default="")
    # where notices by SMS go (department handlers, heads, leaders); empty for none
    mobile: Mapped[str] = mapped_column(String(20), default="")
    # the court it belongs to (hotline.courts); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("users")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A browser's session with the console. The cookie holds a random secret; only its
    SHA-256 is stored, so a copy of the database logs nobody in. Only logged-in users have
    one: the login form's CSRF token is signed, not stored (agent_console.auth)."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
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


class LoginAttempt(Base):
    """One login whose password was checked, by the form or the API: what administrators
    read, and what the lock-out counts (failures per name and per address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # as typed (cut to the column), so attempts on names that do not exist show too
    username: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(45))
    success: Mapped[bool] = mapped_column(default=False)
    via: Mapped[str] = mapped_column(String(10), default="form")  # form | api


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
    # the court it belongs to (hotline.courts); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("phones")
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
    # a complaint about the court's staff: its matter goes to the discipline department
    # and the log leaves every other list (hotline.confidential)
    confidential: Mapped[bool] = mapped_column(default=False, server_default=false())
    # the court the agent picked (issue 17): the matter raised from this log is its; None
    # (one court, older logs) leaves it to the case number, else the centre's court
    court_id: Mapped[int | None] = mapped_column(
        ForeignKey("courts.id", name="fk_call_logs_court_id"))


class DutyAssignment(Base):
    """The duty judge of one court day (Art. 7), set by the administrator."""

    __tablename__ = "duty_roster"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(200), default="")
    # the court it belongs to (hotline.courts), part of the key: each court has its own
    # duty judge for a day (migration 0023); court 1 is the centre's own court
    court_id: Mapped[int] = court_column("duty_roster", primary_key=True)


# The reports read matters by the day they were forwarded (reply figures, 逾期未答复).
Index("ix_tickets_forwarded_at", Ticket.forwarded_at)


class ReportDay(Base):
    """One court day's figures, kept so a month's or a year's dashboard adds up days
    instead of reading every call (reports/rollup.py): the additive parts of the calls
    that started that day and of the matters created and forwarded that day. stamp names
    the office hours and calendar they were counted on; a day with another stamp, or one
    marked in report_dirty, is counted again when next asked for."""

    __tablename__ = "report_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stamp: Mapped[str] = mapped_column(String(40))
    parts: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportDirty(Base):
    """A UTC hour whose calls or matters changed since their report_days were counted:
    written by database triggers on calls, call_events, tickets and ticket_events (migration
    0010), so every writer — the bridge, the reconciler, the console, a script — marks
    what it changes; reports/rollup.py counts those days again and deletes the marks."""

    __tablename__ = "report_dirty"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hour: Mapped[str] = mapped_column(String(13))  # YYYY-MM-DD HH, UTC


# --- callers who abuse the line (issue 15) ----------------------------------------------

class BlockedNumber(Base):
    """A calling number an administrator put on the block list: until expires_at its calls
    hear a short notice and may only leave a message (ivr/modules/entry.py, from memory:
    hotline.blocklist.BlockList)."""

    __tablename__ = "blocked_numbers"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class BlockChange(Base):
    """Every change to the block list (added, changed, removed): who, when, and the entry
    as it stood after it. number is no foreign key: the history outlives the entry."""

    __tablename__ = "block_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(10))  # added | changed | removed
    reason: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # kept as written then: the user may be renamed or gone; "" for the command line
    username: Mapped[str] = mapped_column(String(40), default="")


class SipBan(Base):
    """An address blocked from SIP after repeated failed authentications (fail-to-ban,
    pbx/sip_security.py): Asterisk refuses it (403) until expires_at, or until an
    administrator lifts it. Rows are kept as the history of bans."""

    __tablename__ = "sip_bans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(45), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    # the last security event counted (ChallengeResponseFailed, InvalidAccountID, ...)
    reason: Mapped[str] = mapped_column(String(40), default="")
    banned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str] = mapped_column(String(40), default="")


# --- the cluster's nodes (issue 17) --------------------------------------------------------

class ClusterNode(Base):
    """One process of one node of a cluster (its bridge, its scheduler), as it last said
    it was: rewritten every few seconds (hotline.cluster.beat). `hotline status` and the
    console show them; a bridge row that stops moving is a node whose calls are lost."""

    __tablename__ = "cluster_nodes"

    node: Mapped[str] = mapped_column(String(40), primary_key=True)  # [cluster] node
    role: Mapped[str] = mapped_column(String(20), primary_key=True)  # bridge, scheduler
    host: Mapped[str] = mapped_column(String(100), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # scheduler: active | standby; bridge: up (the AMI link up) | no-ami
    state: Mapped[str] = mapped_column(String(20), default="")
    # what else the process says of itself, e.g. {"calls": 3} for a bridge
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

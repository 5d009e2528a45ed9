"""The escalation pass (Art. 5(6)): forwarded matters still unanswered when due are pushed to
the department head (督办, level 1); 2 working days later, still unanswered, to the
supervising court leader (level 2).

    report = await run_pass(sessions, settings, as_of=utcnow())
    print("\\n".join(report.lines()))

The pass reads only tickets whose indexed next_escalation_at has come, in batches (a keyset
over that index, oldest deadline first), and handles each ticket in one small transaction
of its own: the Escalation row (unique per ticket and level) first, then the notice and the
queued SMS, the ticket's next step and its history event. So it can run late, twice, or
twice at once, or die in the middle:

- a second pass at the same time waits for the ticket's row, then finds it no longer due
  (or, failing that, cannot insert the same Escalation row) and skips it without notifying;
- a crash loses at most the ticket in hand, whose transaction rolls back; the rerun does it;
- a ticket found far overdue gets every level due as of the pass, in order.

A department without a head or leader (or whose one has left) still gets its escalation
recorded, with nobody notified, and an Alert (kind "escalation") for the administrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.catalog import TICKET_TYPES
from hotline.db.alerts import raise_alert
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Department, Escalation, Ticket, TicketEvent, User
from hotline.deadlines import Deadlines, load_deadlines, step_due, step_due_where
from hotline.notify import notify
from hotline.privacy import mask_phone
from hotline.settings import Settings
from hotline.tickets import tell_owner
from hotline.timefmt import iso, local_time_with_offset, short_time

BATCH_SIZE = 500
ALERT_KIND = "escalation"
NOTICE_KIND = "escalated"
EVENT_KIND = "escalated"
# Who is pushed at each level: the Department column naming them, and what staff call them.
LEVELS: dict[int, tuple[str, str]] = {1: ("head_id", "部门负责人"), 2: ("leader_id", "分管院领导")}
# What staff read: console notice and SMS (same text), and the administrator's alert.
TEXTS = {
    1: "【督办】工单{reference}（{type}）转{department}办理，答复期限{due}已过，来电人尚未得到"
       "答复。请督促承办人尽快答复；{next}前仍未答复将报分管院领导。",
    2: "【督办】工单{reference}（{type}）转{department}办理，经部门负责人督办后仍未答复来电人"
       "（期限{due}）。请分管院领导督办。",
    "alert": "工单{reference}已到第{level}级督办，但{department}未设置{role}（或其账号已停用），"
             "无人可通知。请在部门管理中补充，并人工督办。",
}
NO_DEPARTMENT = "未指定部门"


@dataclass(frozen=True)
class Person:
    """Who a level notifies (a copy, not a session's object: kept across transactions)."""

    user: User | None
    role: str  # 部门负责人 / 分管院领导


@dataclass(frozen=True)
class Step:
    """One level of one ticket: done by the pass, or (dry run) what it would do."""

    ticket_id: int
    reference: str
    level: int
    missed: datetime  # the deadline that passed
    next_at: datetime | None  # when the next level is due; None after the last
    role: str
    user_id: int | None = None
    user_name: str = ""
    mobile: str = ""
    notice_id: int | None = None
    sms_ids: tuple[int, ...] = ()
    alert: bool = False  # nobody to notify: an alert was raised


@dataclass(frozen=True)
class Skipped:
    ticket_id: int
    reference: str
    reason: str


@dataclass
class PassReport:
    as_of: datetime
    timezone: str
    dry_run: bool = False
    steps: list[Step] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What `hotline escalate` prints: one line per step or skip, then a summary.
        Phone numbers are masked."""
        return [*(self._step_line(s) for s in self.steps),
                *(f"{s.reference}  skipped: {s.reason}" for s in self.skipped), self.summary()]

    def summary(self) -> str:
        alerts = sum(s.alert for s in self.steps)
        verb = "would escalate" if self.dry_run else "escalated"
        tail = " (dry run: nothing written)" if self.dry_run else ""
        return (f"as of {self._local(self.as_of)}: {verb} {len(self.steps)} step(s) on "
                f"{len({s.ticket_id for s in self.steps})} ticket(s), {alerts} without anyone "
                f"to notify, {len(self.skipped)} skipped{tail}")

    def _step_line(self, step: Step) -> str:
        head = f"{step.reference}  level {step.level} (due {self._local(step.missed)})"
        if step.alert:
            who = f"nobody: no {step.role} — alert raised"
        else:
            who = f"{step.role} {step.user_name} ({mask_phone(step.mobile) or 'no mobile'})"
        sent = "" if self.dry_run else (
            f"; notice {step.notice_id or '-'}, sms {','.join(map(str, step.sms_ids)) or '-'}")
        after = (f"; next level due {self._local(step.next_at)}" if step.next_at
                 else "; last level")
        return f"{'would: ' if self.dry_run else ''}{head} → {who}{sent}{after}"

    def _local(self, moment: datetime) -> str:
        return local_time_with_offset(moment, self.timezone)


# --- the pass ----------------------------------------------------------------------------

async def run_pass(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                   as_of: datetime, *, dry_run: bool = False,
                   batch_size: int = BATCH_SIZE) -> PassReport:
    """Escalate every unanswered ticket whose next step is due at `as_of` (UTC-aware)."""
    report = PassReport(as_of, settings.hours.timezone, dry_run)
    deadlines = await _deadlines_for(sessions, settings, as_of)
    if deadlines is None:
        return report
    people = _People(sessions)
    after: tuple[datetime, int] | None = None
    while batch := await _due_batch(sessions, as_of, after, batch_size):
        after = batch[-1]
        for _due_at, ticket_id in batch:
            if dry_run:
                report.steps += await _plan(sessions, ticket_id, as_of, deadlines, people)
            else:
                done = await _escalate_ticket(sessions, ticket_id, as_of, deadlines, people)
                if isinstance(done, Skipped):
                    report.skipped.append(done)
                else:
                    report.steps += done
    return report


async def _deadlines_for(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                         as_of: datetime) -> Deadlines | None:
    """The calendar for every starting day the pass may count from (the oldest missed
    deadline up to as_of); None when nothing is due."""
    async with sessions() as session:
        oldest = (await session.execute(
            select(Ticket.next_escalation_at).where(*step_due_where(as_of))
            .order_by(Ticket.next_escalation_at).limit(1))).scalar_one_or_none()
        if oldest is None:
            return None
        zone = ZoneInfo(settings.hours.timezone)
        return await load_deadlines(session, settings, oldest.astimezone(zone).date(),
                                    as_of.astimezone(zone).date())


async def _due_batch(sessions: async_sessionmaker[AsyncSession], as_of: datetime,
                     after: tuple[datetime, int] | None,
                     limit: int) -> list[tuple[datetime, int]]:
    """The next due tickets as (next_escalation_at, id), oldest deadline first, after the
    cursor `after`. The order is the index's own (SQLite's index holds the rowid after the
    key; PostgreSQL sorts each key's few ties), so a batch reads only its own rows of the
    index however many tickets are open. A ticket handled leaves the due set; one skipped
    or dry-run stays behind the cursor, so the pass always ends."""
    query = select(Ticket.next_escalation_at, Ticket.id).where(*step_due_where(as_of))
    if after is not None:
        # The plain range lets the index be used; the row comparison breaks the ties.
        query = query.where(Ticket.next_escalation_at >= after[0],
                            tuple_(Ticket.next_escalation_at, Ticket.id) > tuple_(*after))
    query = query.order_by(Ticket.next_escalation_at, Ticket.id).limit(limit)
    async with sessions() as session:
        return [(at, ticket_id) for at, ticket_id in (await session.execute(query)).all()
                if at is not None]


async def _escalate_ticket(sessions: async_sessionmaker[AsyncSession], ticket_id: int,
                           as_of: datetime, deadlines: Deadlines,
                           people: _People) -> list[Step] | Skipped:
    """Every level of one ticket due as of `as_of`, in one transaction."""
    reference = ""
    try:
        async with session_scope(sessions) as session:
            ticket = await _locked(session, ticket_id)
            if ticket is None:
                return Skipped(ticket_id, "", "deleted")
            reference = ticket.reference
            steps = []
            while step_due(ticket, as_of):
                steps.append(await _escalate_once(session, ticket, as_of, deadlines, people))
            if not steps:
                return Skipped(ticket_id, reference, "no longer due (answered, or escalated "
                                                     "by another pass)")
            return steps
    except IntegrityError:
        # The Escalation row exists: a pass running at the same time did this ticket.
        return Skipped(ticket_id, reference, "escalated by another pass at the same time")


async def _locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    # A write that changes nothing, first thing in the transaction: PostgreSQL locks the
    # row (a concurrent pass waits, then reads our result), SQLite takes its one write lock
    # before any read, so the ticket read next is the latest and never a stale snapshot.
    await session.execute(update(Ticket).where(Ticket.id == ticket_id)
                          .values(escalation_level=Ticket.escalation_level))
    return await session.get(Ticket, ticket_id, populate_existing=True)


async def _escalate_once(session: AsyncSession, ticket: Ticket, as_of: datetime,
                         deadlines: Deadlines, people: _People) -> Step:
    """The ticket's next level: the Escalation row (the unique index decides who does it),
    the notice and SMS or an alert, the ticket's next deadline, the history event."""
    step = await _next_step(ticket, deadlines, people)
    escalation = Escalation(ticket_id=ticket.id, level=step.level, at=utcnow(), as_of=as_of)
    session.add(escalation)
    await session.flush()
    department = await people.department_name(ticket.department_id)
    person = await people.for_level(ticket.department_id, step.level)
    if person.user is not None:
        sent = await notify(session, person.user, NOTICE_KIND,
                            _text(step, ticket, department, deadlines), ticket.id)
        escalation.notified_user_id, escalation.notice_id = person.user.id, sent.notice_id
        escalation.sms_ids = [sent.sms_id] if sent.sms_id is not None else []
        step = replace(step, notice_id=sent.notice_id, sms_ids=tuple(escalation.sms_ids))
    else:
        await raise_alert(session, ALERT_KIND, f"ticket {ticket.id} level {step.level}",
                          TEXTS["alert"].format(reference=ticket.reference, level=step.level,
                                                department=department, role=step.role), as_of)
    # The agent who owns the matter follows it up (Art. 6): they learn of every push.
    await tell_owner(session, ticket, "escalated", None, role=step.role)
    ticket.escalation_level, ticket.next_escalation_at = step.level, step.next_at
    session.add(TicketEvent(ticket_id=ticket.id, at=as_of, kind=EVENT_KIND, detail={
        "level": step.level, "missed": iso(step.missed), "as_of": iso(as_of),
        "notified_user_id": escalation.notified_user_id, "notice_id": escalation.notice_id,
        "sms_ids": list(step.sms_ids), "alert": step.alert}))
    await session.flush()
    return step


async def _next_step(ticket: Ticket, deadlines: Deadlines, people: _People) -> Step:
    """What escalating `ticket` one level now means (nothing written)."""
    missed = ticket.next_escalation_at
    assert missed is not None  # only due tickets get here
    level = ticket.escalation_level + 1
    person = await people.for_level(ticket.department_id, level)
    user = person.user
    return Step(ticket.id, ticket.reference, level, missed,
                deadlines.next_step(level, missed), person.role,
                user_id=user.id if user else None,
                user_name=(user.display_name or user.username) if user else "",
                mobile=user.mobile if user else "", alert=user is None)


async def _plan(sessions: async_sessionmaker[AsyncSession], ticket_id: int, as_of: datetime,
                deadlines: Deadlines, people: _People) -> list[Step]:
    """Dry run: the steps the pass would take for this ticket, with nothing written."""
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            return []
        session.expunge(ticket)  # played forward below, never flushed
    steps = []
    while step_due(ticket, as_of):
        step = await _next_step(ticket, deadlines, people)
        steps.append(step)
        ticket.escalation_level, ticket.next_escalation_at = step.level, step.next_at
    return steps


def _text(step: Step, ticket: Ticket, department: str, deadlines: Deadlines) -> str:
    zone = deadlines.calendar.hours.timezone
    return TEXTS[step.level].format(reference=ticket.reference,
                                    type=TICKET_TYPES.get(ticket.type, ticket.type),
                                    department=department, due=short_time(step.missed, zone),
                                    next=short_time(step.next_at, zone))


class _People:
    """Departments' heads and leaders, read once per pass."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._departments: dict[int, tuple[str, dict[int, User | None]]] = {}

    async def for_level(self, department_id: int | None, level: int) -> Person:
        role = LEVELS[level][1]
        if department_id is None:
            return Person(None, role)
        _name, by_level = await self._load(department_id)
        return Person(by_level.get(level), role)

    async def department_name(self, department_id: int | None) -> str:
        if department_id is None:
            return NO_DEPARTMENT
        return (await self._load(department_id))[0]

    async def _load(self, department_id: int) -> tuple[str, dict[int, User | None]]:
        if department_id not in self._departments:
            self._departments[department_id] = await self._read(department_id)
        return self._departments[department_id]

    async def _read(self, department_id: int) -> tuple[str, dict[int, User | None]]:
        async with self.sessions() as session:
            department = await session.get(Department, department_id)
            if department is None:
                return NO_DEPARTMENT, {}
            by_level: dict[int, User | None] = {}
            for level, (column, _role) in LEVELS.items():
                user_id = getattr(department, column)
                user = await session.get(User, user_id) if user_id is not None else None
                by_level[level] = user if user is not None and user.active else None
            session.expunge_all()  # plain copies, usable in every later transaction
            return department.name, by_level


"""Tables of the call aggregate: a call, the events of its life, its recordings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
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

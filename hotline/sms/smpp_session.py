"""The SMPP driver: one transceiver session to the operator's SMSC, kept open by the
scheduler's sms job between its runs.

smpplib is a blocking library, so every use of the socket happens in a worker thread under
one lock: a send (submit_sm for each part, then their submit_sm_resp) and a poll (whatever
the SMSC sent meanwhile) never interleave. Receipts and inbound messages (deliver_sm) are
answered with deliver_sm_resp only in ack(), after the sender has stored them: if the
scheduler dies in between, the SMSC delivers them again. An inbound message in several
parts is joined here and handed over once all its parts are in.

Receipts: only the last part of a message asks for one (registered_delivery), so one
receipt per message says whether it arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smpplib import consts, exceptions, smpp
from smpplib.client import Client

from hotline.db.base import utcnow
from hotline.settings import SmsSettings
from hotline.sms.base import Event, Inbound, Receipt, SendError
from hotline.sms.encoding import ESM_UDHI, UCS2, decode_short_message, split_ucs2

log = logging.getLogger("hotline.sms")
# smpplib logs every PDU in hex at debug level, callers' numbers included: keep it quiet.
logging.getLogger("hotline.sms.smpplib").setLevel(logging.WARNING)

ESM_RECEIPT = 0x04  # esm_class message type: SMSC delivery receipt
MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                  6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
ENQUIRE_EVERY = 30.0  # seconds of silence before we check the session is alive


@dataclass(frozen=True)
class _Ack:
    session: int  # which connection the deliver_sm came on: acks never cross sessions
    sequences: tuple[int, ...]


@dataclass
class _PartialInbound:
    parts: dict[int, bytes] = field(default_factory=dict)
    sequences: list[int] = field(default_factory=list)


class SmppDriver:
    name = "smpp"
    sends = True
    takes_pushed = False

    def __init__(self, settings: SmsSettings, clock: Callable[[], datetime] = utcnow) -> None:
        self._s = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._session = 0
        self._events: list[Event] = []
        self._partial: dict[tuple[str, int, int], _PartialInbound] = {}
        self._last_read = time.monotonic()

    # --- the interface (async; the work runs in a thread) -------------------------------

    async def send(self, to: str, text: str, *, message_id: int, kind: str = "",
                   params: dict[str, str] | None = None) -> list[str]:
        return await asyncio.to_thread(self._send, to, text, message_id)

    async def poll(self) -> list[Event]:
        return await asyncio.to_thread(self._poll)

    async def ack(self, events: list[Event]) -> None:
        await asyncio.to_thread(self._ack, events)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    @property
    def connected(self) -> bool:
        return self._client is not None

    # --- sending -------------------------------------------------------------------------

    def _send(self, to: str, text: str, message_id: int) -> list[str]:
        parts = split_ucs2(text, message_id % 256)
        with self._lock:
            client = self._bound()
            try:
                sequences = []
                for part in parts:
                    pdu = smpp.make_pdu(
                        "submit_sm", client=client, source_addr_ton=0, source_addr_npi=0,
                        source_addr=self._s.source_addr, dest_addr_ton=0, dest_addr_npi=1,
                        destination_addr=to, esm_class=ESM_UDHI if part.has_udh else 0,
                        data_coding=UCS2, short_message=part.payload,
                        registered_delivery=1 if part.index == part.total else 0)
                    client.send_pdu(pdu)
                    sequences.append(pdu.sequence)
                return self._responses(client, sequences)
            except (exceptions.ConnectionError, exceptions.PDUError, OSError) as exc:
                # socket.timeout is an OSError: a silent SMSC is a lost one.
                self._drop()
                raise SendError(f"SMSC connection lost while sending: {exc or 'closed'}",
                                gateway_down=True) from None

    def _responses(self, client: Client, sequences: list[int]) -> list[str]:
        """Read until every part has its submit_sm_resp; anything else read meanwhile is
        handled as in a poll."""
        ids: dict[int, str] = {}
        refused: list[str] = []
        waiting = set(sequences)
        while waiting:
            pdu = client.read_pdu()  # socket.timeout (an OSError) when the SMSC is silent
            if pdu.command == "submit_sm_resp" and pdu.sequence in waiting:
                waiting.discard(pdu.sequence)
                if pdu.is_error():
                    refused.append(consts.DESCRIPTIONS.get(pdu.status, f"status {pdu.status}"))
                else:
                    ids[pdu.sequence] = _text(pdu.message_id)
            else:
                self._handle(client, pdu)
        if refused:
            raise SendError(f"SMSC refused the message: {'; '.join(refused)}")
        return [ids[seq] for seq in sequences]

    # --- reading what the SMSC sends -----------------------------------------------------

    def _poll(self) -> list[Event]:
        with self._lock:
            client = self._bound()
            try:
                while select.select([client._socket], [], [], 0)[0]:
                    self._handle(client, client.read_pdu())
                if time.monotonic() - self._last_read > ENQUIRE_EVERY:
                    client.send_pdu(smpp.make_pdu("enquire_link", client=client))
                    self._last_read = time.monotonic()
            except (exceptions.ConnectionError, exceptions.PDUError, OSError) as exc:
                self._drop()
                raise SendError(f"SMSC connection lost: {exc or 'closed'}",
                                gateway_down=True) from None
            events, self._events = self._events, []
            return events

    def _handle(self, client: Client, pdu: Any) -> None:
        self._last_read = time.monotonic()
        if pdu.command == "deliver_sm":
            self._deliver(pdu)
        elif pdu.command == "enquire_link":
            resp = smpp.make_pdu("enquire_link_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        elif pdu.command == "unbind":
            resp = smpp.make_pdu("unbind_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
            raise exceptions.ConnectionError("the SMSC unbound")

    def _deliver(self, pdu: Any) -> None:
        token = _Ack(self._session, (pdu.sequence,))
        esm = pdu.esm_class or 0
        if esm & 0x3C == ESM_RECEIPT or pdu.receipted_message_id:
            self._events.append(_receipt(pdu, self._clock(), token))
            return
        payload = pdu.short_message or b""
        udhi = bool(esm & ESM_UDHI)
        concat = _concatenation(payload) if udhi else None
        if concat is None:
            self._events.append(self._inbound(pdu, decode_short_message(
                payload, pdu.data_coding or 0, udhi), token))
            return
        ref, total, index = concat
        key = (_text(pdu.source_addr), ref, total)
        partial = self._partial.setdefault(key, _PartialInbound())
        partial.parts[index] = payload[payload[0] + 1:]
        partial.sequences.append(pdu.sequence)
        if len(partial.parts) == total:
            del self._partial[key]
            joined = b"".join(partial.parts[i] for i in sorted(partial.parts))
            text = decode_short_message(joined, pdu.data_coding or 0, False)
            self._events.append(self._inbound(
                pdu, text, _Ack(self._session, tuple(partial.sequences))))

    def _inbound(self, pdu: Any, text: str, token: _Ack) -> Inbound:
        return Inbound(from_number=_text(pdu.source_addr), to_number=_text(pdu.destination_addr),
                       text=text, at=self._clock(), token=token)

    def _ack(self, events: list[Event]) -> None:
        with self._lock:
            client = self._client
            if client is None:
                return  # that session is gone; the SMSC delivers them again
            try:
                for event in events:
                    token = event.token
                    if not isinstance(token, _Ack) or token.session != self._session:
                        continue
                    for sequence in token.sequences:
                        resp = smpp.make_pdu("deliver_sm_resp", client=client)
                        resp.sequence = sequence
                        client.send_pdu(resp)
            except (exceptions.ConnectionError, OSError):
                self._drop()

    # --- the session ---------------------------------------------------------------------

    def _bound(self) -> Client:
        if self._client is not None:
            return self._client
        client = Client(self._s.smpp_host, self._s.smpp_port, timeout=self._s.smpp_timeout,
                        logger_name="hotline.sms.smpplib", allow_unknown_opt_params=True)
        try:
            client.connect()
            client.bind_transceiver(system_id=self._s.smpp_system_id,
                                    password=self._s.smpp_password,
                                    system_type=self._s.smpp_system_type)
        except (exceptions.ConnectionError, exceptions.PDUError, OSError) as exc:
            client.disconnect()
            where = f"{self._s.smpp_host}:{self._s.smpp_port}"
            raise SendError(f"cannot bind to the SMSC at {where}: {exc or 'no answer'}",
                            gateway_down=True) from None
        self._client = client
        self._session += 1
        self._partial.clear()
        self._last_read = time.monotonic()
        log.info("SMPP session %d bound to %s:%s", self._session, self._s.smpp_host,
                 self._s.smpp_port)
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client = None
        # deliver_sm not yet acknowledged come again on the next session.
        self._events.clear()
        self._partial.clear()

    def _close(self) -> None:
        with self._lock:
            if self._client is None:
                return
            with contextlib.suppress(exceptions.ConnectionError, exceptions.PDUError, OSError):
                self._client.unbind()
            self._drop()


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1").rstrip("\x00")
    return "" if value is None else str(value)


def _concatenation(payload: bytes) -> tuple[int, int, int] | None:
    """(reference, total, index) from a concatenation element of the UDH, if any."""
    if not payload:
        return None
    end = 1 + payload[0]
    pos = 1
    while pos + 1 < end:
        iei, length = payload[pos], payload[pos + 1]
        data = payload[pos + 2:pos + 2 + length]
        if iei == 0x00 and length == 3:
            return data[0], data[1], data[2]
        if iei == 0x08 and length == 4:
            return (data[0] << 8) | data[1], data[2], data[3]
        pos += 2 + length
    return None


_STAT = re.compile(rb"stat:(\w+)")
_ID = re.compile(rb"id:(\S+)")


def _receipt(pdu: Any, at: datetime, token: _Ack) -> Receipt:
    body = pdu.short_message or b""
    provider_id = _text(pdu.receipted_message_id)
    if not provider_id:
        found = _ID.search(body)
        provider_id = found.group(1).decode("latin-1") if found else ""
    stat = _STAT.search(body)
    state = (stat.group(1).decode("latin-1") if stat
             else MESSAGE_STATES.get(pdu.message_state or 0, "UNKNOWN"))
    return Receipt(provider_id=provider_id, delivered=state == "DELIVRD", state=state, at=at,
                   token=token)


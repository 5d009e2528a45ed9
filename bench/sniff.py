"""What the callers hear, seen on the wire: when Asterisk answered each call (its 200 OK to
the INVITE) and when the first packet of audio it sent that call left. Asterisk sends no
audio between the answer and the first prompt, so the time between the two is what a
caller waits, in silence, for the hotline to speak.

Asterisk's RTP timestamps count the samples since the stream's first packet, which carries
160 (one 20 ms frame at 8 kHz; seen on Asterisk 22; the marker bit is not set on it). A
packet socket on the loopback with a kernel filter (classic BPF) lets only Asterisk's SIP
messages and its RTP packets with a timestamp of at most FIRST_TIMESTAMPS reach Python — a
few per call, however much audio flows. Kernel timestamps (SO_TIMESTAMPNS): a busy
benchmark process does not skew them.
Needs root (CAP_NET_RAW), as tcpdump does.
"""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
from dataclasses import dataclass, field

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_STATISTICS = 263, 6
PACKET_OUTGOING = 4
ETH_IP = 14  # the loopback's frames carry an Ethernet header
FIRST_TIMESTAMPS = 5 * 160  # the first five packets (one may be lost)

# classic BPF opcodes
LDH_ABS, LDB_ABS, LDH_IND, LDW_IND, LDX_MSH = 0x28, 0x30, 0x48, 0x40, 0xB1
JEQ, JGE, JGT, JSET, RET = 0x15, 0x35, 0x25, 0x45, 0x06


def _filter(sip_port: int, rtp_start: int, rtp_end: int) -> list[tuple[int, int, int, int]]:
    """UDP from Asterisk's SIP port, or the first RTP packets from the even ports of its
    RTP range."""
    accept, drop = 12, 13
    # (opcode, jump-if-true target, jump-if-false target, constant); targets are indexes
    program = [
        (LDH_ABS, 0, 0, 12), (JEQ, 2, drop, 0x0800),              # 0, 1: IPv4
        (LDB_ABS, 0, 0, ETH_IP + 9), (JEQ, 4, drop, 17),           # 2, 3: UDP
        (LDX_MSH, 0, 0, ETH_IP),                                   # 4: X = IP header length
        (LDH_IND, 0, 0, ETH_IP), (JEQ, accept, 7, sip_port),       # 5, 6: from the SIP port
        (JGE, 8, drop, rtp_start), (JGT, drop, 9, rtp_end),        # 7, 8: in the RTP range
        (JSET, drop, 10, 1),                                       # 9: odd port: RTCP
        (LDW_IND, 0, 0, ETH_IP + 8 + 4), (JGT, drop, accept, FIRST_TIMESTAMPS),  # 10, 11
        (RET, 0, 0, 0xFFFF), (RET, 0, 0, 0),                       # 12 accept, 13 drop
    ]
    jumps = (JEQ, JGE, JGT, JSET)
    return [(code, jt - i - 1, jf - i - 1, k) if code in jumps else (code, 0, 0, k)
            for i, (code, jt, jf, k) in enumerate(program)]


@dataclass
class Wire:
    """Answers (Call-ID → (time, Asterisk's media port)) and first audio (port → times)."""

    answers: dict[str, tuple[float, int]] = field(default_factory=dict)
    first_audio: dict[int, list[float]] = field(default_factory=dict)
    drops: int = 0

    def first_prompt_delays(self, since: float, until: float) -> tuple[list[float], int]:
        """Answer → first audio of each call answered in [since, until), and how many of
        them never got audio (none from their port before 30 s or the port's next call)."""
        by_port: dict[int, list[float]] = {}
        for answered, port in list(self.answers.values()):  # the capture may still add
            by_port.setdefault(port, []).append(answered)
        delays, silent = [], 0
        for port, times in by_port.items():
            times.sort()
            for n, answered in enumerate(times):
                if not since <= answered < until:
                    continue
                end = min(answered + 30, times[n + 1] if n + 1 < len(times) else answered + 30)
                audio = [t for t in list(self.first_audio.get(port, [])) if answered <= t < end]
                if audio:
                    delays.append(min(audio) - answered)
                else:
                    silent += 1
        return delays, silent

    def answered(self, since: float, until: float) -> int:
        return sum(since <= t < until for t, _port in list(self.answers.values()))


_CALL_ID = re.compile(rb"^(?:Call-ID|i)\s*:\s*(\S+)", re.I | re.M)
_CSEQ_INVITE = re.compile(rb"^CSeq\s*:\s*\d+\s+INVITE", re.I | re.M)
_MEDIA = re.compile(rb"^m=audio (\d+)", re.M)


class Sniffer:
    def __init__(self, sip_port: int, rtp_start: int, rtp_end: int) -> None:
        self.wire = Wire()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        code = b"".join(struct.pack("HBBI", *ins) for ins in _filter(sip_port, rtp_start,
                                                                        rtp_end))
        self._code = code  # the kernel copies it, but keep it alive while attaching
        import ctypes

        buf = ctypes.create_string_buffer(code)
        prog = struct.pack("HL", len(code) // 8, ctypes.addressof(buf))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # Past net.core.rmem_max (root only): a benchmark process starved of CPU for a
        # moment must not lose answers; drops are counted anyway (dropped()).
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
        self.sock.bind(("lo", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.dropped()
        self.sock.close()

    def dropped(self) -> int:
        """Packets the kernel had to drop for want of room, since the capture started."""
        if self.sock.fileno() >= 0:
            # Reading the counters resets them: keep the sum.
            _packets, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET,
                                                                       PACKET_STATISTICS, 8))
            self.wire.drops += drops
        return self.wire.drops

    def _run(self) -> None:
        while not self._stop.is_set():
            if not select.select([self.sock], [], [], 0.2)[0]:
                continue
            data, anc, _flags, addr = self.sock.recvmsg(65535, 64)
            if addr[2] == PACKET_OUTGOING:
                continue  # the loopback shows each packet twice: going out and coming in
            stamp = next((struct.unpack("qq", d[:16]) for lvl, typ, d in anc
                          if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS), None)
            if stamp is not None:
                self._packet(data, stamp[0] + stamp[1] / 1e9)

    def _packet(self, frame: bytes, when: float) -> None:
        ihl = (frame[ETH_IP] & 0x0F) * 4
        udp = ETH_IP + ihl
        source_port = struct.unpack("!H", frame[udp:udp + 2])[0]
        payload = frame[udp + 8:]
        if payload and payload[0] & 0xC0 == 0x80:  # RTP version 2; SIP starts with a letter
            self.wire.first_audio.setdefault(source_port, []).append(when)
            return
        if payload.startswith(b"SIP/2.0 200") and _CSEQ_INVITE.search(payload):
            call_id, media = _CALL_ID.search(payload), _MEDIA.search(payload)
            if call_id and media:
                self.wire.answers.setdefault(call_id.group(1).decode(),
                                             (when, int(media.group(1))))

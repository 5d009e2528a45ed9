"""Driving the running Asterisk: who is in the seats queue, transfers, the click-to-call
reply, moving a waiting caller. Every part asks the PBX through these functions, never by
speaking AMI itself:

    control = pbx.PbxControl(pbx.console_client(settings))  # the console's AMI link
    await control.join("8001", "张三")
    await control.pause("8001", "break")
    await control.transfer(agent_channel, "8101", attended=True)

    pbx.with_control(settings, lambda c: c.leave("8001"))   # from synchronous code (CLI)

Every method raises ControlError with a message staff can read when Asterisk refuses or
cannot be reached; nothing here retries, the person who clicked decides.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from hotline.secrets import load_or_create
from hotline.settings import Settings
from pbx import names as v
from pbx.ami import AmiClient, AmiError, Reply
from pbx.config import console_ami_secret
from pbx.instance import PbxError, ami_host

T = TypeVar("T")
log = logging.getLogger("pbx.control")

# How long the handler's phone rings for a click-to-call reply before Asterisk gives up.
REPLY_RING_MS = 30000
# The number shapes dialplan/transfer.conf and reply.conf let through to Dial, checked here
# first so staff get a clear message: a staff extension (3 to 6 ASCII digits, as the phones
# table has them; str.isdigit() would take other scripts' digits) and a phone number.
_STAFF_EXTENSION = re.compile(r"[0-9]{3,6}")
_DIALABLE = re.compile(r"\+?[0-9]{3,20}")
# An outside number of the court's directory (hotline/directory.py), a transfer target.
_OUTSIDE = re.compile(r"[0-9]{7,20}")

# Asterisk's QueueMemberStatus Status codes (ast_device_state), as the console says them.
DEVICE_STATES = {
    "0": "unknown", "1": "idle", "2": "in_use", "3": "busy", "4": "invalid",
    "5": "unavailable", "6": "ringing", "7": "ring_in_use", "8": "on_hold",
}


class ControlError(PbxError):
    """Asterisk refused or could not be asked; str() says what, for the person who clicked."""


_ORIGINATE_CHANNEL = re.compile(r"^(PJSIP/[0-9]{1,20}|Local/[0-9A-Za-z]{1,20}@hotline-[a-z-]+)$")


def check_originate(action: Mapping[str, str]) -> None:
    """Refuse an Originate that is not the hotline's own: AMI's originate class alone lets
    a channel run any application; ours only ring a staff phone (or a Local channel) into
    a hotline-* context of dialplan/. Other actions pass."""
    fields = {k.lower(): v for k, v in action.items()}
    if fields.get("action", "").lower() != "originate":
        return
    if "application" in fields or "data" in fields:
        raise ControlError("Originate refused: the hotline never originates into an application")
    if not fields.get("context", "").startswith(v.OWN_CONTEXT_PREFIX):
        raise ControlError(f"Originate refused: context {fields.get('context', '')!r} is not "
                           "one of the hotline's own (hotline-*)")
    if not _ORIGINATE_CHANNEL.match(fields.get("channel", "")):
        raise ControlError(f"Originate refused: channel {fields.get('channel', '')!r} is not "
                           "a staff phone or a Local channel into a hotline-* context")


def interface(extension: str) -> str:
    return f"PJSIP/{extension}"


def extension_of(channel_or_interface: str) -> str:
    """"PJSIP/8001-0000002a" or "PJSIP/8001" -> "8001"; "" for anything else."""
    tech, _, rest = channel_or_interface.partition("/")
    if tech.upper() != "PJSIP" or not rest:
        return ""
    return rest.rsplit("-", 1)[0] if "-" in rest else rest


def reply_call_action(handler_ext: str, caller_number: str, ticket_ref: str,
                      ticket_id: int, staff_id: int) -> dict[str, str]:
    """The AMI Originate of a click-to-call reply: ring the handler's phone; once they answer,
    dialplan/reply.conf records the call and dials the caller through the carrier.

    It is asynchronous in Asterisk: PbxControl.originate returns on Asterisk's first
    response ("successfully queued"), not when the handler answers.
    """
    if not _STAFF_EXTENSION.fullmatch(handler_ext):
        raise ControlError(f"分机号码无效：{handler_ext}")
    if not _DIALABLE.fullmatch(caller_number):
        raise ControlError(f"来电人号码无法拨打：{caller_number}")
    return {"Action": "Originate", "Channel": interface(handler_ext),
            "Context": v.REPLY_CONTEXT, "Exten": "s", "Priority": "1",
            # The handler's phone shows the ticket and the number it is about to call.
            "CallerID": f'"{ticket_ref}" <{caller_number}>',
            "Timeout": str(REPLY_RING_MS),
            "Variable": f"{v.REPLY_TICKET}={ticket_id},{v.REPLY_NUMBER}={caller_number},"
                        f"{v.REPLY_STAFF}={staff_id}",
            "Async": "true"}


@dataclass(frozen=True)
class Member:
    """One agent's seat in the queue as Asterisk has it now."""

    extension: str
    name: str
    paused: bool
    reason: str
    device: str  # a value of DEVICE_STATES


@dataclass(frozen=True)
class LiveChannel:
    """One channel Asterisk has up now (the Status action's word on it)."""

    uniqueid: str
    name: str
    linkedid: str  # the call it belongs to (hotline.callid); the uniqueid if none given


class PbxControl:
    def __init__(self, ami: AmiClient, queue: str = v.QUEUE, node: str = "") -> None:
        self.ami, self.queue, self.node = ami, queue, node

    @property
    def connected(self) -> bool:
        return self.ami.connected

    def on(self, node: str) -> PbxControl:
        """The control of the node a call is on (a transfer, a hang-up, a redirect must go
        to the Asterisk that has the channel); a server alone is every node."""
        return self

    def nodes(self) -> dict[str, PbxControl]:
        """Each node's own control by name: this one alone, under its name ("")."""
        return {self.node: self}

    async def join(self, extension: str, name: str, *, paused: bool = False,
                   reason: str = "") -> None:
        """Put the seat in the queue under this name, ready or paused. A seat already there
        under another name (someone else signed in on it before) is taken out and put back
        under this one: the member name is whom the call log, the recording's listener and
        the figures credit with the calls the seat answers."""
        fields = {"Action": "QueueAdd", "Queue": self.queue, "Interface": interface(extension),
                  "MemberName": name or extension, "StateInterface": interface(extension),
                  "Paused": "true" if paused else "false"}
        if paused and reason:
            fields["Reason"] = reason
        if await self._act(fields, tolerate="Already there") is not None:
            return
        current = (await self.members()).get(extension)
        if current is None or current.name != fields["MemberName"]:
            await self.leave(extension)
            await self._act(fields)
        elif current.paused != paused:
            await (self.pause(extension, reason) if paused else self.resume(extension))

    async def leave(self, extension: str) -> None:
        """Take the seat out of the queue; a seat not there is fine."""
        await self._act({"Action": "QueueRemove", "Queue": self.queue,
                         "Interface": interface(extension)}, tolerate="Not there")

    async def pause(self, extension: str, reason: str) -> None:
        await self._act({"Action": "QueuePause", "Queue": self.queue,
                         "Interface": interface(extension), "Paused": "true",
                         "Reason": reason})

    async def resume(self, extension: str) -> None:
        await self._act({"Action": "QueuePause", "Queue": self.queue,
                         "Interface": interface(extension), "Paused": "false"})

    async def members(self) -> dict[str, Member]:
        """The queue's members by extension, asked of Asterisk now."""
        reply = await self._act({"Action": "QueueStatus", "Queue": self.queue})
        found: dict[str, Member] = {}
        for message in reply if isinstance(reply, list) else []:
            if message.get("Event") != "QueueMember":
                continue
            ext = extension_of(str(message.get("StateInterface") or message.get("Location", "")))
            if ext:
                found[ext] = Member(ext, str(message.get("Name", "")),
                                    str(message.get("Paused")) == "1",
                                    str(message.get("PausedReason", "")),
                                    DEVICE_STATES.get(str(message.get("Status")), "unknown"))
        return found

    async def transfer(self, agent_channel: str, target: str, *, attended: bool) -> None:
        """Put the caller talking on agent_channel through to target: a staff extension,
        or an outside number of the court's directory (through the carrier).

        Blind: the caller rings the target at once; no answer, back to the agent.
        Attended: the agent talks to the target first while the caller holds; the agent
        hanging up completes it, and no answer gives the agent the caller back.
        """
        if not (_STAFF_EXTENSION.fullmatch(target) or _OUTSIDE.fullmatch(target)):
            raise ControlError(f"转接号码无效：{target}")
        if attended:
            await self._act({"Action": "Atxfer", "Channel": agent_channel, "Exten": target,
                             "Context": v.CONSULT_CONTEXT})
        else:
            await self._act({"Action": "BlindTransfer", "Channel": agent_channel,
                             "Exten": target, "Context": v.BLIND_CONTEXT})

    async def cancel_consultation(self, agent_channel: str) -> None:
        """End an attended transfer's consultation; the agent has the caller back."""
        await self._act({"Action": "CancelAtxfer", "Channel": agent_channel})

    async def complete_consultation(self, agent_channel: str) -> None:
        """The agent leaves the consultation, which joins the caller and the judge."""
        await self._act({"Action": "Hangup", "Channel": agent_channel})

    async def originate(self, action: dict[str, str]) -> None:
        """Send an Originate (reply_call_action's); returns once Asterisk has queued it."""
        await self._act(action)

    async def waiting_callers(self) -> dict[str, str]:
        """uniqueid → channel of every caller waiting in the seats queue, in order."""
        reply = await self._act({"Action": "QueueStatus", "Queue": self.queue})
        messages = reply if isinstance(reply, list) else [reply]
        return {str(m.get("Uniqueid", "")): str(m.get("Channel", "")) for m in messages
                if isinstance(m, Mapping) and m.get("Event") == "QueueEntry"
                and m.get("Uniqueid")}

    async def channels(self, timeout: float = 10.0) -> dict[str, LiveChannel]:
        """Every channel Asterisk has now, by uniqueid: what a tracker that lost events
        (AMI was cut) holds against. The Status action, allowed for write class call; its
        reply is not subject to the AMI user's event filter."""
        try:
            reply = await self.ami.action({"Action": "Status"}, timeout=timeout)
        except AmiError as exc:
            raise ControlError(f"交换机未执行 Status：{exc}") from exc
        found: dict[str, LiveChannel] = {}
        for message in reply if isinstance(reply, list) else []:
            uniqueid = str(message.get("Uniqueid") or "")
            if message.get("Event") == "Status" and uniqueid:
                found[uniqueid] = LiveChannel(uniqueid, str(message.get("Channel") or ""),
                                              str(message.get("Linkedid") or uniqueid))
        return found

    async def redirect(self, channel: str, context: str) -> None:
        """Move a channel to the start of one of our own contexts."""
        if not context.startswith(v.OWN_CONTEXT_PREFIX):
            raise ControlError(f"Redirect refused: {context!r} is not a hotline-* context")
        await self._act({"Action": "Redirect", "Channel": channel, "Context": context,
                         "Exten": "s", "Priority": "1"})

    async def _act(self, fields: dict[str, str], tolerate: str = "") -> Reply | None:
        """Asterisk's reply; None when it refused with the tolerated reason."""
        check_originate(fields)
        try:
            return await self.ami.action(fields)
        except AmiError as exc:
            if tolerate and tolerate.lower() in str(exc).lower():
                return None
            raise ControlError(f"交换机未执行 {fields['Action']}：{exc}") from exc


# The order in which a seat's device states of several nodes give way: a phone busy on
# one node is busy, one idle anywhere is reachable, unreachable only where no node has it.
_DEVICE_RANK = ("on_hold", "ring_in_use", "in_use", "busy", "ringing", "idle", "unknown",
                "unavailable", "invalid")


def busiest(states: list[str]) -> str:
    """The device state that stands for a phone several nodes see (_DEVICE_RANK)."""
    ranked = [s for s in states if s in _DEVICE_RANK]
    return min(ranked, key=_DEVICE_RANK.index) if ranked else "unknown"


class FanoutControl(PbxControl):
    """The console's control of a cluster: one PbxControl per node, one face.

    A seat joins, leaves and pauses in the queue of every node that is up, at once: a node
    that is down misses it and is caught up when its link comes back (the console puts
    back on every reconnect what the database says, agent_console.live). The queue as it
    is, members and waiting callers, is the nodes' together. An action on a call goes to
    the node the call is on (on(node)); a new call (Originate) to the preferred node if it
    is up, else to the first that is. Each method raises ControlError only when no node
    took it; the nodes that refused are logged.
    """

    def __init__(self, controls: Mapping[str, PbxControl], prefer: str = "") -> None:
        if not controls:
            raise ValueError("a fan-out needs at least one node")
        first = next(iter(controls.values()))
        super().__init__(first.ami, first.queue, node="")
        self._controls, self._prefer = dict(controls), prefer

    @property
    def connected(self) -> bool:
        return any(c.connected for c in self._controls.values())

    def on(self, node: str) -> PbxControl:
        control = self._controls.get(node)
        if control is None:
            raise ControlError(f"交换机节点 {node or '?'} 不在集群中")
        return control

    def nodes(self) -> dict[str, PbxControl]:
        return dict(self._controls)

    def _up(self) -> dict[str, PbxControl]:
        up = {node: c for node, c in self._controls.items() if c.connected}
        if not up:
            raise ControlError("交换机未连接：集群中没有一个节点能连上")
        return up

    async def _everywhere(self, work: Callable[[PbxControl], Awaitable[T]],
                          what: str) -> dict[str, T]:
        """work on every node that is up, together; each node's result by name."""
        up = self._up()
        results = await asyncio.gather(*(work(c) for c in up.values()), return_exceptions=True)
        done: dict[str, T] = {}
        errors: list[str] = []
        for node, result in zip(up, results, strict=True):
            if isinstance(result, ControlError):
                log.warning("node %s did not take %s: %s", node, what, result)
                errors.append(f"{node}: {result}")
            elif isinstance(result, BaseException):
                raise result
            else:
                done[node] = result
        if not done:
            raise ControlError("；".join(errors))
        return done

    async def join(self, extension: str, name: str, *, paused: bool = False,
                   reason: str = "") -> None:
        await self._everywhere(lambda c: c.join(extension, name, paused=paused, reason=reason),
                               f"QueueAdd {extension}")

    async def leave(self, extension: str) -> None:
        await self._everywhere(lambda c: c.leave(extension), f"QueueRemove {extension}")

    async def pause(self, extension: str, reason: str) -> None:
        await self._everywhere(lambda c: c.pause(extension, reason), f"QueuePause {extension}")

    async def resume(self, extension: str) -> None:
        await self._everywhere(lambda c: c.resume(extension), f"QueuePause {extension}")

    async def members(self) -> dict[str, Member]:
        """A seat of any node that is up: paused if paused on any, its phone's state as
        busiest() has it, under the name the first node gives."""
        by_node = await self._everywhere(lambda c: c.members(), "QueueStatus")
        seen: dict[str, list[Member]] = {}
        for members in by_node.values():
            for ext, member in members.items():
                seen.setdefault(ext, []).append(member)
        return {ext: Member(ext, views[0].name, any(m.paused for m in views),
                            next((m.reason for m in views if m.paused), ""),
                            busiest([m.device for m in views]))
                for ext, views in seen.items()}

    async def waiting_callers(self) -> dict[str, str]:
        """Every node's waiting callers. A uniqueid two nodes happen to share (each numbers
        its own) is kept twice, the second with a 0 added to its decimals: another key,
        the same number, so the arrival time read from it (the desk, the wallboard) holds."""
        by_node = await self._everywhere(lambda c: c.waiting_callers(), "QueueStatus")
        merged: dict[str, str] = {}
        for waiting in by_node.values():
            for uniqueid, channel in waiting.items():
                key = uniqueid
                while key in merged:
                    key += "0" if "." in key else ".0"
                merged[key] = channel
        return merged

    async def channels(self, timeout: float = 10.0) -> dict[str, LiveChannel]:
        by_node = await self._everywhere(lambda c: c.channels(timeout), "Status")
        return {uid: channel for found in by_node.values() for uid, channel in found.items()}

    async def originate(self, action: dict[str, str]) -> None:
        """On the preferred node if it is up, else the first node that is: the call rings
        the staff phone through the proxy whichever node places it."""
        up = self._up()
        node = self._prefer if self._prefer in up else next(iter(up))
        await up[node].originate(action)

    async def transfer(self, agent_channel: str, target: str, *, attended: bool) -> None:
        raise ControlError("转接须指明通话所在的交换机节点 (on(node))")

    async def cancel_consultation(self, agent_channel: str) -> None:
        raise ControlError("须指明通话所在的交换机节点 (on(node))")

    async def complete_consultation(self, agent_channel: str) -> None:
        raise ControlError("须指明通话所在的交换机节点 (on(node))")

    async def redirect(self, channel: str, context: str) -> None:
        raise ControlError("须指明通话所在的交换机节点 (on(node))")


# --- the AMI connections: the bridge's, the console's, and one-off ones for the CLI ------

def bridge_client(settings: Settings) -> AmiClient:
    """The bridge's AMI connection (events for the call tracker; Redirect at closing)."""
    return AmiClient(ami_host(settings), settings.pbx.ami_port, v.AMI_USER,
                     load_or_create(settings).ami_secret, logger=logging.getLogger("ivr.ami"))


def console_client(settings: Settings) -> AmiClient:
    """The web console's AMI connection (queue and seat events; queue, transfer and reply
    actions), as its own AMI user with fewer rights."""
    return AmiClient(ami_host(settings), settings.pbx.ami_port, v.CONSOLE_AMI_USER,
                     console_ami_secret(load_or_create(settings)),
                     logger=logging.getLogger("agent_console.ami"))


def console_clients(settings: Settings) -> dict[str, AmiClient]:
    """The console's AMI connections by node: one per node of a cluster ([cluster] nodes,
    each at its address: the nodes share secrets.toml, so the console's password is the
    same on all), else this host's only, under the name "" (a server alone)."""
    if not settings.cluster.enabled:
        return {"": console_client(settings)}
    secret = console_ami_secret(load_or_create(settings))
    return {node: AmiClient(address, settings.pbx.ami_port, v.CONSOLE_AMI_USER, secret,
                            logger=logging.getLogger(f"agent_console.ami.{node}"))
            for node, address in settings.cluster.addresses().items()}


def console_control(clients: Mapping[str, AmiClient], prefer: str = "") -> PbxControl:
    """The console's control over its connections (console_clients): one server's
    PbxControl itself, or a FanoutControl over the nodes of a cluster."""
    if set(clients) == {""}:
        return PbxControl(clients[""])
    return FanoutControl({node: PbxControl(ami, node=node) for node, ami in clients.items()},
                         prefer=prefer)


def with_control(settings: Settings, work: Callable[[PbxControl], Awaitable[T]],
                 timeout: float = 10.0) -> T:
    """Run `work` on a PbxControl from synchronous code (the CLI): log in as the console's
    AMI user, do it, log off. In a cluster, on every node that lets us in within timeout
    (a FanoutControl, as the console has). ControlError when none does."""
    async def once() -> T:
        clients = console_clients(settings)
        tried = await asyncio.gather(*(ami.connect(wait=timeout) for ami in clients.values()),
                                     return_exceptions=True)
        failed = [exc for exc in tried if isinstance(exc, BaseException)]
        if len(failed) == len(tried):
            first = failed[0]
            if not isinstance(first, AmiError):
                raise first
            raise ControlError(f"AMI on port {settings.pbx.ami_port} does not answer: "
                               f"{first}") from None
        try:
            return await work(console_control(clients, prefer=settings.cluster.node))
        finally:
            await asyncio.gather(*(ami.close() for ami in clients.values()))
    return asyncio.run(once())

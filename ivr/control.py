"""PBX control for other parts of the hotline: who is in the seats queue, and transfers.

The console asks the PBX for these through this module, never by speaking AMI itself:

    control = PbxControl(ami)
    await control.join("8001", "张三")
    await control.pause("8001", "break")
    await control.transfer(agent_channel, "8101", attended=True)

Every method raises ControlError with a message staff can read when Asterisk refuses or
cannot be reached; nothing here retries, the person who clicked decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr import variables as v
from ivr.ami import AmiClient, AmiError

QUEUE = "seats"
# Dialplan contexts of dialplan/transfer.conf.
BLIND_CONTEXT = "hotline-transfer"
CONSULT_CONTEXT = "hotline-consult"

# How long the handler's phone rings for a click-to-call reply before Asterisk gives up.
REPLY_RING_MS = 30000
# The number shapes dialplan/transfer.conf and reply.conf let through to Dial, checked here
# first so staff get a clear message: a staff extension (3 to 6 ASCII digits, as the phones
# table has them; str.isdigit() would take other scripts' digits) and a phone number.
_STAFF_EXTENSION = re.compile(r"[0-9]{3,6}")
_DIALABLE = re.compile(r"\+?[0-9]{3,20}")

# Asterisk's QueueMemberStatus Status codes (ast_device_state), as the console says them.
DEVICE_STATES = {
    "0": "unknown", "1": "idle", "2": "in_use", "3": "busy", "4": "invalid",
    "5": "unavailable", "6": "ringing", "7": "ring_in_use", "8": "on_hold",
}


class ControlError(Exception):
    """Asterisk refused or could not be asked; str() says what, for the person who clicked."""


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

    It is asynchronous in Asterisk. Send it where only the first response is awaited
    (hotline.pbx.ami_action, as the console does): panoramisk would wait for the
    OriginateResponse event, which comes only after the handler answers.
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


class PbxControl:
    def __init__(self, ami: AmiClient, queue: str = QUEUE) -> None:
        self.ami, self.queue = ami, queue

    @property
    def connected(self) -> bool:
        return self.ami.connected

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
        """Put the caller talking on agent_channel through to extension target.

        Blind: the caller rings the target at once; no answer, back to the agent.
        Attended: the agent talks to the target first while the caller holds; the agent
        hanging up completes it, and no answer gives the agent the caller back.
        """
        if not _STAFF_EXTENSION.fullmatch(target):
            raise ControlError(f"转接号码无效：{target}")
        if attended:
            await self._act({"Action": "Atxfer", "Channel": agent_channel, "Exten": target,
                             "Context": CONSULT_CONTEXT})
        else:
            await self._act({"Action": "BlindTransfer", "Channel": agent_channel,
                             "Exten": target, "Context": BLIND_CONTEXT})

    async def cancel_consultation(self, agent_channel: str) -> None:
        """End an attended transfer's consultation; the agent has the caller back."""
        await self._act({"Action": "CancelAtxfer", "Channel": agent_channel})

    async def complete_consultation(self, agent_channel: str) -> None:
        """The agent leaves the consultation, which joins the caller and the judge."""
        await self._act({"Action": "Hangup", "Channel": agent_channel})

    async def _act(self, fields: dict[str, str], tolerate: str = "") -> object:
        """Asterisk's reply; None when it refused with the tolerated reason."""
        try:
            return await self.ami.action(fields)
        except AmiError as exc:
            if tolerate and tolerate.lower() in str(exc).lower():
                return None
            raise ControlError(f"交换机未执行 {fields['Action']}：{exc}") from exc

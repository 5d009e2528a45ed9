"""entry: the first thing every 12368 call meets once it is answered and recording.

In office hours the office-hours menu (ivr/menu.toml open_start: a seat on 0 or no key,
self-service, dial a department) runs first, and a seat is one key away from every menu
level (0); callers come back to the after-hours menu through the "menu" route when nobody
is logged in. Otherwise the voice menu serves them until a node ends the call. In every
menu * plays the prompt again. While the menu runs the dialplan's next stop is
the closed message, so if the bridge fails mid-menu the caller can still leave a message.

Nothing here waits on the database: open or not is answered from memory
(Services.hours), and the call's steps are written behind it (Services.writer).
"""

from __future__ import annotations

from hotline.db.base import utcnow
from ivr.actions import ActionTable
from ivr.callflow import CallFlow, SeatRequested
from ivr.fastagi import AgiSession
from ivr.menu import HANDED_OVER, REPEAT_KEY, SEATS, Menu, MenuStore, Node
from ivr.modules import court
from ivr.services import Services
from pbx import names as v

# Where a blocked caller goes after the notice: the menu's message node (a voice message).
BLOCKED_NODE = "message"
# A menu that loops (a caller going back and forth forever) still ends.
MAX_STEPS = 60
# How often * replays one menu's prompt before it counts as a wrong key.
MAX_REPEATS = 5
# The route of a court number other than 12368 (hotline.trunks.DID_ROUTES), as the
# dialplan's second argument; "menu" is the voice menu: (call record, dialplan) for the others.
NUMBER_ROUTE_ARG = "arg_2"
NUMBER_ROUTES = {"queue": (v.CALL_ROUTE_QUEUE, v.ROUTE_QUEUE),
                 "closed": (v.CALL_ROUTE_CLOSED, v.ROUTE_CLOSED)}


class Entry:
    def __init__(self, services: Services, menus: MenuStore, actions: ActionTable) -> None:
        self.services, self.menus, self.actions = services, menus, actions

    async def handle(self, agi: AgiSession) -> None:
        flow = await CallFlow.start(agi, self.services)
        if self.services.blocked.blocks(flow.caller_number, utcnow()):
            return await self.blocked(flow)
        if agi.headers.get(NUMBER_ROUTE_ARG):
            return await self.number_route(flow, agi.headers[NUMBER_ROUTE_ARG])
        if self.services.hours.is_open(utcnow()):
            await self.office_menu(flow)
            return
        await self.menu_only(agi, flow)

    async def number_route(self, flow: CallFlow, route: str) -> None:
        """A call to another of the court's numbers with a route of its own ([[trunks]]
        dids, issue 16; the dialplan passes it): the seats, the message, or the voice
        menu without the office-hours welcome."""
        if route in NUMBER_ROUTES:
            await flow.set_route(*NUMBER_ROUTES[route])
            return
        await self.menu_only(flow.agi, flow)

    async def blocked(self, flow: CallFlow) -> None:
        """A number on the block list (hotline.blocklist, from memory): a short notice,
        then the voice message path only; never cut off (issue 15)."""
        flow.log("blocked", {})
        await flow.set_route(v.CALL_ROUTE_MENU, v.ROUTE_CLOSED)
        await flow.play("blocked-caller")
        node = self.menus.current().node(BLOCKED_NODE)
        await self.actions.get(node.action).run(flow, node)
        await flow.play("goodbye")
        await flow.agi.set_variable(v.ROUTE_VAR, v.ROUTE_DONE)

    async def menu_only(self, agi: AgiSession, flow: CallFlow | None = None) -> None:
        """The voice menu without asking whether the hotline is open: for callers the
        seats queue could not take (nobody logged in), route "menu"."""
        flow = flow or await CallFlow.start(agi, self.services)
        await flow.set_route(v.CALL_ROUTE_MENU, v.ROUTE_CLOSED)
        await self.run_menu(flow, self.menus.current())

    async def office_menu(self, flow: CallFlow) -> None:
        """Office hours: the seats unless the caller keys something else. If the bridge
        fails mid-menu the dialplan's next stop is the seats queue, as before."""
        menu = self.menus.current()
        await flow.set_route(v.CALL_ROUTE_MENU if menu.open_start else v.CALL_ROUTE_QUEUE,
                             v.ROUTE_QUEUE)
        if not menu.open_start:
            await flow.play("transfer-seat")
            return
        await self.run_menu(flow, menu, menu.open_start, seats=True)

    async def run_menu(self, flow: CallFlow, menu: Menu, start: str = "",
                       seats: bool = False) -> None:
        """Walk the menu from `start` (default: the after-hours start). `seats`: 0 puts the
        caller through to a seat while the hotline is open, from a menu or from an
        action's own choice (CallFlow.seat_on_zero) — not for callers the empty queue
        sent here: they would come straight back."""
        node_id = start or menu.start
        flow.seat_on_zero = seats
        try:
            await court.ask(flow)  # more than one court: which one (0 is a seat)
            for _ in range(MAX_STEPS):
                if node_id == HANDED_OVER:
                    return
                if node_id == SEATS:
                    return await self._seats(flow, None)
                if not node_id:
                    break
                node_id = await self._step(flow, menu.node(node_id), seats)
        except SeatRequested:
            flow.seat_on_zero = False
            return await self._seats(flow, None)
        await flow.agi.set_variable(v.ROUTE_VAR, v.ROUTE_DONE)

    async def _seats(self, flow: CallFlow, node: Node | None) -> None:
        await flow.set_route(v.CALL_ROUTE_QUEUE, v.ROUTE_QUEUE)
        await flow.play(node.prompts if node is not None else "transfer-seat")

    async def _step(self, flow: CallFlow, node: Node, seats: bool) -> str:
        if node.kind == "seats":
            await self._seats(flow, node)
            return HANDED_OVER
        if node.kind == "menu":
            return await self._menu(flow, node, seats)
        if node.kind == "action":
            return await self.actions.get(node.action).run(flow, node) or node.next
        await flow.play(node.prompts)
        return node.next if node.kind == "play" else ""

    async def _menu(self, flow: CallFlow, node: Node, seats: bool) -> str:
        """A key from the node's keys; no key or a wrong one: the retry prompt, `tries`
        times in all, then on_fail. * plays the prompt again; 0 in office hours: a seat."""
        prompts = list(node.prompts)
        tries = repeats = 0
        while tries < node.tries:
            key = await flow.choose(prompts, node.timeout)  # 0: SeatRequested (run_menu)
            if key in node.keys:
                return node.keys[key]
            if key == REPEAT_KEY and repeats < MAX_REPEATS:  # (unless the node maps *)
                prompts, repeats = list(node.prompts), repeats + 1
                continue
            tries += 1
            prompts = [node.retry_prompt or node.prompts[-1]]
        return node.on_fail

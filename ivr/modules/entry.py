"""entry: the first thing every 12368 call meets once it is answered and recording.

In office hours the caller goes to the seats (and comes back to the menu through the
"menu" route when nobody is logged in). Otherwise the voice menu (ivr/menu.toml) serves
them until a node ends the call. While the menu runs the dialplan's next stop is
the closed message, so if the bridge fails mid-menu the caller can still leave a message.

Nothing here waits on the database: open or not is answered from memory
(Services.hours), and the call's steps are written behind it (Services.writer).
"""

from __future__ import annotations

from hotline.db.base import utcnow
from ivr.actions import ActionTable
from ivr.callflow import CallFlow
from ivr.fastagi import AgiSession
from ivr.menu import Menu, MenuStore, Node
from ivr.services import Services
from pbx import names as v

# A menu that loops (a caller pressing * forever) still ends.
MAX_STEPS = 60


class Entry:
    def __init__(self, services: Services, menus: MenuStore, actions: ActionTable) -> None:
        self.services, self.menus, self.actions = services, menus, actions

    async def handle(self, agi: AgiSession) -> None:
        flow = await CallFlow.start(agi, self.services)
        if self.services.hours.is_open(utcnow()):
            await flow.set_route(v.CALL_ROUTE_QUEUE, v.ROUTE_QUEUE)
            await flow.play("transfer-seat")
            return
        await self.menu_only(agi, flow)

    async def menu_only(self, agi: AgiSession, flow: CallFlow | None = None) -> None:
        """The voice menu without asking whether the hotline is open: for callers the
        seats queue could not take (nobody logged in), route "menu"."""
        flow = flow or await CallFlow.start(agi, self.services)
        await flow.set_route(v.CALL_ROUTE_MENU, v.ROUTE_CLOSED)
        await self.run_menu(flow, self.menus.current())

    async def run_menu(self, flow: CallFlow, menu: Menu) -> None:
        node_id = menu.start
        for _ in range(MAX_STEPS):
            if not node_id:
                break
            node_id = await self._step(flow, menu.node(node_id))
        await flow.agi.set_variable(v.ROUTE_VAR, v.ROUTE_DONE)

    async def _step(self, flow: CallFlow, node: Node) -> str:
        if node.kind == "menu":
            return await self._menu(flow, node)
        if node.kind == "action":
            return await self.actions.get(node.action).run(flow, node) or node.next
        await flow.play(node.prompts)
        return node.next if node.kind == "play" else ""

    async def _menu(self, flow: CallFlow, node: Node) -> str:
        """A key from the node's keys; no key or a wrong one: the retry prompt, `tries`
        times in all, then on_fail."""
        prompts = list(node.prompts)
        for _ in range(node.tries):
            key = await flow.choose(prompts, node.timeout)
            if key in node.keys:
                return node.keys[key]
            prompts = [node.retry_prompt or node.prompts[-1]]
        return node.on_fail

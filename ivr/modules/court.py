"""court: which court the caller's matter is for (issue 17), asked before the voice menu
when more than one court is active — one key per court in the courts' order
(hotline.courts.menu_keys, held in memory by Services.courts, refreshed by the bridge like
the telephone directory). With one court nothing is asked and nothing changes.

The choice is kept on the call record (calls.court_id) and on the call's flow, so the
voice messages left on this call are that court's matters. No key (at once), or a wrong
one twice: the centre's court, and the menu goes on. In office hours 0 is a seat, as
everywhere.
"""

from __future__ import annotations

from hotline.db import callwrites as w
from ivr.callflow import CallFlow
from ivr.menu import REPEAT_KEY

TRIES = 2
TIMEOUT = 5.0
_CN_DIGITS = dict(zip("123456789", "一二三四五六七八九", strict=True))


def menu_sentence(labels: dict[str, str]) -> str:
    """您要联系的法院：洛阳中院请按一，西工区法院请按二，重听请按星号键。"""
    choices = [f"{label}请按{_CN_DIGITS[key]}" for key, label in labels.items()]
    return "您要联系的法院：" + "，".join([*choices, "重听请按星号键"]) + "。"


async def ask(flow: CallFlow) -> None:
    """Ask for the court when there is more than one; keep the caller's choice."""
    book = flow.services.courts
    if not book.offered():
        return
    sentence = menu_sentence({key: c.label for key, c in book.by_key.items()})
    for _ in range(TRIES):
        key = await flow.ask_text(sentence, "court-menu", TIMEOUT)
        if key == REPEAT_KEY:
            continue
        chosen = book.by_key.get(key)
        if chosen is not None:
            flow.court_id = chosen.id
            flow.log("court", {"court": str(chosen.id), "name": chosen.label})
            flow.services.writer.write(w.update(flow.call_id, court_id=chosen.id))
            return
        if not key:  # silence: straight on (in office hours the seats are waiting)
            break
    flow.log("court", {"court": ""})

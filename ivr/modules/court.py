"""court: which court the caller's matter is for (issue 17), asked before the voice menu
when more than one court is active — one key per court in the courts' order
(hotline.courts.menu_keys, 1 to 8, held in memory by Services.courts, refreshed by the
bridge like the telephone directory) — or, after 9, found from what the caller keys: the
digits of a case number (the court its code names, hotline.courts.court_of_keyed_case)
or the query code of a case acceptance notice (the court of that case's number, asked of
the case source). With one court nothing is asked and nothing changes.

The choice is kept on the call record (calls.court_id) and on the call's flow, so the
voice messages left on this call are that court's matters. No key (at once), or a wrong
one twice: the centre's court, and the menu goes on. A number naming no court is asked
again, three tries in all, then the court's list again (a wrong key); a wrong number
counts towards the query lock-out like a wrong query code (a query code's court would
otherwise tell a stranger which codes exist). In office hours 0 is a seat, as everywhere.
"""

from __future__ import annotations

from hotline import cases
from hotline.courts import CASE_KEY, MenuCourt
from hotline.db import callwrites as w
from ivr.callflow import CallFlow
from ivr.menu import REPEAT_KEY
from ivr.modules.common import note_query, query_locked

TRIES = 2
TIMEOUT = 5.0
CASE_TRIES = 3
CASE_TIMEOUT = 10.0
MAX_DIGITS = 20
_CN_DIGITS = dict(zip("123456789", "一二三四五六七八九", strict=True))


def menu_sentence(labels: dict[str, str]) -> str:
    """您要联系的法院：洛阳中院请按一，西工区法院请按二，按案号或查询码查找请按九，重听请按星号键。"""
    choices = [f"{label}请按{_CN_DIGITS[key]}" for key, label in labels.items()]
    by_case = f"按案号或查询码查找请按{_CN_DIGITS[CASE_KEY]}"
    return "您要联系的法院：" + "，".join([*choices, by_case, "重听请按星号键"]) + "。"


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
        if key == CASE_KEY:
            found = await by_case(flow)
            if found is not None:
                return keep(flow, *found)
            continue
        chosen = book.by_key.get(key)
        if chosen is not None:
            return keep(flow, chosen, "key")
        if not key:  # silence: straight on (in office hours the seats are waiting)
            break
    flow.log("court", {"court": ""})


def keep(flow: CallFlow, chosen: MenuCourt, how: str) -> None:
    flow.court_id = chosen.id
    flow.log("court", {"court": str(chosen.id), "name": chosen.label, "by": how})
    flow.services.writer.write(w.update(flow.call_id, court_id=chosen.id))


async def by_case(flow: CallFlow) -> tuple[MenuCourt, str] | None:
    """The court of a case number or query code the caller keys (ended by #), and how it
    was found; None after CASE_TRIES entries that name no court."""
    for attempt in range(CASE_TRIES):
        prompt = "court-case-input" if attempt == 0 else "court-case-retry"
        keyed = await flow.ask_number(prompt, CASE_TIMEOUT, MAX_DIGITS)
        found = await _court_of(flow, keyed) if keyed else None
        if found is not None:
            return found
        if keyed:
            note_query(flow, False, "a case number or query code for the court")
    await flow.play("court-case-failed")
    return None


async def _court_of(flow: CallFlow, keyed: str) -> tuple[MenuCourt, str] | None:
    """A known query code first (exact), then the digits read as a case number."""
    book = flow.services.courts
    if cases.valid_query_code(keyed) and not query_locked(flow):
        source = cases.case_source(flow.services.settings, flow.services.sessions)
        try:
            info = await source.by_query_code(keyed)
        except cases.CaseSourceError:  # the case number's digits may still name it
            info = None
        court = book.by_case(info.case_number) if info is not None else None
        if court is not None:
            note_query(flow, True, "a query code for the court")
            return court, "query code"
    court = book.by_keyed_case(keyed)
    return (court, "case number") if court is not None else None

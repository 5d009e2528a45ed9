"""Phones: the table, site/pjsip.conf rendered from it, and a reload that keeps calls up.

The reload goes through AMI as the PJSIP user (pbx/pjsip.py), not the control socket: the
console runs as the unprivileged user `hotline` once installed as services.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hotline.secrets import Secrets
from hotline.settings import Settings
from pbx.config import render_pjsip, write_atomic
from pbx.instance import PbxError, instance_for
from pbx.pjsip import reload_pjsip

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hotline.db.models import Phone

_PJSIP_LOCK = threading.Lock()  # one write-and-reload at a time in a process


def seed_phones(settings: Settings, secrets: Secrets) -> list[Phone]:
    """Every phone of the table, after adding those hotline.toml names and the table lacks
    (with an older site's passwords from secrets.toml). Migrates the database first."""
    from hotline.db import phones as phones_db
    from hotline.db.base import run_once
    from hotline.db.migrate import upgrade

    upgrade(settings.database_url, court_name=settings.court.name)

    async def work(session: AsyncSession) -> list[Phone]:
        try:
            await phones_db.seed(session, settings.pbx, secrets.phone_passwords)
        except phones_db.PhoneError as exc:
            raise PbxError(f"hotline.toml {exc}") from None
        return await phones_db.list_phones(session)
    return run_once(settings.database_url, work)


def apply_phones(settings: Settings, phones: Sequence[Phone]) -> None:
    """Render site/pjsip.conf from `phones` and have the running Asterisk reload PJSIP.

    A PJSIP reload leaves calls in progress up; a phone no longer in the file can place no
    new call, a new password is asked at the phone's next registration. A disabled seat
    must also leave the seats queue: the caller does that (PbxControl.leave).
    Raises PbxError when the file cannot be written or Asterisk does not take it: the
    next `hotline pbx up` renders the same file from the table anyway.
    """
    site = instance_for(settings).dir("etc") / "site"
    if not site.is_dir():
        raise PbxError("the PBX has not been set up yet (hotline pbx up)")
    with _PJSIP_LOCK:
        write_atomic(site / "pjsip.conf", render_pjsip(settings.pbx, phones, settings.cluster))
        reload_pjsip(settings)


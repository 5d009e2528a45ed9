"""Every kind of alert the hotline raises has a Chinese name on the console's alert list
(an administrator must not meet a bare "backup" or "clock")."""

from __future__ import annotations

import re
from pathlib import Path

from agent_console.texts import ALERT_KIND_LABELS
from hotline.db import alerts
from hotline.settings import REPO_ROOT

PARTS = ("hotline", "ivr", "scheduler", "recordings", "agent_console", "pbx", "reports")
KIND = re.compile(r'^ALERT_KIND = "([a-z-]+)"', re.MULTILINE)


def test_every_alert_kind_has_a_label() -> None:
    kinds = {kind: path.relative_to(REPO_ROOT) for part in PARTS
             for path in (REPO_ROOT / part).rglob("*.py")
             for kind in KIND.findall(path.read_text(encoding="utf-8"))}
    assert {"sms", "escalation", "backup", "clock"} <= kinds.keys()  # the scan finds them
    # ... and the kinds hotline.db.alerts names for the recordings part
    kinds |= {value: Path(alerts.__file__) for name, value in vars(alerts).items()
              if name.isupper() and isinstance(value, str)}
    missing = {kind: str(path) for kind, path in kinds.items() if kind not in ALERT_KIND_LABELS}
    assert not missing, f"alert kinds without a label in agent_console/texts.py: {missing}"

"""The dialplan, as Asterisk will read it (site file rendered), passes asterisklint.

asterisklint's list of applications predates Asterisk 22: reports about applications it
does not know but Asterisk has are ignored by name, never wholesale.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pbx
from hotline.secrets import Secrets
from hotline.settings import Settings

# Applications Asterisk 22 has and asterisklint 0.4.3 does not know.
KNOWN_TO_ASTERISK = {"PJSIPHangup"}
LINT = Path(sys.executable).parent / "asterisklint"


def render(tmp_path: Path) -> Path:
    inst = pbx.PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")
    secrets = Secrets("s3cret", {e: "pw" for e in ("8001", "8002", "8003", "8004", "8101")})
    pbx.render_config(Settings(), inst, secrets)
    return inst.dir("etc")


def lint(etc: Path) -> list[str]:
    done = subprocess.run([str(LINT), "dialplan-check", "extensions.conf"], cwd=etc,
                          capture_output=True, text=True, check=False)
    reports = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return [r for r in reports if not _known_false_report(r)]


def _known_false_report(report: str) -> bool:
    match = re.search(r"E_APP_MISSING: app '([^']+)'", report)
    return bool(match and match.group(1) in KNOWN_TO_ASTERISK)


def test_dialplan_passes_asterisklint(tmp_path: Path) -> None:
    assert lint(render(tmp_path)) == []


def test_lint_catches_a_broken_dialplan(tmp_path: Path) -> None:
    etc = render(tmp_path)
    with (etc / "dialplan" / "staff.conf").open("a") as conf:
        conf.write(" same => n,NoSuchApplication(1)\n same => n,PJSIPHangup(16)\n")
    reports = lint(etc)
    assert len(reports) == 1 and "NoSuchApplication" in reports[0]


def test_every_dialplan_file_is_included() -> None:
    included = set(re.findall(r'#include "dialplan/([^"]+)"',
                              (pbx.CONF_DIR / "extensions.conf").read_text()))
    assert included == {p.name for p in pbx.DIALPLAN_DIR.glob("*.conf")}


def test_site_files_hold_no_secret_in_the_repo() -> None:
    # Secrets are generated per site; the repository's own files must not carry any.
    for conf in [*pbx.CONF_DIR.glob("*.conf"), *pbx.DIALPLAN_DIR.glob("*.conf")]:
        text = conf.read_text()
        assert not re.search(r"^\s*(secret|password)\s*=", text, re.M), conf.name

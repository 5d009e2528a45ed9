"""The dialplan, as Asterisk will read it (site file rendered), passes asterisklint, and
every application and function it calls is in a module modules.conf loads.

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


# Where Asterisk 22 keeps each application and function the dialplan uses (None: the core,
# pbx_builtins.c). modules.conf loads nothing it does not name (autoload = no), and an
# application whose module is not loaded only fails when a call reaches it ("No application
# 'ExecIf'"): a hangup handler that wrote nothing went unnoticed that way.
APP_MODULES: dict[str, str | None] = {
    "Answer": None, "Goto": None, "GotoIf": None, "GotoIfTime": None, "Hangup": None,
    "NoOp": None, "Set": None, "MSet": None, "Wait": None, "Progress": None, "Ringing": None,
    "AGI": "res_agi.so", "Dial": "app_dial.so", "Gosub": "app_stack.so",
    "Return": "app_stack.so", "Log": "app_verbose.so", "Verbose": "app_verbose.so",
    "MixMonitor": "app_mixmonitor.so", "Playback": "app_playback.so",
    "Queue": "app_queue.so", "Record": "app_record.so", "UserEvent": "app_userevent.so",
    "ExecIf": "app_exec.so",
}
FUNCTION_MODULES: dict[str, str] = {
    "CALLERID": "func_callerid.so", "CDR": "func_cdr.so", "CHANNEL": "func_channel.so",
    "CUT": "func_cut.so", "IF": "func_logic.so", "REGEX": "func_strings.so",
    "STRFTIME": "func_strings.so", "GLOBAL": "func_global.so", "LEN": "func_strings.so",
}


def used_in_dialplan(etc: Path) -> tuple[set[str], set[str]]:
    """The applications and functions the rendered dialplan calls."""
    apps: set[str] = set()
    functions: set[str] = set()
    files = [etc / "extensions.conf", etc / "site" / "extensions.conf",
             *(etc / "dialplan").glob("*.conf")]
    for conf in files:
        for line in conf.read_text().splitlines():
            code = line.split(";")[0]
            app = re.match(r"\s*(?:exten\s*=>\s*[^,]+,|same\s*=>\s*)[^,]+,\s*([A-Za-z]+)\(",
                           code)
            if app:
                apps.add(app.group(1))
            functions |= set(re.findall(r"(?:\$\{|Set\()([A-Z_]+)\(", code))
    return apps, functions


def missing_modules(etc: Path) -> list[str]:
    """The modules the dialplan needs that modules.conf does not load."""
    loaded = set(re.findall(r"^load\s*=\s*(\S+)", (etc / "modules.conf").read_text(), re.M))
    apps, functions = used_in_dialplan(etc)
    unknown = sorted((apps - APP_MODULES.keys()) | (functions - FUNCTION_MODULES.keys()))
    assert not unknown, f"name the module of {unknown} in APP_MODULES / FUNCTION_MODULES"
    needed = {APP_MODULES[a] for a in apps} | {FUNCTION_MODULES[f] for f in functions}
    return sorted(m for m in needed - loaded if m is not None)


def test_every_application_and_function_the_dialplan_uses_is_loaded(tmp_path: Path) -> None:
    etc = render(tmp_path)
    apps, functions = used_in_dialplan(etc)
    assert {"AGI", "MixMonitor", "Queue", "Gosub"} <= apps and {"CDR", "CHANNEL"} <= functions
    assert missing_modules(etc) == []


def test_an_application_whose_module_is_not_loaded_is_caught(tmp_path: Path) -> None:
    etc = render(tmp_path)
    with (etc / "dialplan" / "staff.conf").open("a") as conf:
        conf.write(" same => n,ExecIf($[${LEN(${EXTEN})} > 3]?NoOp(long))\n")
    assert missing_modules(etc) == ["app_exec.so"]

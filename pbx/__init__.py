"""PBX control: the one face through which every part provisions, runs and drives Asterisk.

    import pbx
    pbx.start(settings)                          # provision, render, start, wait booted
    control = pbx.PbxControl(pbx.console_client(settings))
    await control.join("8001", "张三")
    pbx.with_control(settings, lambda c: c.leave("8001"))   # from synchronous code
    pbx.names.QUEUE                              # names shared with dialplan/

Inside: `instance` (where Asterisk lives, the sandbox), `config` (asterisk-conf/, dialplan/
and the rendered site files), `phones`, `process` (pid, start detached, stop, the control
socket), `pjsip` (PJSIP's reload and registrations through AMI, for the unprivileged
parts), `provision` (start), `ami` (the one AMI client, panoramisk underneath) and
`control` (queue, transfers, reply calls). Other parts import only what is listed here;
each name is loaded on first use, so `hotline status` does not pay for panoramisk.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where the names live, cheapest first: a name is looked for in order, so asking for one of
# the process functions imports neither the configuration's renderers nor panoramisk.
_MODULES = ("names", "instance", "process", "pjsip", "config", "phones", "provision", "ami",
            "control", "sip_security", "trunks", "proxy")
__all__ = [
    "CONF_DIR",
    "DEVICE_STATES",
    "DIALPLAN_DIR",
    "MIN_ASTERISK_MAJOR",
    "PBX_USER",
    "AmiClient",
    "AmiError",
    "AmiNotConnected",
    "AmiTimeout",
    "ControlError",
    "FanoutControl",
    "Member",
    "PbxControl",
    "PbxError",
    "PbxInstance",
    "ami_host",
    "apply_phones",
    "booted",
    "bridge_client",
    "busiest",
    "check_originate",
    "cli",
    "console_ami_secret",
    "console_client",
    "console_clients",
    "console_control",
    "contact_statuses",
    "ensure_sandbox",
    "extension_of",
    "grant_pbx",
    "install_sounds",
    "installed_asterisk_major",
    "instance_for",
    "interface",
    "live_pid",
    "make_pbx_dirs",
    "names",
    "office_hours_context",
    "pbx_owner",
    "pjsip",
    "pjsip_ami_secret",
    "pjsip_client",
    "prepare",
    "process_uid",
    "proxy",
    "registered_phones",
    "reload_pjsip",
    "render_config",
    "render_pjsip",
    "reply_call_action",
    "running_pid",
    "sandbox_ready",
    "seed_phones",
    "setup",
    "sip_security",
    "site_files",
    "spawn_detached",
    "start",
    "stop",
    "terminate",
    "trunk_registrations",
    "trunks",
    "wait_booted",
    "with_control",
    "write_atomic",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'pbx' has no attribute {name!r}")
    if name in _MODULES:
        value: Any = importlib.import_module(f"pbx.{name}")
    else:
        value = next(getattr(module, name) for module in map(_module, _MODULES)
                     if hasattr(module, name))
    globals()[name] = value
    return value


def _module(name: str) -> Any:
    return importlib.import_module(f"pbx.{name}")


if TYPE_CHECKING:  # what mypy reads; tests/unit/pbx/test_face.py checks it matches __all__
    from pbx import names, pjsip, proxy, sip_security, trunks
    from pbx.ami import AmiClient, AmiError, AmiNotConnected, AmiTimeout
    from pbx.config import (
        console_ami_secret,
        install_sounds,
        office_hours_context,
        pjsip_ami_secret,
        render_config,
        render_pjsip,
        site_files,
        write_atomic,
    )
    from pbx.control import (
        DEVICE_STATES,
        ControlError,
        FanoutControl,
        Member,
        PbxControl,
        bridge_client,
        busiest,
        check_originate,
        console_client,
        console_clients,
        console_control,
        extension_of,
        interface,
        reply_call_action,
        with_control,
    )
    from pbx.instance import (
        CONF_DIR,
        DIALPLAN_DIR,
        MIN_ASTERISK_MAJOR,
        PBX_USER,
        PbxError,
        PbxInstance,
        ami_host,
        ensure_sandbox,
        grant_pbx,
        installed_asterisk_major,
        instance_for,
        make_pbx_dirs,
        pbx_owner,
        sandbox_ready,
        setup,
    )
    from pbx.phones import apply_phones, seed_phones
    from pbx.pjsip import (
        contact_statuses,
        pjsip_client,
        registered_phones,
        reload_pjsip,
        trunk_registrations,
    )
    from pbx.process import (
        booted,
        cli,
        live_pid,
        process_uid,
        running_pid,
        spawn_detached,
        stop,
        terminate,
        wait_booted,
    )
    from pbx.provision import prepare, start

"""Bring an instance up: the sandbox if needed, its configuration, sounds and phones,
the folders given to Asterisk's user, then Asterisk itself until it has booted."""

from __future__ import annotations

from hotline.secrets import keep_private, load_or_create
from hotline.settings import Settings
from pbx.config import install_sounds, render_config
from pbx.instance import PbxInstance, ensure_sandbox, grant_pbx, instance_for, prepare_chroot
from pbx.phones import seed_phones
from pbx.process import cli, running_pid, spawn_detached, wait_booted


def start(settings: Settings, timeout: float = 60.0) -> PbxInstance:
    """Provision if needed, render the configuration, start Asterisk, wait for FullyBooted."""
    inst = prepare(settings)
    if running_pid(settings) is None:
        spawn_detached(inst.command("-f"), settings.log_dir / "asterisk.out")
    else:
        cli(settings, "core reload")  # already running: take the freshly rendered files
    wait_booted(settings, timeout)
    return inst


def prepare(settings: Settings) -> PbxInstance:
    """Everything before Asterisk starts (as root): the sandbox, the rendered configuration,
    sounds and phones, the folders given to Asterisk's user. The hotline-pbx service runs
    this, then Asterisk in the foreground (`hotline pbx run`)."""
    inst = instance_for(settings)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    if inst.chroot:
        ensure_sandbox(inst.chroot, settings.log_dir / "sandbox-build.log")
        prepare_chroot(inst.chroot)
    secrets = load_or_create(settings)
    render_config(settings, inst, secrets, seed_phones(settings, secrets))
    install_sounds(settings, inst)
    keep_private(settings)
    # Installed as services, the data folder's owner runs the other parts (cli/service.py).
    grant_pbx(inst, settings.data_dir.stat().st_uid or None)
    return inst


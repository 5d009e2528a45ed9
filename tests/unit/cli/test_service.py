"""The systemd units `hotline service install` writes: what each says, and systemd's own
checker (systemd-analyze verify) reading them as a machine would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli import service

SITE = service.Site(user="hotline", pbx_gid=101, data_dir=Path("/srv/hotline 12368/data"),
                    pbx_dir=Path("/var/cache/hotline/asterisk-sid/srv/hotline/abc"),
                    asterisk=("/usr/sbin/chroot", "/var/cache/hotline/asterisk-sid",
                              "/usr/sbin/asterisk", "-C", "/srv/hotline/abc/etc/asterisk.conf",
                              "-f"),
                    python=Path(sys.executable), repo=Path("/opt/hotline"),
                    env={"HOTLINE_CONFIG": "/etc/hotline/hotline.toml",
                         "HOTLINE_SMS_PASSWORD": 'p"a%ss word'})


def units(site: service.Site = SITE) -> dict[str, str]:
    return {str(path): text for path, text in service.render_units(site).items()}


def lines(text: str) -> set[str]:
    return set(text.splitlines())


def test_the_target_wants_every_part_and_starts_at_boot() -> None:
    target = lines(units()["hotline.target"])

    assert ("Wants=hotline-pbx.service hotline-bridge.service hotline-console.service "
            "hotline-scheduler.service") in target
    assert "WantedBy=multi-user.target" in target


@pytest.mark.parametrize("part", service.PARTS, ids=lambda p: p.name)
def test_every_part_comes_back_by_itself_within_seconds(part: service.Part) -> None:
    unit = lines(units()[part.unit])

    assert {"Restart=always", f"RestartSec={service.RESTART_SEC}", "PartOf=hotline.target",
            "StartLimitIntervalSec=0", "NoNewPrivileges=yes"} <= unit
    assert service.RESTART_SEC <= 5
    assert not any(line.startswith("StandardOutput=") for line in unit)  # the journal


def test_the_parts_run_as_the_unprivileged_user_in_asterisks_group() -> None:
    for part in service.PARTS:
        unit = lines(units()[part.unit])
        runs_as = {"User=hotline", "SupplementaryGroups=101"} <= unit
        assert runs_as == (part.name != "pbx"), part.name
    bridge = lines(units()["hotline-bridge.service"])
    assert ('ReadWritePaths="/srv/hotline 12368/data" '
            "/var/cache/hotline/asterisk-sid/srv/hotline/abc") in bridge
    assert {"ProtectSystem=strict", "PrivateTmp=yes"} <= bridge


def test_asterisk_is_prepared_as_root_then_runs_in_the_foreground() -> None:
    pbx = lines(units()["hotline-pbx.service"])

    assert (f"ExecStartPre={sys.executable} -m cli pbx prepare") in pbx
    assert ("ExecStart=/usr/sbin/chroot /var/cache/hotline/asterisk-sid /usr/sbin/asterisk "
            "-C /srv/hotline/abc/etc/asterisk.conf -f") in pbx
    assert "ProtectSystem=full" in pbx  # the sandbox's chroot writes in /var/cache
    assert 'ReadWritePaths="/srv/hotline 12368/data"' in pbx


def test_callers_come_first_for_the_cores_then_asterisk_then_batch_work() -> None:
    """systemd shares the cores between services by weight (hotline.cpushare): the bridge
    well above Asterisk's default, the scheduler well below."""
    weights = {name: [line for line in lines(text) if line.startswith("CPUWeight=")]
               for name, text in units().items() if name.endswith(".service")}

    assert weights == {"hotline-pbx.service": ["CPUWeight=100"],
                       "hotline-bridge.service": ["CPUWeight=1000"],
                       "hotline-console.service": ["CPUWeight=100"],
                       "hotline-scheduler.service": ["CPUWeight=10"]}


def test_the_installers_settings_go_to_a_drop_in_quoted_as_systemd_reads_them() -> None:
    drop_in = units()[str(service.ENV_DROP_IN)]

    assert drop_in.splitlines() == [
        "[Service]", "Environment=HOTLINE_CONFIG=/etc/hotline/hotline.toml",
        'Environment="HOTLINE_SMS_PASSWORD=p\\"a%%ss word"']
    assert service.hotline_env({"HOTLINE_X": "1", "PATH": "/bin"}) == {"HOTLINE_X": "1"}


def test_a_data_folder_in_tmp_is_not_hidden_by_a_private_tmp() -> None:
    site = service.Site(**{**SITE.__dict__, "data_dir": Path("/tmp/trial/data")})
    bridge = lines(units(site)["hotline-bridge.service"])

    assert "PrivateTmp=no" in bridge
    assert "ReadWritePaths=/tmp/trial/data /var/cache/hotline/asterisk-sid/srv/hotline/abc " \
           "/tmp /var/tmp" in bridge


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_analyze_verify_finds_nothing_wrong(tmp_path: Path) -> None:
    site = service.Site(**{**SITE.__dict__, "repo": tmp_path, "data_dir": tmp_path / "data",
                           "user": "root", "asterisk": ("/bin/true", "-f")})
    service.write_units(service.render_units(site), tmp_path)
    paths = [str(tmp_path / name) for name in service.UNITS]

    done = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True,
                          text=True, timeout=60, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if "hotline" in line]

    assert done.returncode == 0 and complaints == [], done.stdout + done.stderr

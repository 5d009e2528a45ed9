"""The pbx part's face: every name it lists resolves, mypy reads the same list, and asking
for process control does not load the AMI client (the CLI's start-up time)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pbx

INIT = Path(pbx.__file__)


def test_every_listed_name_resolves_and_an_unlisted_one_does_not() -> None:
    missing = [name for name in pbx.__all__ if getattr(pbx, name, None) is None]

    assert missing == []
    assert pbx.PbxControl.__module__ == "pbx.control"
    assert pbx.names.QUEUE == "seats"
    try:
        pbx.ami_action  # noqa: B018  # the hand-written client is gone
    except AttributeError as exc:
        assert "ami_action" in str(exc)
    else:
        raise AssertionError("pbx.ami_action still resolves")


def test_what_mypy_reads_is_what_is_listed() -> None:
    checking = next(node for node in ast.parse(INIT.read_text()).body
                    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
    typed = {alias.asname or alias.name for node in ast.walk(checking)
             if isinstance(node, ast.ImportFrom) for alias in node.names}

    assert typed == set(pbx.__all__)


def test_process_control_does_not_load_the_ami_client() -> None:
    code = ("import sys, pbx; pbx.running_pid; pbx.instance_for; pbx.names.QUEUE; "
            "print(sorted(m for m in sys.modules if m.startswith(('panoramisk', 'pbx.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=INIT.parents[1])

    loaded = done.stdout.strip()
    assert "pbx.process" in loaded and "pbx.names" in loaded
    assert "panoramisk" not in loaded and "pbx.ami" not in loaded and "pbx.control" not in loaded

"""The bridge: FastAGI voice menus and the AMI call tracker in one process (`python -m ivr`).

The face other parts use is `run`, the bridge in the foreground; nothing deeper.
"""

from __future__ import annotations

__all__ = ["run"]


def run() -> int:
    """Run the bridge in the foreground until SIGINT/SIGTERM; the exit status."""
    from ivr.main import main  # the whole bridge, only when it is to run

    return main()

"""Logging for every hotline process: one format, personal data masked in every line."""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
import sys
from pathlib import Path
from typing import IO

from hotline.privacy import MaskingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Each process has its own file (bridge.log, scheduler.log, console.log): it rotates it
# itself, so no logrotate set-up is needed and a full disk cannot come from a log (5 x 10 MiB
# at most).
ROTATE_BYTES = 10 * 1024 * 1024
ROTATE_KEEP = 5


def configure(logfile: Path | None = None, level: int = logging.INFO,
              echo: bool | None = None) -> None:
    """Every line, masked, to `logfile` (rotated) and, when echo, to stderr too. echo None:
    unless stderr is a plain file. Started by `hotline up`, a process's stderr is one
    (bridge.out) that nothing rotates: every line went there twice; now it keeps only what
    the logging does not carry (a crash). A terminal, or systemd's journal (which rotates
    itself), still gets every line."""
    if echo is None:
        echo = logfile is None or not plain_file(sys.stderr)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)] if echo else []
    if logfile is not None:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            logfile, maxBytes=ROTATE_BYTES, backupCount=ROTATE_KEEP, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(MaskingFilter())
    logging.basicConfig(level=level, handlers=handlers, force=True)


def plain_file(stream: IO[str]) -> bool:
    """Whether the stream writes into a regular file (not a terminal, pipe or socket)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):  # no descriptor (io.UnsupportedOperation is a ValueError)
        return False

"""Logging for every hotline process: one format, personal data masked in every line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hotline.privacy import MaskingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(logfile: Path | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile is not None:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(MaskingFilter())
    logging.basicConfig(level=level, handlers=handlers, force=True)

"""The [integrations] endpoints as written in the settings (issue 19): checked when the
settings load, so this module stays light (`hotline status` loads the settings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from hotline.settings import Settings

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class EndpointError(ValueError):
    """A wrong [integrations] endpoints entry; entry is the text as written."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(message)
        self.entry = entry


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str


def parse_endpoints(entries: tuple[str, ...]) -> list[Endpoint]:
    """["name = http://host/path", ...] → endpoints; EndpointError names the wrong one."""
    found: list[Endpoint] = []
    for entry in entries:
        name, sep, url = (part.strip() for part in entry.partition("="))
        if not sep or not _NAME.fullmatch(name):
            raise EndpointError(entry, f"{entry!r} is not \"name = URL\" (a name of a-z, "
                                "0-9, - and _)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(url or entry, f"{url!r} of {name} is not an http(s) URL")
        if any(e.name == name for e in found):
            raise EndpointError(entry, f"{name} is named twice")
        found.append(Endpoint(name, url))
    return found


def endpoint_names(settings: Settings) -> tuple[str, ...]:
    return tuple(e.name for e in parse_endpoints(settings.integrations.endpoints))

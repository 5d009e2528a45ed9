"""A cloud SMS provider's HTTP API, described by a template in hotline.toml [sms].

One request per message. {to}, {text}, {id} (our message number, which providers accept as
an idempotency or "out" id) and {secret} are replaced in the URL (URL-quoted), the headers
and the body (escaped for http_body_format). A 2xx answer whose body matches http_success
is a success; the provider's id is read by http_id_path (JSON) or http_id_regex.

>>> from hotline.settings import SmsSettings
>>> s = SmsSettings(http_url="http://sms.test/send?to={to}", http_body='{"t": "{text}"}')
>>> r = render_request(s, "13800138000", '说"好"', 7)
>>> r.url, r.body.decode()
('http://sms.test/send?to=13800138000', '{"t": "说\\\\"好\\\\""}')
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError

from hotline.settings import SmsSettings
from hotline.sms.base import Event, SendError

CONTENT_TYPES = {"json": "application/json; charset=utf-8",
                 "form": "application/x-www-form-urlencoded; charset=utf-8"}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def render_request(s: SmsSettings, to: str, text: str, message_id: int) -> HttpRequest:
    """The request for one message, from the template."""
    values = {"to": to, "text": text, "id": str(message_id), "secret": s.http_secret}
    url = _fill(s.http_url, values, lambda v: urllib.parse.quote(v, safe=""))
    headers: dict[str, str] = {}
    for line in s.http_headers:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise SendError(f"[sms] http_headers: {line!r} is not 'Name: value'")
        headers[name.strip()] = _fill(value.strip(), values, _no_newlines)
    body = _fill(s.http_body, values, _ESCAPES[s.http_body_format]).encode()
    if body and s.http_body_format in CONTENT_TYPES:
        headers.setdefault("Content-Type", CONTENT_TYPES[s.http_body_format])
    return HttpRequest(s.http_method.upper(), url, headers, body)


def _fill(template: str, values: dict[str, str], escape: Any) -> str:
    # Plain replacement, not str.format: JSON bodies are full of braces.
    return re.sub(r"\{(to|text|id|secret)\}", lambda m: escape(values[m.group(1)]), template)


def _no_newlines(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise SendError("a header value may not contain a line break")
    return value


_ESCAPES: dict[str, Any] = {
    "json": lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    "form": urllib.parse.quote_plus,
    "raw": lambda v: v,
}


def provider_id(s: SmsSettings, body: str) -> str | None:
    """The provider's message id in its answer, or None."""
    if s.http_id_path:
        try:
            node: Any = json.loads(body)
        except ValueError:
            return None
        for key in s.http_id_path.split("."):
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return None if node is None or isinstance(node, dict | list) else str(node)
    if s.http_id_regex:
        match = re.search(s.http_id_regex, body)
        return match.group(1) if match and match.groups() else None
    return None


class HttpDriver:
    name = "http"
    sends = True

    def __init__(self, settings: SmsSettings) -> None:
        self._s = settings
        # Straight to the provider: a proxy from the environment is not ours to use.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    async def send(self, to: str, text: str, *, message_id: int) -> list[str]:
        return await asyncio.to_thread(self._send, render_request(self._s, to, text, message_id))

    def _send(self, request: HttpRequest) -> list[str]:
        req = urllib.request.Request(request.url, data=request.body or None,
                                     headers=request.headers, method=request.method)
        try:
            with self._opener.open(req, timeout=self._s.http_timeout) as response:
                body = response.read().decode("utf-8", errors="replace")
        except HTTPError as exc:
            answer = exc.read().decode("utf-8", errors="replace")[:200]
            # 5xx and 429: the provider's trouble, not this message's.
            down = exc.code >= 500 or exc.code == 429
            raise SendError(f"provider answered HTTP {exc.code}: {answer}",
                            gateway_down=down) from None
        except (URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, URLError) else exc
            raise SendError(f"provider unreachable: {reason}", gateway_down=True) from None
        if self._s.http_success and not re.search(self._s.http_success, body):
            raise SendError(f"provider refused the message: {body[:200]}")
        found = provider_id(self._s, body)
        return [found] if found else []

    async def poll(self) -> list[Event]:
        # Providers report receipts and inbound SMS to a web hook of their own design,
        # which is not built: with this driver messages stay "sent".
        return []

    async def ack(self, events: list[Event]) -> None:
        return None

    async def close(self) -> None:
        return None

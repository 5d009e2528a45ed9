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

A provider that sends by template (hotline.sms.templates) also gets {template}, {params}
(the values in order, a JSON list), {param_map} (a JSON object) and {sign} (the court's
signature without 【】). In a json body {params} and {param_map} go in as JSON, so write
them without quotes: "TemplateParamSet": {params}.

Receipts and inbound SMS come back as JSON (or form) events, pushed to the console
(agent_console/sms_hook.py, checked by verify_hook) or pulled from the provider's poll
URLs; events() reads them through the dotted paths of [sms].
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError, URLError

from hotline.settings import SmsSettings
from hotline.sms import templates
from hotline.sms.base import INBOUND, RECEIPT, Event, Inbound, Receipt, SendError

CONTENT_TYPES = {"json": "application/json; charset=utf-8",
                 "form": "application/x-www-form-urlencoded; charset=utf-8"}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def render_request(s: SmsSettings, to: str, text: str, message_id: int, kind: str = "",
                   params: dict[str, str] | None = None, sign: str = "") -> HttpRequest:
    """The request for one message, from the template. SendError(permanent) when the
    provider sends only templates and the message's kind has none."""
    template = templates.template_for(s, kind, params or {})
    if template is None and templates.required(s):
        what = repr(kind) if kind else "free text"
        raise SendError(f"the provider sends only templates, and an SMS of {what} has none "
                        "in [sms.http_templates]", permanent=True)
    values = {"to": to, "text": text, "id": str(message_id), "secret": s.http_secret,
              "template": template.id if template else "", "sign": sign.strip("【】"),
              "params": json.dumps(list(template.values) if template else [],
                                   ensure_ascii=False),
              "param_map": json.dumps(template.param_map if template else {},
                                      ensure_ascii=False)}
    url = _fill(s.http_url, values, lambda v: urllib.parse.quote(v, safe=""))
    headers: dict[str, str] = {}
    for line in s.http_headers:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise SendError(f"[sms] http_headers: {line!r} is not 'Name: value'")
        headers[name.strip()] = _fill(value.strip(), values, _no_newlines)
    escape = _ESCAPES[s.http_body_format]
    body = _fill(s.http_body, values, escape,
                 raw_json=s.http_body_format == "json").encode()
    if body and s.http_body_format in CONTENT_TYPES:
        headers.setdefault("Content-Type", CONTENT_TYPES[s.http_body_format])
    return HttpRequest(s.http_method.upper(), url, headers, body)


_PLACEHOLDER = re.compile(r"\{(to|text|id|secret|template|sign|params|param_map)\}")
_JSON_VALUES = frozenset({"params", "param_map"})


def _fill(template: str, values: dict[str, str], escape: Any, raw_json: bool = False) -> str:
    # Plain replacement, not str.format: JSON bodies are full of braces.
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if raw_json and name in _JSON_VALUES else escape(values[name])
    return _PLACEHOLDER.sub(value, template)


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
        return _scalar(_at(node, s.http_id_path))
    if s.http_id_regex:
        match = re.search(s.http_id_regex, body)
        return match.group(1) if match and match.groups() else None
    return None


def _at(node: Any, path: str) -> Any:
    """The value at a dotted path (data.list.0.id) in parsed JSON; None if not there."""
    for key in path.split(".") if path else ():
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _scalar(node: Any) -> str | None:
    return None if node is None or isinstance(node, dict | list) else str(node)


# --- receipts and inbound SMS -------------------------------------------------------------

HOOK_MAX_AGE = 300  # seconds: an older signed push is refused (replayed or stuck)


class HookRefused(Exception):
    """A push that is not the provider's (bad signature, stale, unreadable): refused."""


def verify_hook(s: SmsSettings, secret: str, headers: Any, query: Any, body: bytes,
                now: float | None = None) -> None:
    """Raise HookRefused unless the push carries the shared secret ("token": header
    http_hook_signature_header or ?token=) or an HMAC-SHA256, hex, of "<timestamp>.<body>"
    under it ("hmac": timestamp in http_hook_timestamp_header, at most 5 minutes old)."""
    if not secret:
        raise HookRefused("no sms_hook_secret in secrets.toml")
    sent = str(headers.get(s.http_hook_signature_header) or "")
    if s.http_hook_auth == "token":
        sent = sent or str(query.get("token") or "")
        if not hmac.compare_digest(sent.encode(), secret.encode()):
            raise HookRefused("wrong token")
        return
    stamp = str(headers.get(s.http_hook_timestamp_header) or "")
    if not stamp.isdigit():
        raise HookRefused("no timestamp")
    if abs((time.time() if now is None else now) - int(stamp)) > HOOK_MAX_AGE:
        raise HookRefused("timestamp more than 5 minutes away")
    expected = sign_hook(secret, stamp, body)
    if not hmac.compare_digest(sent.removeprefix("sha256=").lower().encode(),
                               expected.encode()):
        raise HookRefused("bad signature")


def sign_hook(secret: str, stamp: str, body: bytes) -> str:
    """The signature of a push: hex HMAC-SHA256 of "<timestamp>.<body>"."""
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def events(s: SmsSettings, kind: str, body: bytes, content_type: str = "",
           at: datetime | None = None) -> list[Event]:
    """The receipts (kind "receipt") or inbound SMS ("inbound") in a pushed or pulled
    body, each with its key. HookRefused when the body is not readable."""
    at = at or datetime.now(UTC)
    text = body.decode("utf-8", errors="replace")
    try:
        if "x-www-form-urlencoded" in content_type:
            parsed: Any = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        else:
            parsed = json.loads(text) if text.strip() else []
    except ValueError:
        raise HookRefused("the body is neither JSON nor a form") from None
    listed = _at(parsed, s.http_events_path)
    items = listed if isinstance(listed, list) else [listed] if isinstance(listed, dict) else []
    read = _receipt if kind == RECEIPT else _inbound
    return [event for item in items if isinstance(item, dict)
            if (event := read(s, item, at)) is not None]


def _receipt(s: SmsSettings, item: dict[str, Any], at: datetime) -> Receipt | None:
    message_id = _scalar(_at(item, s.http_receipt_id_path))
    state = _scalar(_at(item, s.http_receipt_status_path)) or ""
    if not message_id:
        return None
    delivered = re.search(s.http_receipt_delivered, state) is not None
    return Receipt(message_id, delivered, state, at, key=f"{RECEIPT}:{message_id}:{state}"[:200])


def _inbound(s: SmsSettings, item: dict[str, Any], at: datetime) -> Inbound | None:
    number = _scalar(_at(item, s.http_inbound_from_path))
    text = _scalar(_at(item, s.http_inbound_text_path))
    if not number or text is None:
        return None
    own_id = _scalar(_at(item, s.http_inbound_id_path)) if s.http_inbound_id_path else None
    # Without the provider's id, the event itself is its key: a repeat is the same bytes.
    key = own_id or hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
    to = (_scalar(_at(item, s.http_inbound_to_path)) if s.http_inbound_to_path else None)
    return Inbound(number, to or s.source_addr, text, at, key=f"{INBOUND}:{key}"[:200])


class HttpDriver:
    name = "http"
    sends = True
    takes_pushed = True

    def __init__(self, settings: SmsSettings, signature: str = "",
                 clock: Any = time.monotonic) -> None:
        self._s = settings
        self._sign = signature
        self._clock = clock
        self._next_poll = 0.0
        # Straight to the provider: a proxy from the environment is not ours to use.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    async def send(self, to: str, text: str, *, message_id: int, kind: str = "",
                   params: dict[str, str] | None = None) -> list[str]:
        request = render_request(self._s, to, text, message_id, kind, params, self._sign)
        return await asyncio.to_thread(self._send, request)

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
        """What the provider's poll URLs hold, every http_poll_seconds (the sender runs
        more often). Pushed events reach the sender through the console instead."""
        urls = [(kind, url) for kind, url in ((RECEIPT, self._s.http_poll_receipts_url),
                                              (INBOUND, self._s.http_poll_inbound_url)) if url]
        if not urls or self._clock() < self._next_poll:
            return []
        self._next_poll = self._clock() + self._s.http_poll_seconds
        found: list[Event] = []
        for kind, url in urls:
            body, content_type = await asyncio.to_thread(self._pull, url)
            try:
                found += events(self._s, kind, body, content_type)
            except HookRefused as exc:
                raise SendError(f"provider's {kind} poll answered: {exc}") from None
        return found

    def _pull(self, url: str) -> tuple[bytes, str]:
        headers = render_request(dataclasses.replace(self._s, http_body="",
                                                     http_templates_required=False),
                                 "", "", 0).headers
        url = url.replace("{secret}", urllib.parse.quote(self._s.http_secret, safe=""))
        req = urllib.request.Request(url, headers=headers)
        try:
            with self._opener.open(req, timeout=self._s.http_timeout) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except HTTPError as exc:
            raise SendError(f"provider's poll answered HTTP {exc.code}",
                            gateway_down=True) from None
        except (URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, URLError) else exc
            raise SendError(f"provider unreachable: {reason}", gateway_down=True) from None

    async def ack(self, events: list[Event]) -> None:
        return None

    async def close(self) -> None:
        return None

"""The http driver: the request template, and sending to a real local HTTP server."""

from __future__ import annotations

import json
import socket
import urllib.parse

import pytest

from hotline.settings import SettingsError, SmsSettings
from hotline.sms.base import SendError
from hotline.sms.http_api import HttpDriver, provider_id, render_request
from tests.unit.hotline.sms.provider import provider

TEXT = '您的案件（2026）豫03民初12号已立案。"引号"&符号 \\ 换行\n结束'


def _settings(**values: object) -> SmsSettings:
    base: dict[str, object] = {
        "driver": "http", "http_url": "http://127.0.0.1:9/sms/send",
        "http_headers": ("Authorization: Bearer {secret}", "X-Out-Id: {id}"),
        "http_body": '{"phone": "{to}", "content": "{text}", "outId": "{id}"}',
        "http_secret": "s3cret", "http_success": r'"code"\s*:\s*0',
        "http_id_path": "data.messageId"}
    base.update(values)
    return SmsSettings(**base)  # type: ignore[arg-type]


def test_json_body_escapes_the_text() -> None:
    request = render_request(_settings(), "13800138000", TEXT, 42)
    assert json.loads(request.body) == {"phone": "13800138000", "content": TEXT, "outId": "42"}
    assert request.headers == {"Authorization": "Bearer s3cret", "X-Out-Id": "42",
                               "Content-Type": "application/json; charset=utf-8"}
    assert request.method == "POST"


def test_form_body_and_url_placeholders_are_quoted() -> None:
    s = _settings(http_url="http://sms.test/send?mobile={to}&sign={secret}",
                  http_body="content={text}&id={id}", http_body_format="form")
    request = render_request(s, "+8613800138000", TEXT, 7)
    assert request.url == "http://sms.test/send?mobile=%2B8613800138000&sign=s3cret"
    assert urllib.parse.parse_qs(request.body.decode()) == {"content": [TEXT], "id": ["7"]}
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_raw_body_and_bad_header_lines() -> None:
    assert render_request(_settings(http_body="{text}", http_body_format="raw"), "1", "原文",
                          1).body == "原文".encode()
    with pytest.raises(SendError, match="Name: value"):
        render_request(_settings(http_headers=("no colon here",)), "1", "x", 1)
    with pytest.raises(SendError, match="line break"):
        render_request(_settings(http_headers=("X-To: {to}",)), "1\r\nEvil: 1", "x", 1)


def test_message_id_by_json_path_or_regex() -> None:
    body = '{"code": 0, "result": [{"sid": "SM123"}], "data": {"messageId": 99}}'
    assert provider_id(_settings(), body) == "99"
    assert provider_id(_settings(http_id_path="result.0.sid"), body) == "SM123"
    assert provider_id(_settings(http_id_path="result.5.sid"), body) is None
    assert provider_id(_settings(http_id_path="", http_id_regex=r'"sid": "(\w+)"'), body) == "SM123"
    assert provider_id(_settings(), "not json") is None


def test_settings_refuse_an_unknown_driver_or_format() -> None:
    with pytest.raises(SettingsError, match=r"\[sms\] driver"):
        SmsSettings(driver="carrier-pigeon")
    with pytest.raises(SettingsError, match="http_body_format"):
        SmsSettings(http_body_format="xml")
    with pytest.raises(SettingsError, match="http_url"):
        SmsSettings(driver="http")


async def test_sends_to_a_real_http_server() -> None:
    with provider() as p:
        driver = HttpDriver(_settings(http_url=p.url + "/sms/send?to={to}"))
        ids = await driver.send("13800138000", TEXT, message_id=5)
    assert ids == ["P1"]
    [seen] = p.requests
    assert seen.method == "POST" and seen.path == "/sms/send?to=13800138000"
    assert seen.headers["Authorization"] == "Bearer s3cret"
    assert json.loads(seen.body)["content"] == TEXT


@pytest.mark.parametrize(("status", "body", "down", "match"), [
    (200, '{"code": 17, "msg": "黑名单"}', False, "refused the message"),
    (400, '{"code": 400}', False, "HTTP 400"),
    (503, "busy", True, "HTTP 503"),
    (429, "slow down", True, "HTTP 429"),
])
async def test_refusals_say_whose_fault(status: int, body: str, down: bool, match: str) -> None:
    with provider() as p:
        p.answers.append((status, body))
        with pytest.raises(SendError, match=match) as refused:
            await HttpDriver(_settings(http_url=p.url)).send("13800138000", "x", message_id=1)
    assert refused.value.gateway_down is down


async def test_an_unreachable_provider_is_gateway_down() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    driver = HttpDriver(_settings(http_url=f"http://127.0.0.1:{port}/", http_timeout=2))
    with pytest.raises(SendError, match="unreachable") as refused:
        await driver.send("13800138000", "x", message_id=1)
    assert refused.value.gateway_down

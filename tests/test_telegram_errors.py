"""One Telegram error policy: the Bot API's answer → python-telegram-bot's exception → a verdict.

Each case is a reply as the Bot API sends it (status and JSON), turned into an exception by PTB's
own request code (a BaseRequest whose transport returns the canned reply), then classified.
"""

from __future__ import annotations

import asyncio
import json
import warnings

import pytest
from telegram.error import RetryAfter, TimedOut
from telegram.request import BaseRequest

from bot.notify.outbound.verdicts import Action, classify, retry_seconds


class Canned(BaseRequest):
    """A transport that answers every request with one status and body."""

    def __init__(self, status: int, body: bytes):
        self.status, self.body = status, body

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, *args, **kwargs) -> tuple[int, bytes]:
        return self.status, self.body


def raised(status: int, description: str = "", **parameters: int) -> Exception:
    """The exception PTB raises for this Bot API reply."""
    reply = {"ok": False, "error_code": status, "description": description}
    if parameters:
        reply["parameters"] = parameters
    request = Canned(status, json.dumps(reply).encode())
    with pytest.raises(Exception) as caught:
        asyncio.run(request.post("https://api.telegram.org/bot1:x/sendMessage"))
    return caught.value


@pytest.mark.parametrize(
    ("status", "description", "action"),
    [
        (403, "Forbidden: bot was blocked by the user", Action.BLOCKED),
        (403, "Forbidden: bot was kicked from the group chat", Action.BLOCKED),
        (400, "Bad Request: message is not modified: specified new message content", Action.UNCHANGED),
        (400, "Bad Request: message to edit not found", Action.GONE),
        (400, "Bad Request: message can't be edited", Action.GONE),
        (400, "Bad Request: can't parse entities: Unsupported start tag at byte offset 5", Action.PLAIN),
        (400, "Bad Request: not enough rights to send photos to the chat", Action.PLAIN),
        (400, "Bad Request: chat not found", Action.REFUSED),
        (400, "Bad Request: message is too long", Action.REFUSED),
        (502, "Bad Gateway", Action.RETRY),
        (500, "Internal Server Error", Action.RETRY),
        (401, "Unauthorized", Action.RETRY),
    ],
)
def test_each_reply_gets_its_verdict(status, description, action):
    assert classify(raised(status, description)).action == action


def test_a_5xx_without_json_is_retried_and_named_by_its_title():
    page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>\r\n"
    request = Canned(502, page)
    with pytest.raises(Exception) as caught:
        asyncio.run(request.post("https://api.telegram.org/bot1:x/sendMessage"))
    verdict = classify(caught.value)
    assert verdict.action == Action.RETRY
    assert verdict.detail == "network: Bad Gateway (502): a page, not JSON ('502 Bad Gateway')"


def test_a_timeout_is_retried():
    assert classify(TimedOut()).action == Action.RETRY


def test_a_429_waits_as_long_as_telegram_asks():
    verdict = classify(raised(429, "Too Many Requests: retry after 7", retry_after=7))
    assert verdict.action == Action.WAIT
    assert verdict.seconds == 7.0


def test_a_migration_names_the_new_chat():
    error = raised(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1009)
    verdict = classify(error)
    assert verdict.action == Action.MIGRATED
    assert verdict.chat_id == -1009


def test_the_detail_says_what_telegram_said():
    assert classify(raised(403, "Forbidden: bot was blocked by the user")).detail == (
        "403: Forbidden: bot was blocked by the user"
    )


def test_retry_after_is_read_without_a_deprecation_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert retry_seconds(RetryAfter(3)) == 3.0


def test_retry_after_as_a_number_is_read_too(monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "false")  # PTB's old behaviour: seconds as an int
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert retry_seconds(RetryAfter(3)) == 3.0

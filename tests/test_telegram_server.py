"""The fake Telegram Bot API server, driven by the real python-telegram-bot (no internet)."""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest
from telegram_faults import FloodLimits
from telegram_server import ApiError, TelegramServer, parse_multipart
from waits import await_until

TOKEN = "123456789:AAtest-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big") + b"..."


@pytest.fixture
def server():
    # these tests are about other things than flood limits (test_rate_limits): several sends a
    # second to one chat are fine here
    with TelegramServer(limits=False) as s:
        yield s


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch):
    # PTB 22 warns that RetryAfter.retry_after becomes a timedelta; opt in (no deprecation warning)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def make_bot(server: TelegramServer, **request_kwargs) -> Bot:
    request = HTTPXRequest(**request_kwargs) if request_kwargs else None
    return Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url, request=request)


def run(coro):
    return asyncio.run(coro)


# --- the Bot API as PTB uses it ---------------------------------------------------------------


def test_bot_round_trip(server):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute")]])

    async def scenario():
        async with make_bot(server) as bot:
            me = await bot.get_me()
            assert me.is_bot
            assert me.username == "tic_alert_test_bot"
            assert me.can_join_groups
            msg = await bot.send_message(
                42, "<b>Japan</b> sold &amp; bought", parse_mode="HTML", reply_markup=keyboard
            )
            assert msg.message_id == 1
            assert msg.chat.id == 42
            assert msg.text == "Japan sold & bought"
            assert msg.from_user.id == me.id
            first = await bot.send_photo(42, PNG, caption="chart")
            assert [(p.width, p.height) for p in first.photo][-1] == (640, 480)
            file_id = first.photo[-1].file_id
            assert file_id == "photo-1"
            again = await bot.send_photo(43, file_id, caption="same chart")
            assert again.photo[-1].file_id == file_id
            edited = await bot.edit_message_text(
                "<i>revised</i>", chat_id=42, message_id=msg.message_id, parse_mode="HTML"
            )
            assert edited.text == "revised"
            assert edited.edit_date is not None
            with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
                await bot.edit_message_text(
                    "<i>revised</i>", chat_id=42, message_id=msg.message_id, parse_mode="HTML"
                )
            with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
                await bot.edit_message_text("x", chat_id=42, message_id=99)
            await bot.edit_message_caption(chat_id=42, message_id=first.message_id, caption="new caption")
            await bot.set_my_commands([BotCommand("start", "subscribe"), BotCommand("help", "what I do")])
            assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
            assert await bot.send_chat_action(42, "upload_photo")
            server.chat_admins[-100] = {7}
            server.chat_creators[-100] = 8
            assert (await bot.get_chat_member(-100, 7)).status == "administrator"
            assert (await bot.get_chat_member(-100, 8)).status == "creator"
            assert (await bot.get_chat_member(-100, 9)).status == "member"
            chat = await bot.get_chat(-1001234567890)
            assert chat.type == "supergroup"
            downloaded = await (await bot.get_file(file_id)).download_as_bytearray()
            assert bytes(downloaded) == PNG

    run(scenario())
    assert server.uploads == 1  # the second photo reused the file_id
    assert [c["command"] for c in server.commands] == ["start", "help"]
    to_42 = server.sent(42)
    assert [(s.method, s.photo) for s in to_42] == [("sendMessage", None), ("sendPhoto", "upload")]
    assert to_42[0].parse_mode == "HTML"
    assert to_42[0].text == "<b>Japan</b> sold &amp; bought"
    assert to_42[0].reply_markup == {"inline_keyboard": [[{"text": "Mute", "callback_data": "mute"}]]}
    assert server.sent(43)[0].photo == "photo-1"
    assert [s.method for s in server.sent(42, edits=True)][2:] == ["editMessageText", "editMessageCaption"]
    assert server.message(42, 1)["text"] == "revised"
    upload = server.calls("sendPhoto")[0]
    assert upload.content_type == "multipart/form-data"
    assert upload.files["photo"]["size"] == len(PNG)
    assert "photo" not in upload.params
    assert upload.params["caption"] == "chart"
    assert server.calls("sendPhoto")[1].content_type == "application/x-www-form-urlencoded"
    transcript = server.transcript()
    assert "← chat 42 sendMessage #1: <b>Japan</b> sold &amp; bought  [Mute|mute]" in transcript
    assert "← chat 43 sendPhoto #3 [photo photo-1]: same chart" in transcript  # one sequence: private chats


def test_errors_map_to_ptb_exceptions(server):
    server.blocked_chats.add(5)
    server.migrated[-77] = -1000000000077
    server.fail_next("sendMessage", 429, parameters={"retry_after": 1})

    async def scenario():
        async with make_bot(server) as bot:
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(1, "x")
            assert caught.value.retry_after == dtm.timedelta(seconds=1)
            await bot.send_message(1, "the retry goes through")
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(5, "x")
            with pytest.raises(ChatMigrated) as migrated:
                await bot.send_message(-77, "x")
            assert migrated.value.new_chat_id == -1000000000077
            with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
                await bot.send_photo(1, PNG, caption="é" * 1025)
            await bot.send_photo(
                1, PNG, caption="<b>" + "é" * 1024 + "</b>", parse_mode="HTML"
            )  # tags don't count
            with pytest.raises(BadRequest, match=r"(?i)message is too long"):
                await bot.send_message(1, "x" * 4097)
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await bot.send_message(1, "<b>unclosed", parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
                await bot.send_message(1, "1 < 2", parse_mode="HTML")
            server.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the group chat", chat_id=-9)
            await bot.send_message(-8, "other chats are not affected")
            with pytest.raises(Forbidden, match="kicked"):
                await bot.send_message(-9, "x")
            server.fail_next("sendMessage", 502)
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(1, "x")

    run(scenario())
    assert server.count_429 == 1
    assert [s.text[:8] for s in server.sent(1)] == ["the retr", "<b>ééééé"]  # refused ones not delivered
    assert [r.status for r in server.calls("sendMessage", chat_id=5)] == [403]
    assert "✗ sendMessage chat 5: 403 Forbidden: bot was blocked by the user" in server.transcript()


def test_wrong_token_and_unknown_method():
    with TelegramServer(token=TOKEN) as server:

        async def scenario():
            async with make_bot(server) as bot:
                assert (await bot.get_me()).id == 123456789
            with pytest.raises(InvalidToken):
                async with Bot("1:other", base_url=server.base_url) as other:
                    await other.get_me()

        run(scenario())
        answer = httpx.post(f"{server.url}/bot{TOKEN}/noSuchMethod")
        assert answer.status_code == 404
        assert answer.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }


def test_held_answer_is_a_timeout_and_the_message_still_arrives():
    with TelegramServer(hang_seconds=0.6) as server:
        server.fail_next("sendMessage", "timeout")

        async def scenario():
            async with make_bot(server, read_timeout=0.2) as bot:
                with pytest.raises(TimedOut):
                    await bot.send_message(3, "maybe delivered")

        run(scenario())
        server.wait_for(1, chat_id=3, timeout=3)  # delivered after the client gave up


def test_random_faults_are_seeded(server):
    server.fault_rate["5xx"] = 1.0

    async def scenario():
        async with make_bot(server) as bot:
            with pytest.raises(NetworkError):
                await bot.send_message(1, "x")
            server.fault_rate["5xx"] = 0.0
            server.fault_rate["429"] = 1.0
            with pytest.raises(RetryAfter):
                await bot.send_message(1, "x")
            assert (await bot.get_me()).is_bot  # only send/edit methods fail

    run(scenario())
    assert server.sent() == []
    assert server.count_429 == 1

    draws = []
    for _ in range(2):
        with TelegramServer(seed=7, limits=False) as seeded, httpx.Client() as client:
            seeded.fault_rate["5xx"] = 0.5
            url = f"{seeded.url}/bot{TOKEN}/sendMessage"
            draws.append([client.post(url, data={"chat_id": 1, "text": "x"}).status_code for _ in range(12)])
    assert draws[0] == draws[1]
    assert {200, 502} == set(draws[0])


# --- rate limits ------------------------------------------------------------------------------


def test_rate_limits(server):
    server.limits(overall_per_s=3, per_chat_per_s=1, per_group_per_min=2)

    async def scenario():
        async with make_bot(server) as bot:
            await bot.send_message(7, "one")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(7, "two")
            assert caught.value.retry_after == dtm.timedelta(seconds=1)
            await bot.send_message(8, "other chat")
            await bot.send_message(9, "third chat")
            with pytest.raises(RetryAfter):  # 3 per second overall
                await bot.send_message(10, "fourth chat")
            server.limits(overall_per_s=None, per_chat_per_s=None, per_group_per_min=2)
            await bot.send_message(-5, "g1")
            await bot.send_message(-5, "g2")
            with pytest.raises(RetryAfter) as group:
                await bot.send_message(-5, "g3")
            assert dtm.timedelta(seconds=55) <= group.value.retry_after <= dtm.timedelta(seconds=60)
            with pytest.raises(BadRequest):  # a refused message takes no slot
                await bot.send_message(-6, "<b>", parse_mode="HTML")
            await bot.send_message(-6, "g1")
            server.limits(on=False)
            for i in range(5):
                await bot.send_message(-5, f"free {i}")

    run(scenario())
    assert server.count_429 == 3
    assert [s.text for s in server.sent(7)] == ["one"]


def test_strict_by_default_limits_groups_and_channels_too():
    with TelegramServer() as strict:
        strict.set_chat(-1000000000042, "channel", title="TIC releases")

        async def scenario():
            async with make_bot(strict) as bot:
                await bot.send_message(7, "one")
                with pytest.raises(RetryAfter):  # 1/s per chat, on without asking
                    await bot.send_message(7, "two")
                strict.limits(overall_per_s=None, per_chat_per_s=None, per_group_per_min=2)
                for chat in (-5, -1000000000042):  # a group and a channel: 20/min (here 2)
                    await bot.send_message(chat, "g1")
                    await bot.send_message(chat, "g2")
                    with pytest.raises(RetryAfter):
                        await bot.send_message(chat, "g3")
                for _ in range(3):
                    await bot.send_message(8, "a private chat has no per-minute limit")

        run(scenario())
        assert strict.count_429 == 3
    with TelegramServer(limits=False) as free:
        run(_send_twice(free))
        assert free.count_429 == 0


def test_paid_broadcasts_have_their_own_overall_limit_and_the_same_per_chat_limit(server):
    server.limits(overall_per_s=2, per_chat_per_s=1, per_group_per_min=20, paid_per_s=4)

    async def scenario():
        async with make_bot(server) as bot:
            await bot.send_message(1, "free")
            await bot.send_message(2, "free")
            with pytest.raises(RetryAfter):  # 2 free messages a second
                await bot.send_message(3, "free")
            await bot.send_message(3, "paid", allow_paid_broadcast=True)  # paid: up to 4 a second
            await bot.send_message(4, "paid", allow_paid_broadcast=True)
            with pytest.raises(RetryAfter):  # the 4 of every kind in the last second
                await bot.send_message(5, "paid", allow_paid_broadcast=True)
            with pytest.raises(RetryAfter):  # still one a second in a chat
                await bot.send_message(5 - 1, "again", allow_paid_broadcast=True)

    run(scenario())
    assert server.count_429 == 3
    assert [s.params.get("allow_paid_broadcast") for s in server.sent()] == [None, None, True, True]


def test_the_paid_limit_is_a_rate_over_a_sliding_second():
    flood = FloodLimits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20, paid_per_s=1000)
    for i in range(1000):  # 1,000 chats in 0.999 s
        flood.take(i + 1, 100.0 + i * 0.000999, paid=True)
    with pytest.raises(ApiError) as refused:
        flood.take(5000, 100.9995, paid=True)
    assert refused.value.code == 429
    flood.take(5000, 101.0005, paid=True)  # the first of them left the window
    with pytest.raises(ApiError):  # a free message beside them: the free 30/s are not used up,
        flood.take(5001, 101.0006)  # but paid broadcasting lifts the ceiling, it adds no second one
    assert flood.take(5001, 101.0016) == 101.0016  # the second of them left


async def _send_twice(server: TelegramServer) -> None:
    async with make_bot(server) as bot:
        await bot.send_message(7, "one")
        await bot.send_message(7, "two")


# --- outages and migrations -------------------------------------------------------------------


def test_an_outage_answers_502_then_nothing_then_recovers():
    with TelegramServer(limits=False, seed=3) as server:

        async def scenario():
            async with make_bot(server, read_timeout=0.3, connect_timeout=0.3, pool_timeout=0.3) as bot:
                outage = server.outage(0.0, 0.6, 0.8)
                with pytest.raises(NetworkError, match=r"^Bad Gateway$") as bad:
                    await bot.send_message(1, "during the 502s")
                assert not isinstance(bad.value, TimedOut)
                with pytest.raises(NetworkError):
                    await bot.get_me()  # the whole API is down, not only sends
                await await_until(lambda: time.monotonic() >= outage.timeouts, what="the outage's silence")
                with pytest.raises(TimedOut):
                    await bot.send_message(1, "held past the client's timeout")
                await await_until(lambda: time.monotonic() >= outage.end, what="the outage's end")
                await bot.send_message(1, "after the outage")
                server.outage(0.0, 0.3, 0.0, html=True)  # nginx's page, not Telegram's JSON
                with pytest.raises(NetworkError, match=r"Bad Gateway \(502\)\. Parsing the server response"):
                    await bot.send_message(1, "x")

        run(scenario())
        assert server.texts(1) == ["after the outage"]  # nothing sent during the outage arrived
        assert server.outage_answers["502"] == 3
        assert server.outage_answers["dropped"] >= 1
        assert "✗ sendMessage chat 1: 502 Bad Gateway (outage)" in server.transcript()


def test_a_held_request_may_still_be_carried_out():
    with TelegramServer(limits=False) as server:

        async def scenario():
            async with make_bot(server, read_timeout=0.2) as bot:
                server.outage(0.0, 0.0, 0.5, deliver_held=1.0)
                with pytest.raises(TimedOut):
                    await bot.send_message(2, "the client gave up, Telegram did not")

        run(scenario())
        server.wait_for(1, chat_id=2, timeout=3)
        assert server.outage_answers == {"502": 0, "held": 1, "dropped": 0}


def test_migration_moves_the_group_and_leaves_its_messages_behind(server):
    server.chat_admins[-55] = {7}

    async def scenario():
        async with make_bot(server) as bot:
            for earlier in ("one", "two"):
                await bot.send_message(-55, earlier)
            alert = await bot.send_message(-55, "alert")
            new_id = server.migrate(-55)
            assert new_id == -1000000000055
            with pytest.raises(ChatMigrated) as moved:
                await bot.send_message(-55, "to the old id")
            assert moved.value.new_chat_id == new_id
            with pytest.raises(ChatMigrated):
                await bot.edit_message_text("edited", chat_id=-55, message_id=alert.message_id)
            with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
                await bot.edit_message_text("edited", chat_id=new_id, message_id=alert.message_id)
            with pytest.raises(
                BadRequest, match=r"^Message can't be edited$"
            ):  # id 1 there: the service message
                await bot.edit_message_text("edited", chat_id=new_id, message_id=1)
            update = await bot.send_message(new_id, "the update, as a new message")
            assert update.chat.type == "supergroup" and update.message_id == 2  # 1: "migrated from"
            assert (await bot.get_chat_member(new_id, 7)).status == "administrator"
            moved_to, moved_from = await bot.get_updates(timeout=0)
            assert moved_to.message.migrate_to_chat_id == new_id
            assert moved_to.message.chat.id == -55
            assert moved_from.message.migrate_from_chat_id == -55
            assert moved_from.message.chat.id == new_id
            await bot.get_updates(offset=moved_from.update_id + 1, timeout=0)  # acknowledged
            silent = server.migrate(-66, announce=False)
            assert server.pending_updates == 0
            assert silent == -1000000000066

    run(scenario())
    assert server.message(-55, 3)["text"] == "alert"  # still where it was sent, unedited
    assert server.texts(-1000000000055) == ["the update, as a new message"]


def test_a_message_deleted_by_a_user_cannot_be_edited(server):
    async def scenario():
        async with make_bot(server) as bot:
            sent = await bot.send_message(-9, "alert")
            server.delete(-9, sent.message_id)
            with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
                await bot.edit_message_text("update", chat_id=-9, message_id=sent.message_id)

    run(scenario())


# --- updates ----------------------------------------------------------------------------------


def test_get_updates_long_poll(server):
    async def scenario():
        async with make_bot(server) as bot:
            started = time.monotonic()
            assert await bot.get_updates(timeout=0.3) == ()
            assert 0.25 < time.monotonic() - started < 1.5
            threading.Timer(
                0.2, server.user_message, args=(42, "/start now"), kwargs={"username": "ann"}
            ).start()
            started = time.monotonic()
            (update,) = await bot.get_updates(timeout=5)
            assert time.monotonic() - started < 2  # woke early
            assert update.message.text == "/start now"
            assert update.message.from_user.username == "ann"
            assert update.message.entities[0].type == "bot_command"
            assert update.message.entities[0].length == 6
            ids = [server.user_message(42, f"m{i}") for i in range(3)]
            got = await bot.get_updates(offset=update.update_id, limit=2, timeout=0)
            assert [u.update_id for u in got] == [update.update_id, ids[0]]
            got = await bot.get_updates(offset=ids[0] + 1, timeout=0)
            assert [u.message.text for u in got] == ["m1", "m2"]
            server.my_chat_member(42, "kicked", "member")
            server.callback(-1000000000001, "rule:on", message_id=9, user_id=5)
            server.channel_post(-1000000000002, "post")
            got = await bot.get_updates(offset=ids[2] + 1, timeout=0)
            assert got[0].my_chat_member.new_chat_member.status == "kicked"
            assert got[1].callback_query.data == "rule:on"
            assert got[1].callback_query.from_user.id == 5
            assert got[2].channel_post.chat.type == "channel"
            assert await bot.get_updates(offset=got[-1].update_id + 1, timeout=0) == ()
            assert server.pending_updates == 0
            await bot.set_webhook("https://example.invalid/hook")
            with pytest.raises(Conflict):
                await bot.get_updates(timeout=0)
            await bot.delete_webhook()

    run(scenario())


def test_shutdown_ends_a_held_long_poll():
    server = TelegramServer().start()
    answers = []

    def poll():
        answers.append(httpx.post(f"{server.url}/bot{TOKEN}/getUpdates", data={"timeout": 30}, timeout=10))

    poller = threading.Thread(target=poll)
    poller.start()
    server.wait_for(lambda s: s.calls("getUpdates"), timeout=2)
    started = time.monotonic()
    server.close()
    poller.join(5)
    assert time.monotonic() - started < 2
    assert answers[0].json() == {"ok": True, "result": []}


def test_wait_for_times_out_with_the_transcript(server):
    server.user_message(42, "/status")
    with pytest.raises(TimeoutError, match="/status"):
        server.wait_for(1, chat_id=42, timeout=0.1)


# --- a real Application -----------------------------------------------------------------------


def test_application_command_and_callback_round_trip(server):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute")]])
        await update.message.reply_text("hello", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("muted")
        await update.callback_query.edit_message_text(f"muted ({update.callback_query.data})")

    async def scenario():
        application = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .build()
        )
        application.add_handler(CommandHandler("start", start))
        application.add_handler(CallbackQueryHandler(pressed))
        async with application:
            await application.updater.start_polling(poll_interval=0, timeout=1)
            await application.start()
            server.user_message(42, "/start")
            (hello,) = await asyncio.to_thread(server.wait_for, 1, 5, 42)
            assert hello.text == "hello"
            server.callback(42, "mute", message_id=hello.message_id)
            await asyncio.to_thread(
                server.wait_for, lambda s: s.message(42, hello.message_id).get("edit_date")
            )
            started = time.monotonic()
            await application.updater.stop()
            await application.stop()
            return time.monotonic() - started

    stop_seconds = run(scenario())
    assert stop_seconds < 3
    assert server.message(42, 2)["text"] == "muted (mute)"
    assert [a.get("text") for a in server.callback_answers.values()] == ["muted"]
    assert [r.method for r in server.requests[:2]] == ["getMe", "deleteWebhook"]
    transcript = server.transcript()
    assert transcript.index("→ chat 42 (private) user 42: /start") < transcript.index(
        "← chat 42 sendMessage #2"
    )


# --- the wire (HTML and lengths: tests/test_telegram_entities.py) ------------------------------


def test_multipart_parser_keeps_binary_bytes():
    request = httpx.Request(
        "POST",
        "http://x/",
        data={"chat_id": "1", "caption": "é\r\n--x"},
        files={"photo": ("c.png", PNG + b"\r\n")},
    )
    body = request.read()
    fields, files = parse_multipart(body, request.headers["Content-Type"])
    assert fields == {"chat_id": "1", "caption": "é\r\n--x"}
    assert files["photo"]["content"] == PNG + b"\r\n"
    assert files["photo"]["filename"] == "c.png"


def test_keep_alive_channels_by_username_and_bad_parameters(server):
    server.set_chat(-1000000000123, "channel", title="TIC releases", username="tic_releases")

    async def scenario():
        async with make_bot(server) as bot:
            post = await bot.send_message("@tic_releases", "release summary")
            assert post.chat.type == "channel"
            assert post.sender_chat.id == -1000000000123
            for i in range(3):
                await bot.send_message(1, f"m{i}")
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message("@nobody", "x")
            with pytest.raises(BadRequest, match=r"(?i)invalid parameters"):
                await bot.get_chat_member(-5, "not-a-number")

    run(scenario())
    assert server.texts(-1000000000123) == ["release summary"]
    ports = {r.peer_port for r in server.calls("sendMessage", chat_id=1)}
    assert len(ports) == 1  # HTTP/1.1 keep-alive: one connection for sequential calls

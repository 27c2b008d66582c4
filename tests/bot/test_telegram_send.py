"""Sending through PTB to the fake Bot API: escaping, splitting, buttons, copies, errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Secret, TelegramSettings
from bot.messages import Choice, Outgoing, OutgoingDocument
from bot.ports import DeliveryError
from bot.transports.telegram import TelegramPlatform, file_url
from bot.transports.telegram_files import MB
from bot.transports.telegram_send import MAX_TEXT, split_text
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fake_telegram_wire import TagError, visible_text

T = TypeVar("T")
ALEX, COACH = 555, 100
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
REPORT = OutgoingDocument("report-2026-11.png", PNG, "image/png")
EXPORT = OutgoingDocument("alex-export.json", b'{"client": {"name": "Alex"}}', "application/json")


@asynccontextmanager
async def telegram() -> AsyncIterator[tuple[FakeTelegram, TelegramPlatform]]:
    fake = await FakeTelegram().start()
    fake.chat(ALEX)
    fake.chat(COACH)
    platform = TelegramPlatform(TelegramSettings(token=Secret(TOKEN), base_url=fake.base_url))
    try:
        yield fake, platform
    finally:
        await platform.bot.shutdown()
        await fake.stop()


def run(test: Callable[[FakeTelegram, TelegramPlatform], Awaitable[T]]) -> T:
    async def main() -> T:
        async with telegram() as (fake, platform):
            return await test(fake, platform)

    return asyncio.run(main())


def out(text: str, chat: int = ALEX, key: str = "k1", **fields: Any) -> Outgoing:
    return Outgoing("telegram", str(chat), text, idempotency_key=key, **fields)


def test_html_in_what_people_write_arrives_as_written() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        text = "Alex: <b>not bold</b> & <script>x</script> 3 < 4 &amp; done"
        message_id = await platform.send(out(text))
        [sent] = fake.called("sendMessage")
        assert sent["parse_mode"] == "HTML"
        assert fake.sent_to(ALEX) == [text]
        assert message_id == str(sent["_id"])

    run(test)


def test_a_long_text_is_split_at_line_breaks_and_buttons_go_on_the_last_piece() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        lines = [f"line {n} " + "&" * 60 for n in range(200)]  # escaped, 5x longer
        choices = (Choice("Just an update", "kind:1:fyi"), Choice("Needs a reply", "kind:1:q"))
        first = await platform.send(out("\n".join(lines), choices=choices, reply_to="7"))
        sent = fake.called("sendMessage")
        assert len(sent) > 2
        assert "\n".join(fake.sent_to(ALEX)) == "\n".join(lines)  # nothing lost, cut at lines
        assert all(piece.splitlines()[0].startswith("line ") for piece in fake.sent_to(ALEX))
        assert [bool(p.get("reply_markup")) for p in sent] == [False] * (len(sent) - 1) + [True]
        assert sent[0]["reply_parameters"]["message_id"] == 7
        assert "reply_parameters" not in sent[1]
        assert first == str(sent[0]["_id"])

    run(test)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab <&>\n😀é"), max_size=300), st.integers(8, 40))
def test_split_pieces_fit_and_keep_every_character(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    for piece in pieces:
        escaped = piece.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert len(escaped.encode("utf-16-le")) // 2 <= limit
    assert all(piece.strip() for piece in pieces)  # Telegram refuses an empty text
    # nothing but the line breaks (and blank pieces) at the cuts is lost, in order
    assert "".join("".join(pieces).split()) == "".join(text.split())


def test_a_single_long_line_is_cut_at_spaces() -> None:
    text = " ".join(["word"] * 2000)
    pieces = split_text(text)
    assert len(pieces) == 3
    assert all(len(p) <= MAX_TEXT for p in pieces)
    assert " ".join(p.strip() for p in pieces) == text


def test_attachments_are_copied_after_the_text() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        source = fake.message(ALEX, sender=fake.user(ALEX), photo=[], caption="look")
        await platform.send(
            out("Alex · photo", chat=COACH, copy_from=((str(ALEX), str(source["message_id"])),))
        )
        assert [c.method for c in fake.calls] == ["getMe", "sendMessage", "copyMessage"]
        [copy] = fake.called("copyMessage")
        assert copy == {"chat_id": COACH, "from_chat_id": ALEX, "message_id": 1}

    run(test)


def test_a_flood_wait_becomes_retry_after_and_the_retry_resumes_where_it_stopped() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(DeliveryError) as raised:
            await platform.send(out("hello", key="wait"))
        assert raised.value.retry_after == 7 and not raised.value.permanent
        assert fake.sent_to(ALEX) == []

        text = "\n".join(["x" * 3000, "y" * 3000])  # two pieces
        fake.fail_next("sendMessage", 429, "Too Many Requests", after=1, retry_after=1)
        with pytest.raises(DeliveryError):
            await platform.send(out(text, key="long"))
        first = await platform.send(out(text, key="long"))  # the outbox's retry
        assert fake.sent_to(ALEX) == ["x" * 3000, "y" * 3000]  # each piece once
        assert first == str(fake.called("sendMessage")[0]["_id"])

    run(test)


async def _refused(fake: FakeTelegram, platform: TelegramPlatform, chat: int) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await platform.send(out("hello", chat=chat))
    return raised.value


def test_a_blocked_bot_or_a_missing_chat_is_permanent_and_a_network_fault_is_not() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        fake.blocked.add(ALEX)
        blocked = await _refused(fake, platform, ALEX)
        assert (
            blocked.permanent
            and blocked.reason == "telegram: Forbidden: bot was blocked by the user"
        )
        missing = await _refused(fake, platform, 4242)
        assert missing.permanent and missing.reason == "telegram: Chat not found"
        fake.before = lambda method, params: method == "sendMessage"
        flaky = await _refused(fake, platform, COACH)
        assert not flaky.permanent and flaky.retry_after is None

    run(test)


def test_html_telegram_cannot_parse_is_resent_as_plain_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        fake.fail_next("sendMessage", 400, 'Bad Request: can\'t parse entities: tag "x"')
        await platform.send(out("a <x> secret"))
        ok = fake.called("sendMessage")
        assert [p.get("parse_mode") for p in ok] == [None]
        assert fake.sent_to(ALEX) == ["a <x> secret"]

    caplog.set_level(logging.INFO, logger="bot")
    run(test)
    assert "HTML refused; sent as plain text" in caplog.text
    assert "secret" not in caplog.text and '"x"' not in caplog.text


def test_a_relay_receipt_can_be_a_thumbs_up_on_the_coachs_message() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        reply = fake.message(COACH, sender=fake.user(COACH), text="Yes!")
        got = await platform.send(
            out("Sent to Alex.", chat=COACH, extra={"react_to": reply["message_id"]})
        )
        assert got == str(reply["message_id"])
        [reaction] = fake.called("setMessageReaction")
        assert reaction["reaction"] == [{"type": "emoji", "emoji": "👍"}]
        assert fake.called("sendMessage") == []
        # a message that cannot take a reaction gets the text instead
        await platform.send(out("Sent to Alex.", chat=COACH, key="k2", extra={"react_to": 99}))
        assert fake.sent_to(COACH) == ["Sent to Alex."]

    run(test)


def test_buttons_carry_their_data_and_oversized_data_is_left_out() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        choices = (Choice("Fine", "kind:1:fyi"), Choice("Too long", "x" * 65))
        await platform.send(out("Which?", choices=choices))
        assert fake.buttons(ALEX) == [("Fine", "kind:1:fyi", 1)]

    run(test)


def test_the_fake_refuses_broken_html_like_telegram() -> None:
    assert visible_text('<b>a</b> &lt;3 &amp; <a href="x">y</a>') == "a <3 & y"
    for broken in ("<b>a", "a < b", "a & b", "<script>", "</b>", "<b><i>x</b></i>"):
        with pytest.raises(TagError):
            visible_text(broken)


def test_file_url_sits_beside_the_api_url() -> None:
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"


def test_files_follow_the_text_as_a_photo_and_a_document_in_the_same_reply() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        asked = fake.message(COACH, sender=fake.user(COACH), text="/report")
        message_id = await platform.send(
            out(
                "Your report",
                chat=COACH,
                reply_to=str(asked["message_id"]),
                documents=(REPORT, EXPORT),
            )
        )
        assert [c.method for c in fake.calls] == [
            "getMe",
            "sendMessage",
            "sendPhoto",
            "sendDocument",
        ]
        assert message_id == str(fake.called("sendMessage")[0]["_id"])  # the text's id
        photo, document = fake.files_to(COACH)
        assert (photo.kind, photo.filename, photo.content) == ("photo", "report-2026-11.png", PNG)
        assert (document.kind, document.filename) == ("document", "alex-export.json")
        assert (document.content_type, document.size) == ("application/json", len(EXPORT.content))
        assert photo.reply_to == document.reply_to == asked["message_id"]
        assert photo.caption == document.caption == ""

    run(test)


def test_a_file_over_telegrams_limit_becomes_one_line_saying_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = OutgoingDocument("report-2026-11.png", PNG + bytes(12 * MB - len(PNG)), "image/png")
    huge = OutgoingDocument("alex-export.json", bytes(50 * MB + 1), "application/json")

    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        await platform.send(out("Your report", chat=COACH, documents=(big, EXPORT, huge)))
        assert fake.sent_to(COACH) == [
            "Your report",
            "The file report-2026-11.png is too large to send here (12 MB).",
            "The file alex-export.json is too large to send here (51 MB).",
        ]
        assert [f.filename for f in fake.files_to(COACH)] == ["alex-export.json"]
        assert fake.called("sendPhoto") == []

    caplog.set_level(logging.DEBUG, logger="bot")
    run(test)
    assert "replaced by a line" in caplog.text
    assert "report-2026-11" not in caplog.text and "alex-export" not in caplog.text


def test_a_retry_after_a_failed_upload_sends_only_the_files_still_missing() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        fake.fail_next("sendDocument", 429, "Too Many Requests: retry after 3", retry_after=3)
        message = out("Your report", chat=COACH, key="report", documents=(REPORT, EXPORT))
        with pytest.raises(DeliveryError) as raised:
            await platform.send(message)
        assert raised.value.retry_after == 3 and not raised.value.permanent
        first = await platform.send(message)  # the outbox's retry
        assert fake.sent_to(COACH) == ["Your report"]  # the text once
        assert [f.filename for f in fake.files_to(COACH)] == [
            "report-2026-11.png",
            "alex-export.json",
        ]  # each file once
        assert first == str(fake.called("sendMessage")[0]["_id"])

    run(test)


def test_a_refused_or_lost_upload_is_a_delivery_error_like_the_text() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        fake.fail_next("sendDocument", 400, "Bad Request: wrong type of the web page content")
        with pytest.raises(DeliveryError) as refused:
            await platform.send(out("Export", chat=COACH, key="a", documents=(EXPORT,)))
        assert refused.value.permanent and "Wrong type" in refused.value.reason
        fake.before = lambda method, params: method == "sendPhoto"
        with pytest.raises(DeliveryError) as lost:
            await platform.send(out("Report", chat=COACH, key="b", documents=(REPORT,)))
        assert not lost.value.permanent and lost.value.retry_after is None

    run(test)


def test_an_image_telegram_will_not_take_as_a_photo_goes_as_a_document() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        odd = OutgoingDocument("scan.png", b"not really a png", "image/png")
        await platform.send(out("Your scan", chat=COACH, documents=(odd,)))
        [refused] = [c for c in fake.calls if c.method == "sendPhoto"]
        assert refused.params["_error"] == "Bad Request: IMAGE_PROCESS_FAILED"
        [sent] = fake.files_to(COACH)
        assert (sent.kind, sent.filename, sent.content) == ("document", "scan.png", odd.content)

    run(test)


def test_files_alone_stand_for_the_message() -> None:
    async def test(fake: FakeTelegram, platform: TelegramPlatform) -> None:
        message_id = await platform.send(out("", chat=COACH, documents=(EXPORT,)))
        assert fake.called("sendMessage") == []
        assert message_id == str(fake.files_to(COACH)[0].message_id)

    run(test)

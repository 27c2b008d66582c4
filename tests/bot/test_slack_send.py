"""Sending on Slack against a local fake Web API: text, threads, buttons, and what errors mean."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import build_commands, spelling_for
from bot.clock import ManualClock
from bot.config import Secret, SlackSettings
from bot.delivery.outbox import enqueue
from bot.delivery.worker import OutboxWorker
from bot.messages import RESUMED, Attachment, Choice, Outgoing, OutgoingDocument
from bot.ports import DeliveryError
from bot.store.db import transaction
from bot.store.models import Outbox
from bot.store.unit import UnitOfWork
from bot.transports.slack import SlackPlatform
from bot.transports.slack_send import MAX_FILE_BYTES, SECTION_CHARS, SlackSender, text_sections
from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.fake_slack_api import DOWNLOAD, UPLOAD

T = TypeVar("T")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)
REPORT = OutgoingDocument("report-2026-11.png", PNG, "image/png")
EXPORT = OutgoingDocument("alex-export.json", b'{"client": {"name": "Alex"}}', "application/json")


def platform_for(url: str) -> SlackPlatform:
    settings = SlackSettings(
        bot_token=Secret(BOT_TOKEN), signing_secret=Secret(SIGNING_SECRET), api_url=url
    )
    return SlackPlatform(settings, host="127.0.0.1")


def with_slack(scenario: Callable[[FakeSlack, SlackPlatform], Awaitable[T]]) -> T:
    """Run `scenario` against a fresh fake Slack and a platform pointed at it."""

    async def main() -> T:
        slack = FakeSlack()
        await slack.start()
        try:
            return await scenario(slack, platform_for(slack.url))
        finally:
            await slack.stop()

    return asyncio.run(main())


def message(text: str = "hello", key: str = "k1", **kw: Any) -> Outgoing:
    return Outgoing(platform="slack", chat_id="DALEX", text=text, idempotency_key=key, **kw)


def test_send_posts_the_text_shown_literally_and_returns_the_ts() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        ts = await platform.send(message("fish & chips <3 <!channel>"))
        posted = slack.of("chat.postMessage")
        assert posted == [
            {
                "channel": "DALEX",
                "text": "fish &amp; chips &lt;3 &lt;!channel&gt;",
                "metadata": {"event_type": "boundarybot_outbox", "event_payload": {"key": "k1"}},
            }
        ]
        assert ts == slack.calls[-1].result["ts"]

    with_slack(scenario)


def test_a_row_taken_over_after_a_crash_is_found_in_the_chat_not_posted_twice() -> None:
    """The worker that died had posted it; a new process (no memory) looks before posting."""

    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        first = await platform.send(message("Thanks — Melody has your message.", key="msg:7:ack"))
        after_crash = platform_for(slack.url)  # a new process: nothing remembered
        resumed = message(
            "Thanks — Melody has your message.", key="msg:7:ack", extra={RESUMED: True}
        )
        assert await after_crash.send(resumed) == first
        assert len(slack.of("chat.postMessage")) == 1
        # one that had not gone yet is posted, once
        other = message("Second", key="msg:8:ack", extra={RESUMED: True})
        await after_crash.send(other)
        assert [p["text"] for p in slack.of("chat.postMessage")] == [
            "Thanks — Melody has your message.",
            "Second",
        ]

    with_slack(scenario)


def test_a_failed_look_back_still_posts_the_message_at_least_once() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.fail("conversations.history", "missing_scope")
        await platform.send(message("Hello", key="msg:9:ack", extra={RESUMED: True}))
        assert [p["text"] for p in slack.of("chat.postMessage")] == ["Hello"]

    with_slack(scenario)


def test_a_reply_goes_into_the_thread_of_the_message_it_answers() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        await platform.send(message(reply_to="1800000001.000100"))
        assert slack.of("chat.postMessage")[0]["thread_ts"] == "1800000001.000100"

    with_slack(scenario)


def test_choices_become_buttons_whose_values_are_the_choice_data() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        choices = (Choice("Just an update", "kind:1:fyi"), Choice("Needs a reply", "kind:1:q"))
        await platform.send(message("What kind?", choices=choices))
        blocks = slack.of("chat.postMessage")[0]["blocks"]
        assert blocks[0]["text"]["text"] == "What kind?"
        buttons = blocks[-1]["elements"]
        assert blocks[-1]["type"] == "actions"
        assert [(b["action_id"], b["value"]) for b in buttons] == [
            ("choice_0", "kind:1:fyi"),
            ("choice_1", "kind:1:q"),
        ]
        assert [b["text"]["text"] for b in buttons] == ["Just an update", "Needs a reply"]

    with_slack(scenario)


def test_a_digest_is_laid_out_as_block_kit_sections_under_a_header() -> None:
    digest = (
        "Your daily digest · Mon 23 Nov, 18:00 GMT\n\n"
        "Waiting for your reply\nAlex · question · reply by Tue 24 Nov, 10:00 GMT\n\n"
        "Updates (no reply needed)\nAlex · 1 message\n• I ran 5k & felt <great>"
    )

    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        await platform.send(message(digest, extra={"layout": "sections"}))
        [posted] = slack.of("chat.postMessage")
        blocks = posted["blocks"]
        assert blocks[0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Your daily digest · Mon 23 Nov, 18:00 GMT"},
        }
        assert [b["type"] for b in blocks] == ["header", "divider", "section", "divider", "section"]
        assert blocks[2]["text"]["text"].startswith("*Waiting for your reply*\nAlex · question")
        assert blocks[4]["text"]["text"].endswith("• I ran 5k &amp; felt &lt;great&gt;")
        assert "I ran 5k" in posted["text"]  # the plain text stays for notifications

    with_slack(scenario)


COMMAND_TEXT = (
    "Send updates with /fyi and questions with /ask; /client Alex shows more.\n"
    "Or send me: /start abc123 — https://t.me/boundary_bot?start=abc123 and/or /unknown"
)


def test_commands_in_the_bots_texts_are_named_as_slack_users_type_them(
    engine: Engine, clock: ManualClock
) -> None:
    with transaction(engine) as session:
        enqueue(
            UnitOfWork(session),
            key="k",
            platform="slack",
            chat_id="DALEX",
            text=COMMAND_TEXT,
            now=clock.now(),
        )
    spell = spelling_for(build_commands())

    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        await OutboxWorker(engine, clock, transports={"slack": platform}, spell=spell).deliver_due()
        assert slack.of("chat.postMessage")[0]["text"] == (
            "Send updates with /boundary fyi and questions with /boundary ask; "
            "/boundary client Alex shows more.\n"
            "Or send me: /boundary join abc123 — https://t.me/boundary_bot?start=abc123 "
            "and/or /unknown"
        )

    with_slack(scenario)


def test_the_slack_sender_posts_the_text_it_is_given_without_rewording_it() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        await platform.send(message(COMMAND_TEXT))
        assert slack.of("chat.postMessage")[0]["text"] == COMMAND_TEXT

    with_slack(scenario)


def test_the_same_outbox_key_is_not_posted_twice() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        first = await platform.send(message(key="msg:1:fwd"))
        again = await platform.send(message(key="msg:1:fwd"))
        assert first == again
        assert len(slack.of("chat.postMessage")) == 1

    with_slack(scenario)


def test_http_429_asks_the_outbox_to_wait_retry_after_seconds() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> DeliveryError:
        slack.throttle("chat.postMessage", retry_after=30)
        with pytest.raises(DeliveryError) as caught:
            await platform.send(message())
        return caught.value

    error = with_slack(scenario)
    assert error.retry_after == 30
    assert not error.permanent


@pytest.mark.parametrize(
    "code",
    ["channel_not_found", "is_archived", "not_in_channel", "user_not_found", "account_inactive"],
)
def test_a_gone_channel_or_person_fails_for_good(code: str) -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> DeliveryError:
        slack.fail("chat.postMessage", code)
        with pytest.raises(DeliveryError) as caught:
            await platform.send(message())
        return caught.value

    error = with_slack(scenario)
    assert error.permanent
    assert code in error.reason


@pytest.mark.parametrize("code", ["internal_error", "fatal_error", "service_unavailable"])
def test_other_api_errors_are_tried_again_later(code: str) -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> DeliveryError:
        slack.fail("chat.postMessage", code)
        with pytest.raises(DeliveryError) as caught:
            await platform.send(message())
        return caught.value

    error = with_slack(scenario)
    assert not error.permanent and error.retry_after is None


def test_slack_out_of_reach_is_a_transient_error() -> None:
    async def scenario() -> DeliveryError:
        platform = platform_for("http://127.0.0.1:9/api/")  # nothing listens on port 9
        with pytest.raises(DeliveryError) as caught:
            await platform.send(message())
        return caught.value

    error = asyncio.run(scenario())
    assert not error.permanent


def test_the_outbox_waits_as_long_as_slack_asked(engine: Engine, clock: ManualClock) -> None:
    with transaction(engine) as session:
        enqueue(
            UnitOfWork(session),
            key="k",
            platform="slack",
            chat_id="DALEX",
            text="hi",
            now=clock.now(),
        )

    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        worker = OutboxWorker(engine, clock, transports={"slack": platform})
        slack.throttle("chat.postMessage", retry_after=42)
        await worker.deliver_due()
        with Session(engine) as session:
            row = session.exec(select(Outbox)).one()
            assert row.status == "pending"
            assert row.next_attempt_at == clock.now() + timedelta(seconds=42)
        clock.advance(timedelta(seconds=42))
        await worker.deliver_due()
        with Session(engine) as session:
            row = session.exec(select(Outbox)).one()
            assert row.status == "sent"
            assert row.platform_message_id == slack.calls[-1].result["ts"]

    with_slack(scenario)


def test_long_texts_are_split_into_sections_that_fit() -> None:
    text = "\n".join(["x" * 1000] * 7 + ["y" * 7000])
    sections = text_sections(text)
    assert all(len(s["text"]["text"]) <= SECTION_CHARS for s in sections)
    assert "".join(s["text"]["text"].replace("\n", "") for s in sections) == text.replace("\n", "")


def test_files_are_uploaded_after_the_text_into_the_same_thread() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        parent = "1800000001.000100"
        ts = await platform.send(
            message("Your report", reply_to=parent, documents=(REPORT, EXPORT))
        )
        assert [c.method for c in slack.calls] == [
            "chat.postMessage",
            *["files.getUploadURLExternal", "files.completeUploadExternal"] * 2,
        ]
        assert ts == slack.calls[0].result["ts"]
        png, export = slack.uploads_to("DALEX")
        assert (png.filename, png.title, png.content) == (
            "report-2026-11.png",
            "report-2026-11.png",
            PNG,
        )
        assert (export.filename, export.content) == ("alex-export.json", EXPORT.content)
        assert png.thread_ts == export.thread_ts == parent

    with_slack(scenario)


def test_files_for_a_person_go_into_their_dm_with_the_app() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        await platform.send(Outgoing("slack", "UALEX", "Export", "k1", documents=(EXPORT,)))
        await platform.send(Outgoing("slack", "UALEX", "Report", "k2", documents=(REPORT,)))
        assert slack.of("conversations.open") == [{"users": "UALEX"}]  # opened once
        assert [u.filename for u in slack.uploads_to("DALEX")] == [
            "alex-export.json",
            "report-2026-11.png",
        ]
        assert all(u.thread_ts is None for u in slack.uploads)

    with_slack(scenario)


def test_a_retry_after_a_failed_upload_uploads_what_is_missing_and_posts_nothing_twice() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.fail(UPLOAD, "boom")
        outgoing = message("Your report", key="report", documents=(REPORT, EXPORT))
        with pytest.raises(DeliveryError) as caught:
            await platform.send(outgoing)
        assert not caught.value.permanent
        assert caught.value.reason == "slack: a file upload was refused"  # no file name
        ts = await platform.send(outgoing)  # the outbox's retry
        again = await platform.send(outgoing)  # a retry after a lost answer
        assert ts == again
        assert len(slack.of("chat.postMessage")) == 1
        assert [u.filename for u in slack.uploads] == ["report-2026-11.png", "alex-export.json"]

    with_slack(scenario)


def test_upload_errors_mean_what_text_errors_mean() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.throttle("files.getUploadURLExternal", retry_after=30)
        with pytest.raises(DeliveryError) as throttled:
            await platform.send(message(key="a", documents=(REPORT,)))
        assert throttled.value.retry_after == 30
        slack.fail("files.completeUploadExternal", "channel_not_found")
        with pytest.raises(DeliveryError) as gone:
            await platform.send(message(key="b", documents=(REPORT,)))
        assert gone.value.permanent and "channel_not_found" in gone.value.reason
        slack.fail("files.completeUploadExternal", "internal_error")
        with pytest.raises(DeliveryError) as flaky:
            await platform.send(message(key="c", documents=(REPORT,)))
        assert not flaky.value.permanent
        assert slack.uploads == []

    with_slack(scenario)


def test_the_outbox_delivers_a_rows_files_from_the_database(
    engine: Engine, clock: ManualClock
) -> None:
    with transaction(engine) as session:
        enqueue(
            UnitOfWork(session),
            key="report",
            platform="slack",
            chat_id="DALEX",
            text="Your report",
            now=clock.now(),
            documents=(REPORT,),
        )

    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        await OutboxWorker(engine, clock, transports={"slack": platform}).deliver_due()
        with Session(engine) as session:
            assert session.exec(select(Outbox)).one().status == "sent"
        [upload] = slack.uploads_to("DALEX")
        assert (upload.filename, upload.content) == ("report-2026-11.png", PNG)

    with_slack(scenario)


# Files a client shared on Slack, copied into the coach's conversation.

POEM = b"%PDF-1.7 my first poem\n" + bytes(range(256)) * 4
SHARED = Attachment("document", "F0POEM01", "poem.pdf")


def test_a_shared_file_is_downloaded_with_the_token_and_uploaded_after_the_text() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.share("F0POEM01", "poem.pdf", POEM, mimetype="application/pdf")
        parent = "1800000001.000100"
        ts = await platform.send(message("Alex · question", reply_to=parent, attachments=(SHARED,)))
        assert [c.method for c in slack.calls] == [
            "chat.postMessage",
            "files.info",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
        ]
        assert ts == slack.calls[0].result["ts"]
        assert slack.of("files.info") == [{"file": "F0POEM01"}]
        assert slack.downloads == ["F0POEM01"] and slack.refused_downloads == 0
        [upload] = slack.uploads_to("DALEX")
        assert (upload.filename, upload.title, upload.content) == ("poem.pdf", "poem.pdf", POEM)
        assert upload.thread_ts == parent

    with_slack(scenario)


def test_a_retry_resumes_with_the_shared_file_still_missing_and_uploads_nothing_twice() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.share("F0POEM01", "poem.pdf", POEM)
        slack.share("F0VOICE1", "voice.m4a", b"voice bytes", mimetype="audio/mp4")
        voice = Attachment("voice", "F0VOICE1", "voice.m4a")
        outgoing = message(
            "Alex · question", key="fwd", documents=(REPORT,), attachments=(SHARED, voice)
        )
        slack.fail(DOWNLOAD, "boom")  # the poem's download: Slack's file server has a 500
        with pytest.raises(DeliveryError) as caught:
            await platform.send(outgoing)
        assert not caught.value.permanent and caught.value.reason == "slack: file download http 500"
        assert [u.filename for u in slack.uploads] == ["report-2026-11.png"]
        slack.fail(UPLOAD, "boom")  # now the poem's upload fails
        with pytest.raises(DeliveryError):
            await platform.send(outgoing)
        await platform.send(outgoing)  # the outbox's retry
        await platform.send(outgoing)  # and one after a lost answer
        assert len(slack.of("chat.postMessage")) == 1
        assert [u.filename for u in slack.uploads] == [
            "report-2026-11.png",
            "poem.pdf",
            "voice.m4a",
        ]
        assert [u.content for u in slack.uploads[1:]] == [POEM, b"voice bytes"]

    with_slack(scenario)


@pytest.mark.parametrize(
    ("error", "why"),
    [
        ("file_not_found", "it is no longer on Slack"),
        ("file_deleted", "it was deleted"),
        ("access_denied", "Slack did not let the app read it"),
    ],
)
def test_a_file_gone_for_good_is_named_in_one_line_and_not_tried_again(
    error: str, why: str
) -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.lose("F0POEM01", error)
        parent = "1800000001.000100"
        outgoing = message("Alex · question", reply_to=parent, attachments=(SHARED,))
        await platform.send(outgoing)
        await platform.send(outgoing)  # a retry of the row sends nothing more
        text, note = slack.of("chat.postMessage")
        assert text["text"] == "Alex · question"
        assert note["text"] == f"(The file “poem.pdf” could not be copied: {why}.)"
        assert note["thread_ts"] == parent and note["channel"] == "DALEX"
        assert len(slack.of("files.info")) == 1
        assert slack.uploads == [] and slack.downloads == []

    with_slack(scenario)


def test_a_file_over_50_mb_is_not_downloaded_and_is_named_instead() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.share("F0POEM01", "poem.pdf", b"small bytes", size=MAX_FILE_BYTES + 1)
        await platform.send(message("Alex · question", attachments=(SHARED,)))
        _, note = slack.of("chat.postMessage")
        assert note["text"] == "(The file “poem.pdf” could not be copied: it is larger than 50 MB.)"
        assert slack.downloads == [] and slack.uploads == []

    with_slack(scenario)


def test_a_download_longer_than_files_info_said_stops_at_the_limit() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.share("F0POEM01", "poem.pdf", bytes(5_000), size=10)
        platform.sender.max_file_bytes = 1_000
        await platform.send(message("Alex · question", attachments=(SHARED,)))
        _, note = slack.of("chat.postMessage")
        assert note["text"].endswith("it is larger than 50 MB.)")
        assert slack.uploads == []

    with_slack(scenario)


def test_files_info_throttled_or_failing_is_tried_again_after_the_text() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.share("F0POEM01", "poem.pdf", POEM)
        outgoing = message("Alex · question", key="fwd", attachments=(SHARED,))
        slack.throttle("files.info", retry_after=20)
        with pytest.raises(DeliveryError) as throttled:
            await platform.send(outgoing)
        assert throttled.value.retry_after == 20 and not throttled.value.permanent
        slack.fail("files.info", "internal_error")
        with pytest.raises(DeliveryError) as flaky:
            await platform.send(outgoing)
        assert not flaky.value.permanent
        await platform.send(outgoing)
        assert len(slack.of("chat.postMessage")) == 1
        assert [u.content for u in slack.uploads] == [POEM]

    with_slack(scenario)


def test_the_token_goes_only_to_slacks_own_hosts() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        sender = platform.sender
        port = slack.url.split(":")[2].split("/")[0]
        assert sender._is_slack_url(f"http://127.0.0.1:{port}/files-pri/T1-F1/download/x")
        assert not sender._is_slack_url("http://evil.example/files-pri/T1-F1/download/x")
        assert not sender._is_slack_url("ftp://127.0.0.1/x")

    with_slack(scenario)
    live = SlackSender(AsyncWebClient(token="xoxb-x"))  # Slack's own base URL
    assert live._is_slack_url("https://files.slack.com/files-pri/T1-F1/download/poem.pdf")
    assert not live._is_slack_url("http://files.slack.com/files-pri/T1-F1/download/poem.pdf")
    assert not live._is_slack_url("https://files.slack.com.evil.example/x")


def test_files_of_other_platforms_are_left_alone() -> None:
    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        telegram = Attachment("photo", "AgACAgIAAxkBAAIBZ2V0", "")
        await platform.send(message("Alex · update", attachments=(telegram,)))
        assert [c.method for c in slack.calls] == ["chat.postMessage"]

    with_slack(scenario)


def test_no_token_or_file_name_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret_name = Attachment("document", "F0SECRET", "my-divorce-papers.pdf")

    async def scenario(slack: FakeSlack, platform: SlackPlatform) -> None:
        slack.share("F0POEM01", "poem.pdf", POEM)
        slack.lose("F0SECRET")
        slack.fail(DOWNLOAD, "boom")
        outgoing = message("Alex · question", attachments=(SHARED, secret_name))
        with pytest.raises(DeliveryError):
            await platform.send(outgoing)
        await platform.send(outgoing)

    with caplog.at_level(logging.DEBUG):
        with_slack(scenario)
    assert caplog.records
    for secret in (BOT_TOKEN, "poem.pdf", "my-divorce-papers", "files-pri"):
        assert secret not in caplog.text

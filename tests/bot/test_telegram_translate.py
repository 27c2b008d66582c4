"""Telegram updates become transport-neutral actions; no PTB type goes further in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telegram import Update

from bot.messages import Attachment
from bot.transports.telegram_translate import (
    EDITED_LINE,
    Answer,
    Dispatch,
    Ignore,
    Leave,
    attachments_of,
    translate,
)
from tests.fake_telegram import FakeTelegram

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ALEX = 555


def update(fake: FakeTelegram, kind: str, payload: dict[str, Any]) -> Update:
    return Update.de_json(fake.queue(kind, payload), None)


def test_a_reply_becomes_an_inbound_with_aware_time_reply_to_and_source_id() -> None:
    fake = FakeTelegram(clock=lambda: NOW)
    original = fake.message(ALEX, sender=fake.user(ALEX), text="forwarded")
    message = fake.message(
        ALEX, sender=fake.user(ALEX, "Alex"), text="Yes!", reply_to_message=original
    )
    action = translate(update(fake, "message", message), NOW)
    assert isinstance(action, Dispatch) and action.callback_query_id is None
    inbound = action.inbound
    assert (inbound.platform, inbound.user_id, inbound.chat_id) == ("telegram", "555", "555")
    assert (inbound.text, inbound.reply_to, inbound.source_message_id) == ("Yes!", "1", "2")
    assert inbound.received_at == NOW and inbound.received_at.tzinfo is not None
    assert inbound.event_id == "1" and inbound.private and inbound.display_name == "Alex"


def test_media_travel_as_attachments_with_the_caption_as_text() -> None:
    fake = FakeTelegram()
    sizes = [
        {"file_id": f"p{n}", "file_unique_id": f"u{n}", "width": n, "height": n} for n in (1, 9)
    ]
    document = {"file_id": "d", "file_unique_id": "du", "file_name": "goals.pdf"}
    voice = {"file_id": "v", "file_unique_id": "vu", "duration": 3}
    audio = {"file_id": "a", "file_unique_id": "au", "duration": 3, "title": "Poem"}
    video = {"file_id": "vid", "file_unique_id": "vidu", "width": 1, "height": 1, "duration": 1}
    cases: list[tuple[dict[str, Any], Attachment]] = [
        ({"photo": sizes, "caption": "look"}, Attachment("photo", "p9")),
        ({"document": document}, Attachment("document", "d", "goals.pdf")),
        ({"voice": voice}, Attachment("voice", "v")),
        ({"audio": audio}, Attachment("audio", "a", "Poem")),
        ({"video": video}, Attachment("video", "vid")),
    ]
    for fields, expected in cases:
        message = fake.message(ALEX, sender=fake.user(ALEX), **fields)
        parsed = Update.de_json({"update_id": 1, "message": message}, None).message
        assert parsed is not None
        assert attachments_of(parsed) == (expected,)
    photo = update(fake, "message", fake.message(ALEX, sender=fake.user(ALEX), photo=sizes))
    action = translate(photo, NOW)
    assert isinstance(action, Dispatch) and action.inbound.text == ""


def test_a_button_press_is_a_choice_dated_now_and_answered() -> None:
    fake = FakeTelegram()
    fake.write(ALEX, "Which kind?")
    query = fake.press(ALEX, "kind:7:fyi", 1)
    action = translate(Update.de_json(fake._updates[-1], None), NOW)
    assert isinstance(action, Dispatch)
    assert action.callback_query_id == query
    assert (action.inbound.choice, action.inbound.text) == ("kind:7:fyi", "")
    assert action.inbound.received_at == NOW


def test_groups_channels_and_edits() -> None:
    fake = FakeTelegram()
    fake.chat(-5, "group")
    fake.chat(-6, "channel")
    in_group = fake.message(-5, sender=fake.user(ALEX), text="hi")
    assert translate(update(fake, "message", in_group), NOW) == Leave("-5")
    post = fake.message(-6, sender=fake.user(1), text="news")
    assert translate(update(fake, "channel_post", post), NOW) == Leave("-6", say=False)
    edited = {**fake.message(ALEX, sender=fake.user(ALEX), text="v2"), "edit_date": 1}
    assert translate(update(fake, "edited_message", edited), NOW) == Answer("555", EDITED_LINE)
    left = fake.message(-5, sender=fake.user(ALEX), left_chat_member=fake.user(999))
    assert translate(update(fake, "message", left), NOW) == Ignore("left a group")


def test_messages_from_bots_and_unknown_updates_are_ignored() -> None:
    fake = FakeTelegram()
    robot = {**fake.user(42), "is_bot": True}
    assert isinstance(
        translate(update(fake, "message", fake.message(ALEX, sender=robot)), NOW), Ignore
    )
    assert isinstance(translate(update(fake, "inline_query_made_up", {"id": "1"}), NOW), Ignore)

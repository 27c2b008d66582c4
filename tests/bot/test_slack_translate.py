"""Slack payloads become the bot's neutral Inbound: who wrote, where, what, and which event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.messages import Attachment
from bot.transports.slack_translate import (
    action_inbound,
    command_inbound,
    command_text,
    message_inbound,
    plain_text,
    ts_time,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TS = "1795428000.000100"  # Mon 23 Nov 2026 10:00:00.0001 UTC


def envelope(**event: Any) -> dict[str, Any]:
    base = {"type": "message", "channel_type": "im", "channel": "DALEX", "user": "UALEX"}
    base.update(text="hello", ts=TS)
    base.update(event)
    return {"type": "event_callback", "event_id": "Ev1", "event": base}


def test_a_direct_message_is_a_client_message_with_the_envelope_event_id() -> None:
    inbound = message_inbound(envelope(text="Had an aha moment"), NOW)
    assert inbound is not None
    assert (inbound.platform, inbound.user_id, inbound.chat_id) == ("slack", "UALEX", "DALEX")
    assert inbound.text == "Had an aha moment"
    assert inbound.event_id == "Ev1"
    assert inbound.source_message_id == TS
    assert inbound.reply_to is None
    assert inbound.received_at == datetime(2026, 11, 23, 10, 0, 0, 100, tzinfo=UTC)
    assert inbound.received_at.tzinfo is UTC


def test_a_reply_in_a_thread_points_at_the_thread_parent() -> None:
    inbound = message_inbound(envelope(thread_ts="1795420000.000100"), NOW)
    assert inbound is not None and inbound.reply_to == "1795420000.000100"


def test_the_parent_of_a_thread_is_not_a_reply_to_itself() -> None:
    inbound = message_inbound(envelope(thread_ts=TS), NOW)
    assert inbound is not None and inbound.reply_to is None


def test_shared_files_become_attachments_by_kind() -> None:
    files = [
        {"id": "F1", "name": "sunset.jpg", "mimetype": "image/jpeg"},
        {"id": "F2", "name": "clip.m4a", "mimetype": "audio/mp4", "subtype": "slack_audio"},
        {"id": "F3", "name": "poem.pdf", "mimetype": "application/pdf"},
        {"id": "F4", "name": "walk.mp4", "mimetype": "video/mp4"},
    ]
    inbound = message_inbound(envelope(subtype="file_share", text="", files=files), NOW)
    assert inbound is not None
    assert inbound.attachments == (
        Attachment("photo", "F1", "sunset.jpg"),
        Attachment("voice", "F2", "clip.m4a"),
        Attachment("document", "F3", "poem.pdf"),
        Attachment("video", "F4", "walk.mp4"),
    )


@pytest.mark.parametrize(
    "event",
    [
        {"bot_id": "BBOT", "subtype": "bot_message"},
        {"bot_id": "BBOT"},  # the app's own message in the DM
        {"subtype": "message_changed", "message": {"text": "edited"}},
        {"subtype": "message_deleted", "previous_message": {"text": "gone"}},
        {"subtype": "channel_join"},
        {"channel_type": "channel", "channel": "C1"},
        {"user": None},
        {"hidden": True},
    ],
)
def test_what_is_not_a_person_writing_in_a_dm_is_no_inbound(event: dict[str, Any]) -> None:
    assert message_inbound(envelope(**event), NOW) is None


def test_slack_markup_is_read_as_plain_text() -> None:
    assert plain_text("fish &amp; chips &lt;3") == "fish & chips <3"
    assert plain_text("see <https://example.com|my blog>") == "see my blog (https://example.com)"
    assert plain_text("see <https://example.com>") == "see https://example.com"
    assert plain_text("<mailto:a@b.org|a@b.org>") == "a@b.org"


def test_an_unreadable_ts_falls_back_to_now() -> None:
    assert ts_time("not-a-ts", NOW) == NOW
    assert ts_time(None, NOW) == NOW


def test_a_slash_command_is_the_bots_command_answered_in_the_dm() -> None:
    body = {"command": "/boundary", "text": "invite Alex open_door", "user_id": "UMELODY"}
    body.update(channel_id="C123", trigger_id="123.456.abc")
    inbound = command_inbound(body, dm_channel="DMELODY", now=NOW)
    assert inbound.text == "/invite Alex open_door"
    assert inbound.chat_id == "DMELODY"
    assert inbound.event_id == "cmd:123.456.abc"
    assert inbound.received_at == NOW


def test_an_empty_slash_command_asks_for_help_and_a_leading_slash_is_forgiven() -> None:
    assert command_text("") == "/help"
    assert command_text("  /hours ") == "/hours"


def test_a_pressed_button_carries_its_value_as_the_choice() -> None:
    body = {
        "type": "block_actions",
        "user": {"id": "UALEX"},
        "channel": {"id": "DALEX"},
        "container": {"type": "message", "message_ts": "1795428001.000100"},
        "actions": [{"action_id": "choice_0", "value": "kind:7:fyi", "action_ts": "1795428005.5"}],
    }
    inbound = action_inbound(body, NOW)
    assert inbound is not None
    assert inbound.choice == "kind:7:fyi"
    assert inbound.event_id == "action:1795428001.000100:1795428005.5"
    assert (inbound.user_id, inbound.chat_id) == ("UALEX", "DALEX")
    assert action_inbound({"actions": []}, NOW) is None

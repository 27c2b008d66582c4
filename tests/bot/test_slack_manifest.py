"""The app manifest in the repository asks Slack for what the transport uses."""

from __future__ import annotations

import re
from pathlib import Path

from bot.transports.slack_server import COMMAND, EVENTS_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"


def listed(text: str, key: str) -> set[str]:
    """The `- item` lines under `key:` (a YAML block list), without parsing YAML."""
    block = re.search(rf"^\s*{key}:\n((?:\s+(?:- .*|#.*)\n)+)", text, re.MULTILINE)
    assert block, f"no {key} list in the manifest"
    return {m.strip() for m in re.findall(r"- (.*)", block.group(1))}


def test_the_manifest_has_the_scopes_events_and_command_the_transport_uses() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    scopes = listed(text, "bot")
    assert {"chat:write", "commands", "im:history", "im:read", "im:write"} <= scopes
    # shared files are downloaded (files:read) and uploaded again for the coach (files:write)
    assert {"files:read", "files:write"} <= scopes
    assert listed(text, "bot_events") == {"message.im", "app_home_opened"}
    assert f"command: {COMMAND}" in text
    assert "home_tab_enabled: true" in text and "messages_tab_enabled: true" in text
    assert "interactivity:\n    is_enabled: true" in text
    # events, interactivity and the command share one URL in HTTP mode
    assert text.count(f"example.org{EVENTS_PATH}") == 3

"""Commands as each platform spells them: `/fyi` on Telegram, `/boundary fyi` on Slack.

Every text names commands the Telegram way; a message for Slack is spelled for Slack as it
goes out (the outbox worker and a stranger's direct answer), so no transport rewrites text.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

SLACK_COMMAND = "/boundary"  # the one slash command the manifest installs
_COMMAND_WORD = re.compile(r"(?<![\w/.:])/([a-z_]+)\b")


@dataclass(frozen=True)
class Spelling:
    """Spells the commands named in a text for the platform it goes to."""

    commands: frozenset[str]

    @classmethod
    def of(cls, *names: Collection[str]) -> Spelling:
        """A spelling that knows these command names (the registry's, the kind commands)."""
        return cls(frozenset(name for group in names for name in group))

    def __call__(self, text: str, platform: str) -> str:
        """`text` as people on `platform` type its commands."""
        if platform != "slack":
            return text

        def spoken(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "start":
                return f"{SLACK_COMMAND} join"
            if name in self.commands:
                return f"{SLACK_COMMAND} {name}"
            return match.group(0)

        return _COMMAND_WORD.sub(spoken, text)

"""The fixed lines the bot says, whatever the contract: the one home of their wording.

Contract texts a coach can reword live in `rules.texts`; command answers are written beside
the command that gives them. Commands are named as on Telegram (`/help`); on Slack they are
spelled `/boundary help` when the message goes out (`bot.service.spelling`).
"""

from __future__ import annotations

from types import MappingProxyType

STRANGER_LINE = (
    "Hello! I pass messages between coaches and their clients. If your coach gave you an "
    "invite code, send /start CODE to join."
)
NOT_PRIVATE_LINE = "I only work in private chats — please message me directly."
COACH_ONLY = "That command is for coaches."
COACH_PLAIN_LINE = (
    "To answer a client, reply to their forwarded message or use /reply NAME text. "
    "/help lists the commands."
)
EMPTY_KIND_LINES = MappingProxyType(
    {
        "ask": "/ask needs the message itself: /ask can we move Thursday?",
        "fyi": "/fyi needs the update itself: /fyi I ran 5k today!",
        "goals": "/goals needs your goals themselves: /goals finish the CV by Friday",
        "reschedule": (
            "/reschedule needs the message itself: /reschedule can we meet Friday instead?"
        ),
    }
)
UNREAD_LINE = "I couldn't read that message — please send it again."
EDITED_LINE = (
    "Edits don't reach your coach, so I kept your message as you first sent it. "
    "If something changed, please send it as a new message."
)
UNSUPPORTED_LINE = (
    "I can only pass on text, photos, voice notes, videos, audio and files. "
    "Please send this as a message in one of those forms."
)
STRANGER_HOME = (
    "I pass messages between coaches and their clients.\n"
    "If your coach gave you an invite code, join with `/boundary join CODE`."
)
CLIENT_HOW = (
    "Write to me in the Messages tab: I pass it on as your contract allows and tell you when "
    "to expect a reply. `/boundary fyi text` sends an update, `/boundary ask text` a question, "
    "`/boundary help` lists the rest."
)
COACH_HOME_HINT = "`/boundary help` lists your commands; `/boundary policy` shows more."

from bot.store import planning as _planning  # noqa: F401  (marks coaches to plan)

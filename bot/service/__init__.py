"""Application services: what the bot does with a message, a command or a timer."""

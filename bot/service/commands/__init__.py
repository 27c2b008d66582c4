"""Commands for coaches and clients: each module's `COMMANDS`, put together in `bot.app`."""

"""Importing this registers every command, in the order /help lists them."""

from __future__ import annotations

import importlib

#: Command modules in /help order: policy first, then clients, then the rest.
MODULES = ("policy", "closures", "wording", "invites", "clients", "work", "reports", "data", "help")

for _name in MODULES:
    importlib.import_module(f"bot.service.commands.{_name}")

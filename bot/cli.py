"""`boundarybot run | console | demo | migrate` — the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

DEFAULT_CONFIG = Path("boundarybot.toml")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `boundarybot` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args.config)
    except ConfigError as error:
        sys.exit(str(error))
    configure_logging(settings.log_level)
    if args.command == "demo":
        from bot.demo import run_demo

        run_demo(sys.stdout)
    elif args.command == "migrate":
        from bot.store.migrate import upgrade

        upgrade(settings.database.url)
        print(f"Database is up to date: {settings.database.redacted_url()}")
    elif args.command == "console" or not settings.transports():
        _console(settings)
    else:
        from bot.serve import serve

        asyncio.run(_until_signal(settings, serve))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="boundarybot", description="Keeps a coach's between-session contract."
    )
    parser.add_argument("--version", action="version", version=f"boundarybot {_version()}")
    _add_config(parser, default=None)
    sub = parser.add_subparsers(dest="command", metavar="{run,console,demo,migrate}")
    for name, text in COMMANDS.items():
        # SUPPRESS: `--config` after the subcommand wins, but its absence keeps the one before.
        _add_config(sub.add_parser(name, help=text, description=text), default=argparse.SUPPRESS)
    parser.set_defaults(command="run")
    return parser


COMMANDS = {
    "run": "run every configured transport (the console if none)",
    "console": "chat with the bot in this terminal (SQLite, no tokens)",
    "demo": "play a scripted coaching week and print the transcript",
    "migrate": "bring the database schema up to date and exit",
}


def _add_config(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        metavar="PATH",
        help="TOML settings (default: $BOUNDARYBOT_CONFIG or ./boundarybot.toml if present)",
    )


def _version() -> str:
    try:
        return metadata.version("boundarybot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _settings(path: Path | None) -> Settings:
    if path is None and os.environ.get("BOUNDARYBOT_CONFIG"):
        path = Path(os.environ["BOUNDARYBOT_CONFIG"])
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_settings(path, os.environ)


def _console(settings: Settings) -> None:
    from bot.console import run_console

    run_console(settings, sys.stdin, stdout=sys.stdout)


async def _until_signal(settings: Settings, serve: Callable[..., Awaitable[None]]) -> None:
    """Run `serve` until SIGINT or SIGTERM asks it to stop, then let it finish cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)

"""Updates per second over Telegram: boundarybot against a bare PTB echo bot (not a test).

Run: .venv/bin/python -m tests.bench.bench_telegram [--clients 200] [--rounds 3]

The same burst — one FYI update from each of 200 clients, so each gets exactly one reply — is
queued on the fake Bot API, then the bot under test starts in its own process. The clock runs
from the bot's first getUpdates to the last reply Telegram accepted. Both bots run the same
way against the same fake server; the fake lives in this process, the bots in theirs.

boundarybot runs as shipped (outbox global cap 30 msg/s, Telegram's limit: the product's
figure) and, labelled, with the cap raised to 10,000 msg/s to show what the rest costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.store.migrate import upgrade
from tests.bot.factories import seed_practice
from tests.fake_telegram import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
FIRST_CLIENT = 1000
RAISED_CAP = 10_000.0


def seed(url: str, clients: int) -> None:
    """A coach and `clients` joined clients in open_door mode (FYI goes to the digest)."""
    upgrade(url)
    seed_practice(url, clients=clients, first_user_id=FIRST_CLIENT)


async def measure(args: list[str], clients: int) -> float:
    """Updates per second for one bot process (`args` after `-m tests.bench.bench_telegram`)."""
    fake = await FakeTelegram().start()
    first_poll: list[float] = []

    def stamp(method: str, _params: dict[str, object]) -> bool:
        if method == "getUpdates" and not first_poll:
            first_poll.append(time.perf_counter())
        return False

    fake.before = stamp
    for n in range(clients):
        fake.write(FIRST_CLIENT + n, f"/fyi update number {n}: a good day at work")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.bench_telegram",
        *args,
        fake.base_url,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        while len(fake.called("sendMessage")) < clients:
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - first_poll[0]
        replied = {p["chat_id"] for p in fake.called("sendMessage")}
        assert len(replied) == clients, "every client gets exactly one reply"
    finally:
        child.terminate()
        await child.wait()
        await fake.stop()
    return clients / elapsed


async def run_boundarybot(url: str, base_url: str, cap: float) -> None:
    """The product's wiring: build_app, the outbox and timer workers, TelegramPlatform.run."""
    import signal

    from bot.app import build_app, run_workers
    from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, TelegramSettings
    from bot.transports.telegram import TelegramPlatform

    coach = CoachSettings(key="melody", name="Melody", telegram_user_id="100", digest_time="off")
    settings = Settings(
        database=DatabaseSettings(url=url),
        telegram=TelegramSettings(token=Secret(TOKEN), base_url=base_url),
        coaches=(coach,),
    )
    assert settings.telegram is not None
    platform = TelegramPlatform(settings.telegram)
    platform.max_per_second = cap
    app = build_app(settings, transports={"telegram": platform})
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await asyncio.gather(run_workers(app, stop), platform.run(app.core, stop))


def run_echo(base_url: str) -> None:
    """A bare PTB echo bot: Application, run_polling, a MessageHandler that replies."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    application = Application.builder().token(TOKEN).base_url(base_url).build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling()


def child_main(argv: list[str]) -> None:
    """`--child echo BASE` or `--child boundarybot DB CAP BASE`."""
    if argv[0] == "echo":
        run_echo(argv[1])
    else:
        asyncio.run(run_boundarybot(argv[1], argv[3], float(argv[2])))


async def bench(clients: int, rounds: int) -> None:
    rates: dict[str, list[float]] = {"echo": [], "capped": [], "raised": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(rounds):
            for label, cap in (("capped", 30.0), ("raised", RAISED_CAP)):
                url = f"sqlite:///{Path(folder) / f'{label}{round_}.db'}"
                seed(url, clients)
                args = ["--child", "boundarybot", url, str(cap)]
                rates[label].append(await measure(args, clients))
            rates["echo"].append(await measure(["--child", "echo"], clients))
    echo = statistics.median(rates["echo"])
    capped = statistics.median(rates["capped"])
    raised = statistics.median(rates["raised"])
    print(
        f"burst: {clients} FYI updates from {clients} clients, one reply each; "
        f"median of {rounds} rounds, SQLite"
    )
    rows = [
        ("bare PTB echo bot", echo, ""),
        ("boundarybot, cap 30 msg/s (the product's figure)", capped, f"ratio {capped / echo:.2f}"),
        (
            f"boundarybot, cap raised to {RAISED_CAP:,.0f} (bench only)",
            raised,
            f"ratio {raised / echo:.2f}",
        ),
    ]
    for label, rate, ratio in rows:
        print(f"{label + ':':52} {rate:7.1f} updates/s  {ratio}".rstrip())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(bench(args.clients, args.rounds))


if __name__ == "__main__":
    main()

"""Updates per second over Telegram: boundarybot against a bare PTB echo bot, paired (not a test).

Run: .venv/bin/python -m tests.bench.bench_telegram [--quick] [--clients 300] [--rounds 5]

A burst — one FYI update from each of `--clients` clients, so each gets exactly one reply — is
queued on the fake Bot API (`tests.fake_telegram`, an aiohttp server in THIS process), then the
bot under test starts in a child process. A round's clock runs from the bot's first getUpdates to
the last sendMessage the fake accepted. Rounds alternate, boundarybot, echo, boundarybot,
echo..., each bot process fresh (boundarybot on a freshly seeded SQLite file), against the same
fake and the same burst. Both bots reply with parse_mode HTML (escaped text, no link preview), as
boundarybot's sender does, so the fake parses every reply the same way.

CPU per update is counted the same way for both bots and printed apart:
- bot: the child process's CPU (`time.process_time()`, all its threads), read by the child when
  the parent signals it (SIGUSR1) at the first getUpdates and after the last reply;
- fake: this process's CPU over the same window (the fake server; the harness only awaits an
  event set when the last reply is accepted, it does not poll).

Two comparisons:
a. boundarybot with its 30 msg/s cap raised (`platform.max_per_second` 10,000 and
   `OutboxOptions(per_chat_interval=0)`, bench only) against a bare PTB echo bot
   (`Application.run_polling`, PTB's defaults: updates handled one at a time). Aim: ratio >= 0.8.
b. boundarybot as shipped (30 msg/s) against the same echo bot paced by PTB's `AIORateLimiter`
   at Telegram's 30 msg/s (needs `aiolimiter`, the `python-telegram-bot[rate-limiter]` extra;
   skipped with a note when it is missing). Aim: ratio >= 0.95. The two pace differently:
   boundarybot lets at most 30 go in any 1 s window (message i at i // 30 s), AIORateLimiter
   is a leaky bucket holding 30 (30 at once, then one every 1/30 s: up to ~59 in the first
   second), so pacing alone bounds the ratio by ((N - 30) / 30) / ((N - 1) // 30) for a burst
   of N: 0.94 at N = 200, 1.00 at N = 300. The bound is printed with the figures.
In both, boundarybot's own start-up work that overlaps the window (the scheduler's first pass,
the schema check, publishing the commands menu) is counted: it is the product's.
`--quick` (20 clients, 2 rounds) only checks that everything runs.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.store.migrate import upgrade
from tests.bot.factories import seed_practice
from tests.fake_telegram import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
FIRST_CLIENT = 1000
RAISED_CAP = 10_000.0
PACED_CAP = 30.0  # Telegram's limit: boundarybot's cap and AIORateLimiter's default
CPU_MARK = "bench-cpu"
ROUND_TIMEOUT = 120.0


class CountingFake(FakeTelegram):
    """The fake Bot API, telling the harness when the last expected reply was accepted."""

    def arm(self, expected: int) -> None:
        self.expected = expected
        self.replied: list[int] = []
        self.done = asyncio.Event()
        self.first_poll: tuple[float, float] | None = None  # perf_counter, process_time
        self.last_reply: tuple[float, float] | None = None
        self.on_first_poll: Any = None

        def stamp(method: str, _params: dict[str, Any]) -> bool:
            if method == "getUpdates" and self.first_poll is None:
                self.first_poll = (time.perf_counter(), time.process_time())
                if self.on_first_poll is not None:
                    self.on_first_poll()
            return False

        self.before = stamp

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super()._api_sendmessage(params)  # raises when refused: not counted
        self.replied.append(params["chat_id"])
        if len(self.replied) == self.expected:
            self.last_reply = (time.perf_counter(), time.process_time())
            self.done.set()
        return message


@dataclass(frozen=True)
class Round:
    rate: float  # updates per second
    bot_cpu: float  # ms of the bot process's CPU per update
    fake_cpu: float  # ms of this process's CPU (the fake server) per update


def seed(url: str, clients: int) -> None:
    """A coach and `clients` joined clients in open_door mode (FYI goes to the digest)."""
    upgrade(url)
    seed_practice(url, clients=clients, first_user_id=FIRST_CLIENT)


async def _cpu_line(stream: asyncio.StreamReader) -> float:
    while True:
        line = await stream.readline()
        if not line:
            raise RuntimeError("the bot exited before reporting its CPU time")
        head, _, value = line.decode().strip().partition(" ")
        if head == CPU_MARK:
            return float(value)


async def measure(args: list[str], clients: int) -> Round:
    """One round: the burst, one bot process (`args` after `-m tests.bench.bench_telegram`)."""
    fake = CountingFake()
    await fake.start()
    fake.arm(clients)
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
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    fake.on_first_poll = lambda: child.send_signal(signal.SIGUSR1)
    try:
        exited = asyncio.ensure_future(child.wait())
        finished = asyncio.ensure_future(fake.done.wait())
        await asyncio.wait(
            {exited, finished}, timeout=ROUND_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        exited.cancel()
        finished.cancel()
        if not fake.done.is_set():
            raise RuntimeError(f"{args[1]}: {len(fake.replied)} of {clients} replies, then stopped")
        child.send_signal(signal.SIGUSR1)
        cpu_start = await asyncio.wait_for(_cpu_line(child.stdout), 10)
        cpu_end = await asyncio.wait_for(_cpu_line(child.stdout), 10)
        assert fake.first_poll is not None and fake.last_reply is not None
        elapsed = fake.last_reply[0] - fake.first_poll[0]
        fake_cpu = fake.last_reply[1] - fake.first_poll[1]
        assert sorted(fake.replied) == [FIRST_CLIENT + n for n in range(clients)], (
            "every client gets exactly one reply"
        )
    finally:
        if child.returncode is None:
            child.terminate()
            try:
                await asyncio.wait_for(child.wait(), 5)
            except TimeoutError:
                child.kill()
                await child.wait()
        await fake.stop()
    return Round(
        rate=clients / elapsed,
        bot_cpu=(cpu_end - cpu_start) * 1000 / clients,
        fake_cpu=fake_cpu * 1000 / clients,
    )


# --- the bots, in the child process ------------------------------------------------------------


def report_cpu() -> None:
    """Print this process's CPU time so far for the parent (on SIGUSR1)."""
    print(f"{CPU_MARK} {time.process_time():.6f}", flush=True)


async def run_boundarybot(url: str, base_url: str, *, raised: bool) -> None:
    """The product's wiring: build_app, the outbox and timer workers, TelegramPlatform.run."""
    from bot.app import build_app, run_workers
    from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, TelegramSettings
    from bot.delivery.worker import OutboxOptions
    from bot.transports.telegram import TelegramPlatform

    coach = CoachSettings(key="melody", name="Melody", telegram_user_id="100", digest_time="off")
    settings = Settings(
        database=DatabaseSettings(url=url),
        telegram=TelegramSettings(token=Secret(TOKEN), base_url=base_url),
        coaches=(coach,),
    )
    assert settings.telegram is not None
    platform = TelegramPlatform(settings.telegram)
    outbox = OutboxOptions()
    if raised:
        platform.max_per_second = RAISED_CAP
        outbox = OutboxOptions(per_chat_interval=0)
    app = build_app(settings, transports={"telegram": platform}, outbox=outbox)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, report_cpu)
    await asyncio.gather(run_workers(app, stop), platform.run(app.core, stop))


def run_echo(base_url: str, *, paced: bool) -> None:
    """A bare PTB echo bot: Application, run_polling, a MessageHandler that replies.

    It replies as boundarybot's sender does: HTML-escaped text, parse_mode HTML, no preview.
    """
    from telegram import LinkPreviewOptions, Update
    from telegram.constants import ParseMode
    from telegram.ext import AIORateLimiter, Application, ContextTypes, MessageHandler, filters

    no_preview = LinkPreviewOptions(is_disabled=True)

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(
            html.escape(update.message.text or "", quote=False),
            parse_mode=ParseMode.HTML,
            link_preview_options=no_preview,
        )

    async def post_init(_application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report_cpu)

    builder = Application.builder().token(TOKEN).base_url(base_url).post_init(post_init)
    if paced:
        builder = builder.rate_limiter(AIORateLimiter())  # 30 msg/s overall, Telegram's limit
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling()


def child_main(argv: list[str]) -> None:
    """`--child echo|echo-paced BASE` or `--child boundarybot|boundarybot-raised DB BASE`."""
    kind = argv[0]
    if kind.startswith("echo"):
        run_echo(argv[1], paced=kind == "echo-paced")
    else:
        asyncio.run(run_boundarybot(argv[1], argv[2], raised=kind == "boundarybot-raised"))


# --- the comparisons ------------------------------------------------------------------------------


def has_aiolimiter() -> bool:
    try:
        import aiolimiter  # noqa: F401
    except ImportError:
        return False
    return True


def pacing_bound(updates: int, cap: float) -> str:
    """What pacing alone allows each bot in comparison b, from its first send to its last."""
    window = (updates - 1) // int(cap)  # boundarybot: at most `cap` in any 1 s window
    bucket = max(0, updates - int(cap)) / cap  # AIORateLimiter: a leaky bucket holding `cap`
    if window == 0 or bucket == 0:
        return f"  pacing alone: {updates} updates fit in one burst of {cap:.0f}; no bound"
    return (
        f"  pacing alone allows (first send to last): boundarybot {updates / window:.1f}/s, "
        f"echo-paced {updates / bucket:.1f}/s, ratio <= {bucket / window:.2f}"
    )


def medians(rounds: list[Round]) -> Round:
    return Round(
        rate=statistics.median(r.rate for r in rounds),
        bot_cpu=statistics.median(r.bot_cpu for r in rounds),
        fake_cpu=statistics.median(r.fake_cpu for r in rounds),
    )


def row(label: str, r: Round) -> str:
    return f"  {label:44} {r.rate:8.1f} {r.bot_cpu:11.2f} {r.fake_cpu:11.2f}"


async def compare(
    folder: Path, *, title: str, ours: str, theirs: str, clients: int, rounds: int, aim: float
) -> None:
    results: dict[str, list[Round]] = {ours: [], theirs: []}
    print(title, flush=True)
    print(f"  {'round':44} {'updates/s':>8} {'bot ms/upd':>11} {'fake ms/upd':>11}")
    for n in range(rounds):
        for kind in (ours, theirs):
            if kind.startswith("boundarybot"):
                url = f"sqlite:///{folder / f'{kind}{n}.db'}"
                seed(url, clients)
                args = ["--child", kind, url]
            else:
                args = ["--child", kind]
            result = await measure(args, clients)
            results[kind].append(result)
            print(row(f"{n + 1}: {kind}", result), flush=True)
    a, b = medians(results[ours]), medians(results[theirs])
    print(f"  median of {rounds}:")
    print(row(ours, a))
    print(row(theirs, b))
    print(
        f"  ratio {ours}/{theirs}: updates/s {a.rate / b.rate:.2f} (aim >= {aim:.2f}); "
        f"bot CPU per update {a.bot_cpu / b.bot_cpu:.2f}x",
        flush=True,
    )


async def bench(clients: int, rounds: int) -> None:
    print(
        f"burst: {clients} FYI updates from {clients} clients, one reply each, parse_mode HTML; "
        f"rounds alternate; fake Bot API in this process, each bot a fresh child process; "
        f"bot ms/upd = the child's CPU, fake ms/upd = this process's CPU, over the round"
    )
    with tempfile.TemporaryDirectory() as folder:
        await compare(
            Path(folder),
            title=(
                f"a. cap raised (bench only: max_per_second {RAISED_CAP:,.0f}, "
                "per_chat_interval 0) vs bare PTB echo bot"
            ),
            ours="boundarybot-raised",
            theirs="echo",
            clients=clients,
            rounds=rounds,
            aim=0.8,
        )
        if not has_aiolimiter():
            print(
                "b. skipped: aiolimiter is not installed (pip install "
                "'python-telegram-bot[rate-limiter]'), so AIORateLimiter cannot run"
            )
            return
        await compare(
            Path(folder),
            title="b. boundarybot as shipped (30 msg/s) vs echo bot with AIORateLimiter (30 msg/s)",
            ours="boundarybot",
            theirs="echo-paced",
            clients=clients,
            rounds=rounds,
            aim=0.95,
        )
        print(pacing_bound(clients, PACED_CAP))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 clients, 2 rounds: a check")
    parser.add_argument("--clients", type=int, default=300, help="updates in the burst")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per bot and comparison")
    args = parser.parse_args()
    clients, rounds = (20, 2) if args.quick else (args.clients, args.rounds)
    asyncio.run(bench(clients, rounds))


if __name__ == "__main__":
    main()

"""`parole worker`: the analysis worker and the staff notifier, side by side in one process, until SIGINT or
SIGTERM. The notifier needs the bot's token; without one it is off, and the worker says so."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from redis.asyncio import Redis

from bot.app import open_redis
from bot.cli.analysis_extra import require_analysis
from bot.cli.notices import notice
from bot.config import Settings
from bot.errors import InvalidInput, problem
from bot.health import health_server
from bot.storage.durability import warn_about_durability


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = sub.add_parser(
        "worker", help="lance l'analyse (spaCy) et les notifications aux équipes sur le flux des avis"
    )
    worker.add_argument("--batch", type=int, default=128, help="avis analysés ensemble (par défaut 128)")
    worker.add_argument("--name", help="nom du consommateur dans le groupe (par défaut hôte-pid)")
    worker.add_argument(
        "--claim-after", type=float, default=60.0, metavar="SECONDES",
        help="reprend au bout de ce délai les avis qu'un autre worker a lus sans les finir (par défaut 60)",
    )  # fmt: skip
    worker.add_argument(
        "--no-analysis", action="store_true", help="notifie seulement les salons d'équipe (sans charger spaCy)"
    )
    worker.add_argument(
        "--no-notifier", action="store_true", help="analyse seulement (ni fiches ni rappels aux équipes)"
    )
    worker.add_argument(
        "--host", default="127.0.0.1", help="adresse d'écoute de /healthz et /metrics (par défaut 127.0.0.1)"
    )
    worker.add_argument(
        "--port", type=int, default=8082,
        help="port d'écoute de /healthz et /metrics (par défaut 8082 ; 0 : aucun), propre à chaque worker d'un hôte",
    )  # fmt: skip


async def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch < 1:
        raise InvalidInput(problem("cli_batch", "--batch must be at least 1"))
    if not args.claim_after > 0:
        raise InvalidInput(problem("cli_claim_after", "--claim-after must be a positive number of seconds"))
    if not 0 <= args.port < 65536:
        raise InvalidInput(
            problem(
                "cli_worker_port",
                "--port must be 1-65535 (or 0 for no /healthz and /metrics), not {port}",
                port=args.port,
            )
        )
    if args.no_analysis and args.no_notifier:
        raise InvalidInput(
            problem("cli_worker_nothing", "--no-analysis and --no-notifier together leave nothing to run")
        )
    if not args.no_analysis:
        require_analysis(
            "parole worker",
            alternative=problem("analysis_notifier_alone", ", or run the staff notifier alone with --no-analysis"),
        )
    notify = not args.no_notifier
    if notify and settings.telegram_token is None:
        if args.no_analysis:
            settings.require_token()  # fails naming PAROLE_TELEGRAM_TOKEN
        notice(problem("cli_no_notifier", "PAROLE_TELEGRAM_TOKEN is not set: the staff notifier is off, analysis only"))
        notify = False
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        redis = await stack.enter_async_context(open_redis(settings))
        await warn_about_durability(redis)
        await stack.enter_async_context(health_server(redis, process="worker", host=args.host, port=args.port))
        jobs: list[asyncio.Task[None]] = []
        if notify:
            jobs.append(asyncio.create_task(_notify_until(stop, settings, redis, stack)))
        if not args.no_analysis:
            jobs.append(asyncio.create_task(_analyse_until(stop, redis, args.name, args.batch, args.claim_after)))
        await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()  # one part failed: stop the other too
        for job in jobs:
            await job
    return 0


async def _analyse_until(stop: asyncio.Event, redis: Redis, name: str | None, batch: int, claim_after: float) -> None:
    from bot.analysis.worker import AnalysisWorker
    from bot.storage.lane import lane_for
    from nlp import Analyzer

    analyzer = await asyncio.to_thread(Analyzer, batch_size=batch)  # the model's batches are the worker's
    lane = lane_for(redis)  # lean round trips on one Redis server (None on a cluster)
    worker = AnalysisWorker(redis, analyzer, name=name, batch_size=batch, claim_idle=claim_after, lane=lane)
    try:
        await worker.run(stop)
    finally:
        if lane is not None:
            await lane.aclose()
    notice(
        problem(
            "cli_worker_done",
            "worker {name}: {count:feedback|feedbacks} analysed",
            name=worker.name,
            count=worker.analysed,
        )
    )


async def _notify_until(
    stop: asyncio.Event, settings: Settings, redis: Redis, stack: contextlib.AsyncExitStack
) -> None:
    from bot.app import load_dialogs, outbound, staff_notifier, standalone_bot
    from bot.storage.store import Store

    bot = await stack.enter_async_context(standalone_bot(settings, outbound(settings, redis)))
    notifier = staff_notifier(settings, Store(redis), load_dialogs(settings), bot)
    task = asyncio.create_task(notifier.run(1.0))
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    notice(problem("cli_notifier_done", "notifier {name}: stopped", name=notifier.name))

"""`citebot serve`: prepare the index, connect to Discord (or a compatible endpoint), stop cleanly on a signal."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.discord_app.client import CitebotClient
from bot.errors import EXIT_ERROR, EXIT_INDEX, EXIT_OK, EXIT_USAGE, CitebotError
from bot.service import KnowledgeService
from bot.settings import Settings
from knowledge.languages import ENGLISH, SPANISH

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0  # how long a shutdown waits for answers in progress
WARM_UP_QUESTION = "What do the sources say?"
WARM_UP_QUESTION_ES = "¿Qué es Comunidades Seguras?"  # loads the multilingual index before members ask


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at another REST base and gateway (a rate-limit proxy, or the test double)."""
    # Both are class attributes discord.py reads on every request and connection (see
    # tests/discord_double/NOTES.md); a plain Client never asks /gateway/bot for its gateway URL.
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
        log.info("Discord REST base: %s", discord.http.Route.BASE)
    if settings.discord_gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway)
        log.info("Discord gateway: %s", settings.discord_gateway)


def prepare_index(service: KnowledgeService) -> str:
    """Bring the index up to date (built when missing, rebuilt when damaged) and warm the model up."""
    # The builder's build reuses an intact, current index without embedding anything, and writes a fresh
    # generation when the stored one is missing or damaged; any other process loads what the builder published.
    outcome = service.prepare()
    for problem in outcome.problems if outcome else ():
        log.warning("source skipped: %s", problem)
    log.info("loading the model with a warm-up question")
    try:
        service.answer(WARM_UP_QUESTION)  # loads the model now rather than during the first member's question
    except Exception as exc:  # an empty corpus, say: the first real question will report it properly
        log.warning("warm-up question failed: %s", exc)
    if service.multilingual_encoder is not None:
        log.info("loading the multilingual index and model for questions in %s", ", ".join(
            language for language in service.settings.languages if language != ENGLISH))
        try:
            service.answer(WARM_UP_QUESTION_ES, language=SPANISH)
        except Exception as exc:
            log.warning("multilingual warm-up question failed: %s", exc)
    figures = len(service.statistics())
    if outcome is None:
        stored = service.searchable(build_if_missing=False)[0].stored
        return (f"index {stored.generation.name}, published by the builder: {len(stored.passages)} passages "
                f"({figures} statistics in the shared corpus); this process does not build")
    report = outcome.report
    return (f"index {report.generation}: {report.passages} passages from {report.sources} sources "
            f"({figures} statistics in the shared corpus); embedded {report.embedded} now, reused {report.reused}"
            + (f"; {len(outcome.problems)} file(s) skipped" if outcome.problems else ""))


def shard_label(settings: Settings) -> str:
    """Which shards this process serves, as its log lines name them."""
    if settings.shard_count is None:
        return "shards auto"
    ids = settings.shard_ids if settings.shard_ids is not None else range(settings.shard_count)
    return f"shard {','.join(map(str, ids))}/{settings.shard_count}"


def name_shards_in_logs(settings: Settings) -> None:
    """Every log line of this process says which shards it serves (several processes share one log)."""
    label = shard_label(settings)

    def add_label(record: logging.LogRecord) -> bool:
        record.shards = label
        return True
    for handler in logging.getLogger().handlers:
        handler.addFilter(add_label)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(shards)s] %(name)s: %(message)s"))


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[int]:
    """SIGINT and SIGTERM set stop (only possible in the main thread, and not on Windows)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    return installed


async def run_bot(settings: Settings, token: str, *, service: KnowledgeService | None = None,
                  stop: asyncio.Event | None = None, client_options: dict[str, Any] | None = None) -> int:
    """Run until stop is set (by SIGINT/SIGTERM in `serve`) or the connection ends; returns an exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = _install_signal_handlers(loop, stop)
    try:
        service = service or KnowledgeService(settings)
        service.encoder.preload()  # the model loads while the index does
        log.info("preparing the index under %s", settings.home)
        try:
            log.info(await asyncio.to_thread(prepare_index, service))
        except CitebotError as exc:
            log.error("the index could not be prepared: %s", exc)
            return EXIT_INDEX
        if stop.is_set():
            return EXIT_OK
        keeper = service.index_keeper()  # queued source changes (builder) and newly published indexes
        keeper.start()
        try:
            client = CitebotClient(service, **(client_options or {}))
            return await _run_client(client, token, stop)
        finally:
            await asyncio.to_thread(keeper.stop)
    except discord.LoginFailure:
        log.error("Discord refused the token. Check DISCORD_TOKEN (Developer Portal > your app > Bot > Reset Token).")
        return EXIT_ERROR
    except discord.HTTPException as exc:
        log.error("Discord answered an error while starting (HTTP %s): %s", exc.status, exc.text or exc)
        return EXIT_ERROR
    except (aiohttp.ClientError, OSError) as exc:
        log.error("could not reach Discord at %s: %s", discord.http.Route.BASE, exc)
        return EXIT_ERROR
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _run_client(client: CitebotClient, token: str, stop: asyncio.Event) -> int:
    """Start the client; on stop, let answers in progress finish, then close."""
    async with client:  # closes the client (and its worker threads) however this ends
        running = asyncio.create_task(client.start(token), name="citebot-discord")
        stopping = asyncio.create_task(stop.wait(), name="citebot-stop")
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running in done:
            stopping.cancel()
            running.result()  # raises what ended the connection
            return EXIT_OK
        log.info("shutting down: letting answers in progress finish (up to %.0f s)", DRAIN_SECONDS)
        if not await client.drain(DRAIN_SECONDS):
            log.warning("some answers were still running and were dropped")
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        log.info("stopped cleanly")
        return EXIT_OK


def serve(settings: Settings) -> int:
    """Entry point of `citebot serve`; returns the process exit code."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        print("error: DISCORD_TOKEN is not set. Put the bot token in the environment or in a .env file "
              "(DISCORD_TOKEN=...); see README.md, 'Run it on your Discord server'.", file=sys.stderr)
        return EXIT_USAGE
    configure_endpoints(settings)
    name_shards_in_logs(settings)
    try:
        return asyncio.run(run_bot(settings, token))
    except KeyboardInterrupt:  # a signal before the handlers were installed
        return EXIT_OK

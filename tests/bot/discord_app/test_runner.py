"""`citebot serve`: configuration, index preparation, start-up logs, and a clean stop on SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal

import discord.gateway
import discord.http
import pytest
import yarl

from bot.discord_app.runner import configure_endpoints, prepare_index, run_bot, serve
from bot.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from bot.settings import Settings
from tests.conftest import MINI_CORPUS, make_service


@pytest.fixture
def restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test points discord.py at is undone afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def test_serve_without_a_token_says_what_to_do(tmp_path, capsys):
    assert serve(Settings(home=tmp_path, discord_token=None)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: DISCORD_TOKEN is not set.") and 'Run it on your Discord server' in err


def test_endpoints_come_from_settings(restore_endpoints, tmp_path):
    configure_endpoints(Settings(home=tmp_path, discord_api_base="http://127.0.0.1:9/api/v10/",
                                 discord_gateway="ws://127.0.0.1:9/gateway"))
    assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
    assert yarl.URL("ws://127.0.0.1:9/gateway") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def test_serve_reports_an_unreachable_discord(restore_endpoints, built_home, tmp_path, encoder, caplog, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    settings = Settings(home=home, corpus=[MINI_CORPUS], include_bundled_corpus=False, discord_token="t",
                        discord_api_base="http://127.0.0.1:9/api/v10", discord_gateway="ws://127.0.0.1:9/gateway")
    monkeypatch.setattr("bot.discord_app.runner.KnowledgeService",
                        lambda s: make_service(s.home, encoder, [MINI_CORPUS]))  # share the loaded model
    assert serve(settings) == EXIT_ERROR
    assert any("could not reach Discord at http://127.0.0.1:9/api/v10" in r.getMessage() for r in caplog.records)


def test_a_damaged_index_is_rebuilt_at_start(built_home, tmp_path, encoder):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    generation = home / "index" / (home / "index" / "CURRENT").read_text().strip()
    (generation / "vectors.npy").write_bytes(b"garbage")
    service = make_service(home, encoder, [MINI_CORPUS])
    summary = prepare_index(service)
    assert "from 4 sources" in summary and "embedded 0 now" not in summary
    assert not service.answer("What is an ICE detainer?").abstained


async def test_run_bot_logs_in_syncs_answers_and_stops_cleanly_on_sigterm(fake, make_bot_service, caplog):
    service = make_bot_service()
    messages = lambda: [r.getMessage() for r in caplog.records]  # noqa: E731
    task = asyncio.create_task(run_bot(service.settings, fake.token, service=service,
                                       client_options={"guild_ready_timeout": 0.05}))
    await fake.wait_for(lambda: any(m.startswith("logged in as") for m in messages()) or task.done(), timeout=20,
                        what="the bot to log in")
    inter = await fake.send_slash_command("ask", {"question": "What is an ICE detainer?"}, user_id="501")
    body = await fake.wait_for_followup(inter)
    assert "[1]" in body["embeds"][0]["description"]

    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # run_bot's handler is in place
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 15) == EXIT_OK
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # and removed again

    logged = "\n".join(messages())
    assert "preparing the index under" in logged
    assert "passages from 4 sources (2 statistics in the shared corpus); embedded 0 now" in logged
    assert "synced 6 commands globally: ask, sources, stats, kb, Ask citebot, Fix citebot's answer" in logged
    assert f"in 2 guild(s): Alpha ({fake.guilds[0].id}), Beta ({fake.guilds[1].id})" in logged
    assert "shutting down" in logged and "stopped cleanly" in logged
    assert fake.gateway_connections[-1].closed_at is not None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    fake.assert_clean()


async def test_run_bot_reports_a_refused_token(fake, make_bot_service, caplog):
    service = make_bot_service()
    code = await run_bot(service.settings, "wrong-token", service=service)
    assert code == EXIT_ERROR
    assert any(r.getMessage().startswith("Discord refused the token") for r in caplog.records)
    fake.errors.clear()  # the 401 was the point

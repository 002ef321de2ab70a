"""The answer path imports neither torch, scipy nor pydantic: `citebot ask`, `chat` and `serve`, in subprocesses."""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import ROOT, citebot_env, run
from tests.discord_double import FakeDiscord

HEAVY = ("torch", "transformers", "sentence_transformers", "scipy", "sklearn", "pydantic")
# Runs one citebot command in this interpreter, then prints which heavy packages it imported.
PROBE = ("import json, sys\n"
         "from bot.cli import main\n"
         "code = main(sys.argv[1:])\n"
         f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
         "print('HEAVY ' + json.dumps(heavy), flush=True)\n"
         "sys.exit(code)\n")


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    """A home whose index is built (building may use any backend; answering must not need torch)."""
    home = tmp_path_factory.mktemp("light-home")
    assert run(["index"], home).returncode == 0
    return home


def probe(args: list[str], home: Path, stdin: str | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a command through PROBE; return the process and the heavy packages it imported."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, env=citebot_env(home), input=stdin,
                          capture_output=True, text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("HEAVY ")), None)
    assert line is not None, done.stderr
    return done, json.loads(line.removeprefix("HEAVY "))


def test_ask_imports_no_torch(built_home):
    done, heavy = probe(["ask", "--json", "How long can a jail hold someone on an ICE detainer?"], built_home)
    assert done.returncode == 0, done.stderr
    assert "48 hours" in done.stdout and heavy == []


def test_chat_imports_no_torch(built_home):
    done, heavy = probe(["chat"], built_home, stdin="When did Illinois withdraw?\nWhat is an ICE detainer?\n")
    assert done.returncode == 0, done.stderr
    assert "May 4" in done.stdout and "48 hours" in done.stdout and heavy == []


def test_the_torch_backend_is_still_there_when_asked_for(built_home):
    result = subprocess.run([sys.executable, "-c", PROBE, "ask", "When did Illinois withdraw?"], cwd=ROOT,
                            env=citebot_env(built_home, CITEBOT_ENCODER_BACKEND="torch"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "May 4" in result.stdout and '"torch"' in result.stdout  # same index, same answer, torch loaded


async def test_serve_answers_over_discord_without_importing_torch(built_home):
    fake = await FakeDiscord(guilds=["Alpha"]).start()
    env = citebot_env(built_home, CITEBOT_DISCORD_TOKEN=fake.token, CITEBOT_DISCORD_API_BASE=fake.api_base,
                      CITEBOT_DISCORD_GATEWAY=fake.gateway_url)
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", PROBE, "serve", cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        ready = lambda: any(fake.commands.values()) and any(c.ready for c in fake.gateway_connections)  # noqa: E731
        await fake.wait_for(lambda: ready() or process.returncode is not None, timeout=120,
                            what="the bot to sync its commands and connect to the gateway")
        assert process.returncode is None, (await process.stderr.read()).decode()
        interaction = await fake.send_slash_command("ask", {"question": "What is an ICE detainer?"}, user_id="501")
        body = await fake.wait_for_followup(interaction, timeout=60)
        assert "48 hours" in body["embeds"][0]["description"]
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.close()
    assert process.returncode == 0, err.decode()[-2000:]
    heavy = json.loads(next(x for x in out.decode().splitlines() if x.startswith("HEAVY ")).removeprefix("HEAVY "))
    assert heavy == []

"""Bot processes for the replica tests: `citebot serve` subprocesses against one fake Discord and one database."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.discord_double import FakeDiscord

REPOSITORY = Path(__file__).parents[3]
START_TIMEOUT_SECONDS = 180.0


@dataclass
class BotProcess:
    """One running `citebot serve` and the log it writes."""

    name: str
    process: asyncio.subprocess.Process
    log: Path
    shards: list[int] = field(default_factory=list)

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait_for_log(self, text: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Wait until the log holds text; fails with the log's tail when the process ends or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text not in self.log_text():
            if self.process.returncode is not None or loop.time() > deadline:
                raise AssertionError(f"{self.name} never logged {text!r} (exit {self.process.returncode}); log "
                                     f"tail:\n{self.log_text()[-4000:]}")
            await asyncio.sleep(0.2)

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye, as a crashed or OOM-killed process ends."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM and wait for a clean exit."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                await self.kill()
        return self.process.returncode


def bot_environment(fake: FakeDiscord, home: Path, shared: Path, database_url: str, corpus: Path,
                    shard_count: int, shard_ids: list[int], **extra: str) -> dict[str, str]:
    """The environment of one replica: its own home, the shared index folder and database, its shards."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CITEBOT_", "DISCORD_"))}
    env.update({
        "DISCORD_TOKEN": fake.token, "CITEBOT_DISCORD_API_BASE": fake.api_base,
        "CITEBOT_DISCORD_GATEWAY": fake.gateway_url, "CITEBOT_HOME": str(home), "CITEBOT_INDEX_DIR": str(shared),
        "CITEBOT_DATABASE_URL": database_url, "CITEBOT_SHARD_COUNT": str(shard_count),
        "CITEBOT_SHARD_IDS": json.dumps(shard_ids), "CITEBOT_INCLUDE_BUNDLED_CORPUS": "false",
        "CITEBOT_CORPUS": json.dumps([str(corpus)]), "CITEBOT_LANGUAGES": '["en"]',
        "CITEBOT_INDEX_POLL_SECONDS": "0.3", "CITEBOT_COOLDOWN_SECONDS": "0", "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


async def start_bot(name: str, env: dict[str, str], log_folder: Path) -> BotProcess:
    """Start `citebot serve` with this environment, logging to a file."""
    log = log_folder / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "serve", env=env,
                                                       cwd=REPOSITORY, stdout=out, stderr=asyncio.subprocess.STDOUT)
    return BotProcess(name, process, log, json.loads(env.get("CITEBOT_SHARD_IDS", "[]")))

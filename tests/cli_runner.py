"""Run the real `citebot` command in a subprocess with its own home and corpus."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MINI_CORPUS

ROOT = Path(__file__).resolve().parents[1]
CITEBOT = [sys.executable, "-m", "bot.cli"]


def citebot_env(home: Path, corpus: Path | None = MINI_CORPUS, **env: str) -> dict[str, str]:
    """Environment for a subprocess: its home, its corpus, offline, no Discord token."""
    environment = {**os.environ, "CITEBOT_HOME": str(home), "HF_HUB_OFFLINE": "1", **env}
    environment.pop("DISCORD_TOKEN", None)
    if corpus is not None:
        environment.update(CITEBOT_CORPUS=json.dumps([str(corpus)]), CITEBOT_INCLUDE_BUNDLED_CORPUS="false")
    return environment


def run(args: list[str], home: Path, corpus: Path | None = MINI_CORPUS, stdin: str | None = None,
        **env: str) -> subprocess.CompletedProcess:
    """Run `citebot ARGS` to completion and capture its output."""
    return subprocess.run(CITEBOT + args, cwd=ROOT, env=citebot_env(home, corpus, **env), input=stdin,
                          capture_output=True, text=True, timeout=300)

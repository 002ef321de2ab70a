"""The README's first two commands are the ones that set up and run, and `make run` really answers."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.cli_runner import citebot_env

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README has no sh code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_first_two_commands_run_and_test():
    assert readme_commands()[:2] == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_make_run_answers_piped_questions_from_the_bundled_corpus(tmp_path):
    result = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, input="which states opted out?\n",
                            env=citebot_env(tmp_path / "home", corpus=None), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Illinois" in result.stdout and "[1]" in result.stdout
    assert "WGBH News · June 6, 2011" in result.stdout

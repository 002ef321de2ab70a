"""A `citebot index` killed with SIGKILL at any point leaves the previous index usable."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from embeddings.index_store import IndexStore
from tests.cli_runner import CITEBOT, ROOT, citebot_env, run
from tests.conftest import MINI_CORPUS

CRASH_POINTS = ["after-metadata", "after-vectors", "before-replace:manifest.json", "before-generation-rename",
                "after-generation-rename", "before-replace:CURRENT", "after-pointer"]
QUESTION = "How long can a jail hold someone on an ICE detainer?"
# The English index alone: the multilingual one is written by the same code, and embedding every passage a
# second time with its model would only make each kill-and-rebuild slower.
ENGLISH_ONLY = {"CITEBOT_LANGUAGES": '["en"]'}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A home with a built index over a copy of the mini corpus."""
    base = tmp_path_factory.mktemp("crash")
    corpus = base / "corpus"
    shutil.copytree(MINI_CORPUS, corpus)
    home = base / "home"
    assert run(["index"], home, corpus, **ENGLISH_ONLY).returncode == 0
    return home, corpus


def ask(home: Path, corpus: Path) -> dict:
    result = run(["ask", "--json", QUESTION], home, corpus, **ENGLISH_ONLY)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_at_each_write_step_keeps_the_old_or_new_index(built, tmp_path, point):
    home_template, corpus_template = built
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    shutil.copytree(home_template, home)
    shutil.copytree(corpus_template, corpus)
    article = corpus / "articles" / "detainers.md"
    # A metadata change writes a whole new generation without loading the model: quick to crash.
    article.write_text(article.read_text().replace("Example Legal Aid", "Example Law Center"))

    crashed = run(["index"], home, corpus, CITEBOT_CRASH_AT=point, **ENGLISH_ONLY)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    committed = point == "after-pointer"
    stored = IndexStore(home).load()  # verifies checksums: the index is whole
    expected = "Example Law Center" if committed else "Example Legal Aid"
    assert stored.sources["shared/mini-detainers"].publisher == expected

    finished = run(["index"], home, corpus, **ENGLISH_ONLY)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("embedded 0, reused 4")
    assert IndexStore(home).load().sources["shared/mini-detainers"].publisher == "Example Law Center"
    assert not list((home / "index").glob(".staging-*"))


def test_kill_during_embedding_keeps_the_old_index(built, tmp_path):
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    shutil.copytree(built[0], home)
    shutil.copytree(built[1], corpus)
    for n in range(60):  # enough new passages that embedding takes a moment
        (corpus / "articles" / f"extra-{n}.md").write_text(
            f"---\nid: extra-{n}\ntitle: Extra {n}\npublisher: P\npublished: 2012\nkind: summary\n---\n"
            + " ".join(f"Sentence {i} of extra source {n} talks about fingerprints at jail bookings."
                       for i in range(40)))
    process = subprocess.Popen([*CITEBOT, "index"], cwd=ROOT, env=citebot_env(home, corpus, **ENGLISH_ONLY),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = process.stderr.readline()  # the first progress line: embedding has started
    assert "embedding passages" in line, line
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert "48 hours" in ask(home, corpus)["answer"]
    assert run(["index"], home, corpus, **ENGLISH_ONLY).returncode == 0

"""Settings: read from the environment and .env, typed, checked, and explained when wrong."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings
from bot.settings_source import Secret, read_env_file


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No CITEBOT_ variable or .env of the machine running the tests leaks in."""
    for name in [name for name in os.environ if name.upper().startswith(("CITEBOT_", "DISCORD_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_need_no_environment(clean_environment):
    settings = load_settings()
    assert settings == Settings()
    assert settings.home == Path(".citebot") and settings.languages == ["en", "es"]
    assert settings.discord_token is None and settings.max_answer_sentences == 4


def test_environment_text_becomes_typed_values(clean_environment):
    clean_environment.setenv("CITEBOT_HOME", "/srv/citebot")
    clean_environment.setenv("CITEBOT_CORPUS", '["/srv/a", "/srv/b"]')
    clean_environment.setenv("CITEBOT_INCLUDE_BUNDLED_CORPUS", "False")
    clean_environment.setenv("citebot_cooldown_seconds", "2.5")  # names are matched whatever their case
    clean_environment.setenv("CITEBOT_SHARD_COUNT", "4")
    clean_environment.setenv("CITEBOT_SHARD_IDS", "[1, 3]")
    clean_environment.setenv("CITEBOT_DEV_GUILD", "")  # empty means unset
    settings = load_settings()
    assert settings.home == Path("/srv/citebot")
    assert settings.corpus == [Path("/srv/a"), Path("/srv/b")]
    assert settings.include_bundled_corpus is False
    assert settings.cooldown_seconds == 2.5 and settings.shard_ids == [1, 3] and settings.dev_guild is None


def test_overrides_beat_the_environment_and_none_leaves_it(clean_environment):
    clean_environment.setenv("CITEBOT_HOME", "/from/env")
    assert load_settings(home=Path("/given")).home == Path("/given")
    assert load_settings(home=None).home == Path("/from/env")


def test_dot_env_is_read_and_the_environment_wins(clean_environment, tmp_path):
    (tmp_path / ".env").write_text(
        "# a comment\n\nexport DISCORD_TOKEN='abc def'\nCITEBOT_RETRIEVE_PASSAGES=12  # inline comment\n"
        'CITEBOT_MODEL="/models/x"\nCITEBOT_COOLDOWN_SECONDS=3\nnot a setting line\n', encoding="utf-8")
    clean_environment.setenv("CITEBOT_COOLDOWN_SECONDS", "7")
    settings = load_settings()
    assert settings.discord_token.get_secret_value() == "abc def"
    assert settings.retrieve_passages == 12 and settings.model == "/models/x" and settings.cooldown_seconds == 7
    assert read_env_file(tmp_path / "missing.env") == {}


def test_the_token_has_two_names_and_never_shows(clean_environment):
    clean_environment.setenv("CITEBOT_DISCORD_TOKEN", "second-name")
    assert load_settings().discord_token.get_secret_value() == "second-name"
    clean_environment.setenv("DISCORD_TOKEN", "first-name")
    settings = load_settings()
    assert settings.discord_token == Secret("first-name")
    assert "first-name" not in repr(settings) and "first-name" not in str(settings.discord_token)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("CITEBOT_ENCODER_BACKEND", "gpu", "CITEBOT_ENCODER_BACKEND: should be one of auto, onnx, torch, not 'gpu'"),
    ("CITEBOT_MAX_ANSWER_SENTENCES", "9", "CITEBOT_MAX_ANSWER_SENTENCES: should be at most 8, not 9"),
    ("CITEBOT_RETRIEVE_PASSAGES", "0", "CITEBOT_RETRIEVE_PASSAGES: should be at least 1, not 0"),
    ("CITEBOT_URL_TIMEOUT_SECONDS", "0", "CITEBOT_URL_TIMEOUT_SECONDS: should be more than 0, not 0.0"),
    ("CITEBOT_ANSWER_WORKERS", "two", "CITEBOT_ANSWER_WORKERS: should be a whole number, not 'two'"),
    ("CITEBOT_ALLOW_PRIVATE_URLS", "maybe", "CITEBOT_ALLOW_PRIVATE_URLS: should be true or false, not 'maybe'"),
    ("CITEBOT_CORPUS", "/srv/a", "CITEBOT_CORPUS: should be a JSON list"),
    ("CITEBOT_LANGUAGES", '["en", "fr"]', "CITEBOT_LANGUAGES: should be some of en, es, not ['fr']"),
    ("CITEBOT_SHARD_IDS", "[0]", "CITEBOT_SHARD_IDS: shard ids need CITEBOT_SHARD_COUNT"),
])
def test_a_bad_value_names_its_variable_and_what_was_expected(clean_environment, variable, value, message):
    clean_environment.setenv(variable, value)
    with pytest.raises(SettingsError, match="a setting cannot be used") as raised:
        load_settings()
    assert message in str(raised.value) and "See README.md, Configuration." in str(raised.value)
    assert raised.value.exit_code == 2


def test_every_bad_value_is_reported_at_once(clean_environment):
    clean_environment.setenv("CITEBOT_ENCODER_BACKEND", "gpu")
    clean_environment.setenv("CITEBOT_ANSWER_WORKERS", "99")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "CITEBOT_ENCODER_BACKEND" in str(raised.value) and "CITEBOT_ANSWER_WORKERS" in str(raised.value)


def test_settings_made_in_code_are_checked_and_frozen():
    assert Settings(home="relative/home", shard_count=2, shard_ids=(1,)).home == Path("relative/home")
    with pytest.raises(SettingsError, match="distinct numbers from 0 to 1"):
        Settings(shard_count=2, shard_ids=[2])
    with pytest.raises(AttributeError):
        Settings().home = Path("elsewhere")


def test_reading_settings_imports_no_heavy_library():
    code = ("import sys; from bot.settings import load_settings; load_settings(); "
            "print(sorted(m for m in ('pydantic', 'numpy', 'asyncio', 'yaml') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_a_service_holds_every_blas_to_its_blas_threads(tmp_path, encoder):
    """Answering multiplies small matrices: the service caps numpy's and FAISS's BLAS as its setting says."""
    from embeddings.blas import limit_blas_threads
    from tests.conftest import make_service

    try:
        limit_blas_threads(3)
        assert _blas_threads() == {3}
        make_service(tmp_path / "one", encoder)  # the default
        assert _blas_threads() == {1}
        make_service(tmp_path / "two", encoder, blas_threads=2)
        assert _blas_threads() == {2}
    finally:
        limit_blas_threads(Settings().blas_threads)

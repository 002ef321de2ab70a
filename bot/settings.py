"""All settings in one place, read from the environment (CITEBOT_*) and an optional .env file."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import EXIT_USAGE, CitebotError
from embeddings.model_options import BACKENDS, BUNDLED_MODEL, PRECISIONS
from knowledge.languages import ENGLISH, LANGUAGES

if TYPE_CHECKING:
    from embeddings.encoder import Encoder


class Settings(BaseSettings):
    """citebot's configuration; every field can be set as CITEBOT_<NAME> (see README, Configuration)."""

    model_config = SettingsConfigDict(env_prefix="CITEBOT_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", frozen=True, populate_by_name=True)

    home: Path = Field(default=Path(".citebot"), description="Where the index, uploads and feedback live.")
    model: str = Field(default=BUNDLED_MODEL, description="sentence-transformers model name or path.")
    corpus: list[Path] = Field(default_factory=list,
                               description="Extra shared source folders, searched with the bundled corpus.")
    include_bundled_corpus: bool = True
    encoder_backend: Literal[BACKENDS] = Field(default="auto", description="How the model runs: onnx (ONNX "
                                               "Runtime, no torch), torch, or auto (onnx where the model allows).")
    encoder_precision: Literal[PRECISIONS] = Field(default="fp32", description="Model weights for the onnx "
                                                   "backend; int8 is faster and less exact (bench/RESULTS.md).")
    model_cache: Path | None = Field(default=None, description="Folder for the model's ONNX export; unset means "
                                     "the virtualenv (if writable), else the home's cache folder.")

    # Answering
    max_answer_sentences: int = Field(default=4, ge=1, le=8)
    retrieve_passages: int = Field(default=8, ge=1, le=50)
    example_questions: list[Path] | None = Field(default=None, description="Labelled question sets whose "
                                                 "answers guide answers to questions like them; unset means the "
                                                 "bundled corpus's train and validation splits.")
    answer_scorer: Path | None = Field(default=None, description="A scorer file from `citebot calibrate`; "
                                       "unset means the one fitted for the bundled corpus.")
    multilingual_scorer: Path | None = Field(default=None, description="The scorer for questions answered from "
                                             "the multilingual index; unset means the bundled one.")
    pin_matcher: Path | None = Field(default=None, description="A pin matcher file from `citebot calibrate-pins`; "
                                     "unset means the one fitted on the bundled corpus's question pairs.")
    # Above this many passages, vector search scans compressed codes and re-ranks exactly (bench/scale.py);
    # the default matches VectorStoreConfig's, written out so settings do not import FAISS.
    approximate_search_above: int = Field(default=50_000, ge=0)
    max_question_chars: int = Field(default=500, ge=10, le=4000)
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES), description="Languages citebot "
                                 "answers in; any but English adds the multilingual index (a second model).")

    # Discord
    discord_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "DISCORD_TOKEN", "CITEBOT_DISCORD_TOKEN"))
    discord_api_base: str | None = Field(default=None, description="Discord-compatible REST base URL.")
    discord_gateway: str | None = Field(default=None, description="Discord-compatible gateway websocket URL.")
    dev_guild: int | None = Field(default=None, description="Sync commands to this guild only, at once.")
    cooldown_seconds: float = Field(default=10.0, ge=0)
    answer_workers: int = Field(default=2, ge=1, le=32)
    url_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    url_timeout_seconds: float = Field(default=15.0, gt=0)
    allow_private_urls: bool = Field(default=False, description="Test only: let add-url reach local addresses.")
    shard_count: int | None = Field(default=None, ge=1, description="Shards of the whole bot; unset means "
                                    "discord.py asks Discord how many (automatic sharding in one process).")
    shard_ids: list[int] | None = Field(default=None, description="The shards this process serves (needs "
                                        "CITEBOT_SHARD_COUNT); unset means all of them.")

    # Several processes (README, Running several processes)
    database_url: SecretStr | None = Field(default=None, description="postgresql://... for an activity store "
                                           "shared by several processes; unset means SQLite under the home.")
    index_dir: Path | None = Field(default=None, description="Where index generations are published (a "
                                   "shared filesystem for several processes); unset means the home.")
    index_builder: Literal["auto", "always", "never"] = Field(default="auto", description="Whether this process "
                                                               "builds the index: auto means the one that holds "
                                                               "the database's builder lease; never only loads.")
    index_poll_seconds: float = Field(default=2.0, gt=0, description="How often the builder looks for queued "
                                      "source changes and readers for a newly published index.")
    builder_wait_seconds: float = Field(default=300.0, gt=0, description="How long a process that does not "
                                        "build waits for the builder to make an organizer's change or publish.")

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in LANGUAGES]
        if unknown or not value:
            raise ValueError(f"languages must be some of {', '.join(LANGUAGES)}, not {unknown or 'none'}")
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shards_in_range(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        count = info.data.get("shard_count")
        if value is not None:
            if count is None:
                raise ValueError("shard ids need CITEBOT_SHARD_COUNT, the number of shards of the whole bot")
            wrong = [shard for shard in value if not 0 <= shard < count]
            if wrong or not value or len(set(value)) != len(value):
                raise ValueError(f"shard ids must be distinct numbers from 0 to {count - 1}, not {value}")
        return value

    @property
    def database_url_value(self) -> str | None:
        """The activity database URL in clear (None: SQLite)."""
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def index_home(self) -> Path:
        """Folder of the index generations (the home unless CITEBOT_INDEX_DIR names a shared one)."""
        return self.index_dir or self.home

    @property
    def multilingual(self) -> bool:
        """Whether questions in languages other than English get the multilingual index."""
        return any(code != ENGLISH for code in self.languages)

    @property
    def uploads_home(self) -> Path:
        """Folder of organizer-added source files, one subfolder per server (beside the index it feeds)."""
        return self.index_home / "sources"

    @property
    def cache_home(self) -> Path:
        """Folder of derived files that can be rebuilt at any time (the example questions' vectors)."""
        return self.home / "cache"

    @property
    def model_cache_home(self) -> Path:
        """Folder of the model's ONNX export, shared by every home that uses this virtualenv."""
        if self.model_cache is not None:
            return self.model_cache
        if sys.prefix != sys.base_prefix and os.access(sys.prefix, os.W_OK):
            return Path(sys.prefix) / "var" / "citebot"
        return self.cache_home

    @property
    def activity_db(self) -> Path:
        """SQLite file of questions, votes, settings and the audit log."""
        return self.home / "activity.sqlite"


class SettingsError(CitebotError):
    """A setting in the environment or .env has a value citebot cannot use."""

    exit_code = EXIT_USAGE


def load_settings(**overrides: object) -> Settings:
    """Settings from environment and .env, with explicit overrides (used by the CLI and tests)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"CITEBOT_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
                             for error in exc.errors())
        raise SettingsError(f"a setting cannot be used: {problems}. See README.md, Configuration.") from None


def build_encoder(settings: Settings) -> Encoder:
    """The encoder the settings describe (not loaded yet)."""
    from embeddings.encoder import Encoder  # numpy and the model code load when an encoder is wanted

    return Encoder(settings.model, backend=settings.encoder_backend, precision=settings.encoder_precision,
                   cache_dir=settings.model_cache_home)

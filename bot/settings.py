"""All settings in one place, read from the environment (CITEBOT_*) and an optional .env file."""
from __future__ import annotations

import os
import sys
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

from bot.errors import EXIT_USAGE, CitebotError
from bot.settings_source import Bounds, Problem, Secret, coerce, environment
from embeddings.model_options import BACKENDS, BUNDLED_MODEL, PRECISIONS
from knowledge.languages import ENGLISH, LANGUAGES

if TYPE_CHECKING:
    from collections.abc import Callable

    from embeddings.encoder import Encoder

ENV_PREFIX = "CITEBOT_"


def _setting(default: object = MISSING, description: str = "", *, factory: Callable[[], object] | None = None,
             ge: float | None = None, le: float | None = None, gt: float | None = None,
             env: tuple[str, ...] = ()) -> Any:
    """A settings field: its default, what it means, its range, and other variable names it may come from."""
    metadata = {"description": description, "bounds": Bounds(ge, le, gt), "env": env}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """citebot's configuration; every field can be set as CITEBOT_<NAME> (see README, Configuration)."""

    home: Path = _setting(Path(".citebot"), "Where the index, uploads and feedback live.")
    model: str = _setting(BUNDLED_MODEL, "sentence-transformers model name or path.")
    corpus: list[Path] = _setting(factory=list, description="Extra shared source folders, searched with the "
                                  "bundled corpus.")
    include_bundled_corpus: bool = _setting(True, "Search the starter corpus shipped in knowledge/corpus/.")
    encoder_backend: Literal[BACKENDS] = _setting("auto", "How the model runs: onnx (ONNX Runtime, no torch), "
                                                  "torch, or auto (onnx where the model allows).")
    encoder_precision: Literal[PRECISIONS] = _setting("fp32", "Model weights for the onnx backend; int8 is "
                                                      "faster and less exact (bench/RESULTS.md).")
    model_cache: Path | None = _setting(None, "Folder for the model's ONNX export; unset means the virtualenv "
                                        "(if writable), else the home's cache folder.")
    tune_encoder: bool = _setting(True, "Fine-tune the bundled model on the encoder-training questions' named "
                                  "answer sentences (made once, by `make setup`; bench/RESULTS.md).")
    encoder_training: list[Path] | None = _setting(None, "Labelled question sets the bundled model is tuned on; "
                                                   "unset means the bundled corpus's train split.")

    # Answering
    max_answer_sentences: int = _setting(4, "Sentences quoted at most.", ge=1, le=8)
    retrieve_passages: int = _setting(8, "Passages retrieved per question.", ge=1, le=50)
    example_questions: list[Path] | None = _setting(None, "Labelled question sets whose answers guide answers "
                                                    "to questions like them; unset means the bundled corpus's "
                                                    "train and validation splits.")
    answer_scorer: Path | None = _setting(None, "A scorer file from `citebot calibrate`; unset means the one "
                                          "fitted for the bundled corpus.")
    multilingual_scorer: Path | None = _setting(None, "The scorer for questions answered from the multilingual "
                                                "index; unset means the bundled one.")
    pin_matcher: Path | None = _setting(None, "A pin matcher file from `citebot calibrate-pins`; unset means the "
                                        "one fitted on the bundled corpus's question pairs.")
    # Above this many passages, vector search scans compressed codes and re-ranks exactly (bench/scale.py);
    # the default matches VectorStoreConfig's, written out so settings do not import FAISS.
    approximate_search_above: int = _setting(50_000, "Passages above which vector search is approximate.", ge=0)
    max_question_chars: int = _setting(500, "Longer questions are refused.", ge=10, le=4000)
    blas_threads: int = _setting(1, "Threads numpy's matrix products may use; answering multiplies small "
                                 "matrices, where more threads only wait for each other (bench/RESULTS.md).",
                                 ge=1, le=64)
    languages: list[str] = _setting(factory=lambda: list(LANGUAGES), description="Languages citebot answers "
                                    "in; any but English adds the multilingual index (a second model).")

    # Discord
    discord_token: Secret | None = _setting(None, "The bot's token.",
                                            env=("DISCORD_TOKEN", "CITEBOT_DISCORD_TOKEN"))
    discord_api_base: str | None = _setting(None, "Discord-compatible REST base URL.")
    discord_gateway: str | None = _setting(None, "Discord-compatible gateway websocket URL.")
    dev_guild: int | None = _setting(None, "Sync commands to this guild only, at once.")
    cooldown_seconds: float = _setting(10.0, "Per-user pause between questions.", ge=0)
    answer_workers: int = _setting(2, "Threads answering questions.", ge=1, le=32)
    url_max_bytes: int = _setting(5 * 1024 * 1024, "Size limit of a page fetched by /kb add-url.", ge=1)
    upload_max_bytes: int = _setting(10 * 1024 * 1024, "Size limit of a file sent to /kb upload.", ge=1)
    url_timeout_seconds: float = _setting(15.0, "How long /kb add-url waits for a page.", gt=0)
    allow_private_urls: bool = _setting(False, "Test only: let add-url reach local addresses.")
    shard_count: int | None = _setting(None, "Shards of the whole bot; unset means discord.py asks Discord how "
                                       "many (automatic sharding in one process).", ge=1)
    shard_ids: list[int] | None = _setting(None, "The shards this process serves (needs CITEBOT_SHARD_COUNT); "
                                           "unset means all of them.")

    # Several processes (README, Running several processes)
    database_url: Secret | None = _setting(None, "postgresql://... for an activity store shared by several "
                                           "processes; unset means SQLite under the home.")
    index_dir: Path | None = _setting(None, "Where index generations are published (a shared filesystem for "
                                      "several processes); unset means the home.")
    index_builder: Literal["auto", "always", "never"] = _setting("auto", "Whether this process builds the index: "
                                                                 "auto means the one that holds the database's "
                                                                 "builder lease; never only loads.")
    index_poll_seconds: float = _setting(2.0, "How often the builder looks for queued source changes and readers "
                                         "for a newly published index.", gt=0)
    builder_wait_seconds: float = _setting(300.0, "How long a process that does not build waits for the builder "
                                           "to make an organizer's change or publish.", gt=0)

    def __post_init__(self) -> None:
        types, problems = _field_types(), []
        for spec in fields(self):
            try:
                value = coerce(types[spec.name], getattr(self, spec.name))
                spec.metadata["bounds"].check(value)
                object.__setattr__(self, spec.name, value)  # frozen: set once, while being made
            except Problem as problem:
                problems.append(f"{variable_names(spec.name)[0]}: {problem}")
        problems += [] if problems else self._problems_across_fields()
        if problems:
            raise SettingsError(f"a setting cannot be used: {'; '.join(problems)}. See README.md, Configuration.")

    def _problems_across_fields(self) -> list[str]:
        """What is wrong with values that are each well-formed (an unknown language, shards out of range)."""
        problems = []
        unknown = [code for code in self.languages if code not in LANGUAGES]
        if unknown or not self.languages:
            problems.append(f"CITEBOT_LANGUAGES: should be some of {', '.join(LANGUAGES)}, not {unknown or 'none'}")
        if self.shard_ids is not None:
            count = self.shard_count
            if count is None:
                problems.append("CITEBOT_SHARD_IDS: shard ids need CITEBOT_SHARD_COUNT, the number of shards of "
                                "the whole bot")
            elif (any(not 0 <= shard < count for shard in self.shard_ids) or not self.shard_ids
                  or len(set(self.shard_ids)) != len(self.shard_ids)):
                problems.append(f"CITEBOT_SHARD_IDS: shard ids must be distinct numbers from 0 to {count - 1}, "
                                f"not {self.shard_ids}")
        return problems

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


@cache
def _field_types() -> dict[str, Any]:
    """Each field's type, evaluated once (the annotations are text under `from __future__ import annotations`)."""
    return get_type_hints(Settings)


def variable_names(name: str) -> tuple[str, ...]:
    """The environment variables a field is read from, first found wins (CITEBOT_<NAME> unless it says others)."""
    spec = next(spec for spec in fields(Settings) if spec.name == name)
    return spec.metadata["env"] or (ENV_PREFIX + name.upper(),)


class SettingsError(CitebotError):
    """A setting in the environment or .env has a value citebot cannot use."""

    exit_code = EXIT_USAGE


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and .env, with explicit overrides (used by the CLI and tests)."""
    variables = environment()
    values: dict[str, object] = {}
    for spec in fields(Settings):
        found = [variables[name] for name in variable_names(spec.name) if variables.get(name, "") != ""]
        if found:
            values[spec.name] = found[0]
    values.update((name, value) for name, value in overrides.items() if value is not None)
    return Settings(**values)


def build_encoder(settings: Settings) -> Encoder:
    """The encoder the settings describe (not loaded yet)."""
    from bot.encoder_tuning import tuned_encoder
    from embeddings.encoder import Encoder  # numpy and the model code load when an encoder is wanted

    tuned = tuned_encoder(settings)
    if tuned is not None:
        return tuned
    return Encoder(settings.model, backend=settings.encoder_backend, precision=settings.encoder_precision,
                   cache_dir=settings.model_cache_home)

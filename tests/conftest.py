"""Shared fixtures: the real model (loaded once per session) and small corpora in temporary homes."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.service import KnowledgeService
from bot.settings import Settings
from embeddings.encoder import Encoder

DATA = Path(__file__).parent / "data"
MINI_CORPUS = DATA / "mini"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The model citebot runs by default (all-MiniLM-L6-v2 fine-tuned on the bundled train split), on ONNX."""
    from bot.settings import build_encoder

    model = build_encoder(Settings())
    assert " tuned:" in model.identity and model.dimension == 384 and model.description == "onnxruntime fp32"
    return model


@pytest.fixture(scope="session")
def shipped_encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2 as its package ships it, on ONNX Runtime."""
    model = Encoder(cache_dir=Settings().model_cache_home)
    assert model.dimension == 384 and model.description == "onnxruntime fp32"
    return model


@pytest.fixture(scope="session")
def torch_encoder() -> Encoder:
    """The same model on torch and transformers (the backend that builds ONNX exports)."""
    return Encoder(backend="torch")


@pytest.fixture
def mini_corpus(tmp_path: Path) -> Path:
    """A writable copy of the three-source test corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(MINI_CORPUS, target)
    return target


def make_service(home: Path, encoder: Encoder, corpus: list[Path] | None = None, bundled: bool = False,
                 **settings) -> KnowledgeService:
    """A service over the given corpus that shares the session's loaded model."""
    service = KnowledgeService(Settings(home=home, corpus=corpus or [], include_bundled_corpus=bundled, **settings))
    service.encoder = encoder
    return service


@pytest.fixture
def mini_service(tmp_path: Path, encoder: Encoder, mini_corpus: Path) -> KnowledgeService:
    """A service over the mini corpus, index built."""
    service = make_service(tmp_path / "home", encoder, [mini_corpus])
    service.build_index()
    return service


@pytest.fixture(scope="session")
def bundled_service(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> KnowledgeService:
    """A service over the bundled starter corpus, built once per session."""
    service = make_service(tmp_path_factory.mktemp("bundled-home"), encoder, bundled=True)
    service.build_index()
    return service


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the whole run, stopped at the end; skipped only where none can be had."""
    from tests.postgres_server import start_postgres

    try:
        server = start_postgres()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server can be started here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.new_database()


CORPUS_FIXTURES = {"bundled_service"}  # fixtures that answer from the bundled corpus's content


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that answers from the bundled corpus `corpus`: `pytest -m "not corpus"` tests the engine."""
    for item in items:
        if CORPUS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.corpus)

"""Both activity backends, for tests that must hold on each: SQLite in a temporary home, a real PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.activity import ActivityStore, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (SQLite under the home) or the URL of a fresh PostgreSQL database."""
    return request.getfixturevalue("postgres_url") if request.param == "postgresql" else None


@pytest.fixture
def store(database_url: str | None, tmp_path: Path) -> ActivityStore:
    """An empty, migrated activity store on each backend."""
    opened = open_store(database_url, tmp_path / "activity.sqlite")
    yield opened
    opened.close()

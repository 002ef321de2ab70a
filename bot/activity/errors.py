"""Errors of the activity store, written for the operator who configured it."""
from __future__ import annotations

from bot.errors import CitebotError


class ActivityStoreError(CitebotError):
    """The activity database cannot be opened, migrated or reached."""

    exit_code = 2

"""Errors of the activity store, written for the operator who configured it."""
from __future__ import annotations

from bot.errors import EXIT_USAGE, CitebotError


class ActivityStoreError(CitebotError):
    """The activity database cannot be opened, migrated or reached."""

    exit_code = EXIT_USAGE

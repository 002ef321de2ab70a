"""Errors raised while reading sources, written for the organizer who will read them."""
from __future__ import annotations


class CitebotError(Exception):
    """Base class of every error citebot explains to its reader instead of a traceback (all three layers)."""

    exit_code = 1  # EXIT_ERROR of bot/errors.py, where every exit code is defined


class KnowledgeError(CitebotError):
    """Base class for every error of the knowledge package."""


class SourceReadError(KnowledgeError):
    """A source file could not be read; says which file and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


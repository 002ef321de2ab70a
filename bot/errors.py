"""citebot's own errors, with messages for the person who reads them."""
from __future__ import annotations


class CitebotError(Exception):
    """Base class: a problem we can explain to the user."""

    exit_code = 1


class QuestionError(CitebotError):
    """The question cannot be answered as asked (empty, too long)."""

    exit_code = 2


class SourceRejected(CitebotError):
    """An organizer's source was refused (type, size, unreadable, unsafe URL)."""

    exit_code = 2


class IndexUnavailable(CitebotError):
    """The index is damaged or cannot be built; says what to do."""

    exit_code = 3

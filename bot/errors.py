"""citebot's own errors, with messages for the person who reads them."""
from __future__ import annotations

from knowledge.errors import CitebotError

# The exit codes of every `citebot` command (docs/ARCHITECTURE.md, Contracts).
EXIT_OK = 0
EXIT_ERROR = 1  # unexpected: a bug, or Discord refusing the token
EXIT_USAGE = 2  # bad input: a question, a file, a setting
EXIT_INDEX = 3  # the index is damaged or missing and could not be built
EXIT_SKIPPED = 4  # the index was built, but some source files were skipped


class QuestionError(CitebotError):
    """The question cannot be answered as asked (empty, too long)."""

    exit_code = EXIT_USAGE


class SourceRejected(CitebotError):
    """An organizer's source was refused (type, size, unreadable, unsafe URL)."""

    exit_code = EXIT_USAGE


class IndexUnavailable(CitebotError):
    """The index is damaged or cannot be built; says what to do."""

    exit_code = EXIT_INDEX

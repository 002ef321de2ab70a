"""What the service's parts share: its records, the question check, and where the second index lives."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.activity import ScopeActivity
from bot.errors import QuestionError
from embeddings.index_store import BuildReport
from knowledge.errors import SourceReadError

Progress = Callable[[int, int], None]
MULTILINGUAL_FOLDER = "multilingual"  # under the home: the multilingual index's own generations


@dataclass(frozen=True)
class IndexOutcome:
    """A build's report plus the files that were skipped."""

    report: BuildReport
    problems: tuple[SourceReadError, ...]
    multilingual: BuildReport | None = None  # the multilingual index's build, when it is enabled


@dataclass(frozen=True)
class ServerData:
    """What citebot holds for one server: its own source files and its activity records."""

    scope: str
    source_files: int
    activity: ScopeActivity


def clean_question(question: str, limit: int) -> str:
    """Collapse whitespace and refuse empty or oversized questions."""
    text = " ".join(question.replace("\x00", " ").split())
    if not text:
        raise QuestionError("The question is empty. Ask something like: which states opted out?")
    if len(text) > limit:
        raise QuestionError(f"The question is {len(text)} characters long; the limit is {limit}. Please shorten it.")
    return text

"""What the activity store keeps: questions asked, votes, pins, the audit log and index requests."""
from __future__ import annotations

from dataclasses import dataclass

# An answer with at least this many "Helpful" votes and none against is suggested as a pin.
SUGGEST_AFTER_HELPFUL = 3


@dataclass(frozen=True)
class Gap:
    """A question organizers should look at: unanswered or voted unhelpful, with how often."""

    question: str
    times: int
    abstained: int
    unhelpful: int
    last_asked: float
    answer: str = ""  # the newest answer it was given ("" when citebot declined)


@dataclass(frozen=True)
class PinnedSentence:
    """A sentence of a pinned answer, by stable reference: its source and its exact text."""

    source_scope: str
    source_id: str
    text: str


@dataclass(frozen=True)
class Pin:
    """An answer organizers chose for a question (sentences in order), or a decline."""

    id: int
    scope: str
    question: str
    decline: bool
    sentences: tuple[PinnedSentence, ...]
    pinned_by: str
    pinned_at: float


@dataclass(frozen=True)
class Suggestion:
    """An answer members found helpful (several votes, none against): a pin for organizers to confirm."""

    question_id: int
    question: str
    answer: str
    helpful: int
    quoted: tuple[PinnedSentence, ...]


@dataclass(frozen=True)
class AuditEntry:
    """Who changed what in a server's knowledge base, and when."""

    at: float
    user_id: str
    user_name: str
    action: str
    detail: str


@dataclass(frozen=True)
class ScopeActivity:
    """What the activity database holds for one server."""

    questions: int
    votes: int
    settings: int
    audit_entries: int
    pins: int = 0


@dataclass(frozen=True)
class IndexRequest:
    """A change to a server's sources that a replica asked the index builder to make."""

    id: int
    scope: str
    action: str  # one of INDEX_ACTIONS
    name: str  # the file name (add) or source id (remove); "" for forget
    data: bytes  # the uploaded file (add), else empty
    meta: str  # JSON of the upload's provenance (add), else "{}"
    requested_at: float
    done_at: float | None = None
    error: str = ""  # why the builder could not make the change ("" when it did)


INDEX_ACTIONS = ("add", "remove", "forget", "rebuild")

"""Pinned answers: organizers choose the sentences that answer a question."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.activity import Pin, Suggestion
from bot.errors import SourceRejected
from bot.pinning import Candidate
from bot.service._common import clean_question

if TYPE_CHECKING:  # the service's own attributes, for readers and type checkers
    from bot.activity import ActivityStore
    from bot.pinning import PinBoard
    from bot.settings import Settings



class PinnedAnswers:
    """Making, listing and removing pins, and the suggestions members' votes make."""

    # Set by KnowledgeService.__init__; listed so a reader sees what this part relies on.
    settings: Settings
    activity: ActivityStore
    pin_board: PinBoard

    def pin(self, scope: str, question: str, sentences: list[str], *, decline: bool = False,
            pinned_by: str = "") -> Pin:
        """Pin sentences (each word for word in a source visible in scope), or a decline, for a question."""
        text = clean_question(question, self.settings.max_question_chars)
        if decline == bool(sentences):
            raise SourceRejected("A pin needs either the sentences that answer the question (--sentence, in order) "
                                 "or a decline (--decline), not both.")
        search, _ = self.searchable()
        references = self.pin_board.resolve(search, scope, sentences)
        pin = self.activity.add_pin(scope, text, references, decline, pinned_by)
        self.pin_board.changed()
        return pin

    def pins(self, scope: str) -> list[Pin]:
        """The pins made in one scope (a server's, or the shared ones)."""
        return self.activity.pins((scope,))

    def remove_pin(self, scope: str, pin_id: int) -> Pin:
        """Delete one of a scope's pins."""
        pin = next((p for p in self.pins(scope) if p.id == pin_id), None)
        if pin is None or not self.activity.remove_pin(scope, pin_id):
            raise SourceRejected(f"There is no pin {pin_id} here. See the list of pins.")
        self.pin_board.changed()
        return pin

    def broken_pins(self, scope: str | None, every_scope: bool = False) -> list[Pin]:
        """Pins visible in scope (or in any scope) whose sentences are no longer in their sources (not served)."""
        search, _ = self.searchable()
        return self.pin_board.broken(search, scope, every_scope)

    def pin_candidates(self, question: str, scope: str | None, search_text: str | None = None) -> list[Candidate]:
        """Sentences an organizer can pick for a question (search_text widens the search)."""
        text = clean_question(search_text or question, self.settings.max_question_chars)
        search, _ = self.searchable()
        return self.pin_board.candidates(search, search.search(text, scope=scope, k=self.settings.retrieve_passages))

    def suggested_pins(self, scope: str) -> list[Suggestion]:
        """Answers members voted helpful (several votes, none against), for organizers to confirm."""
        return self.activity.suggestions(scope)

    def confirm_suggestion(self, scope: str, question_id: int, pinned_by: str) -> Pin:
        """Pin the sentences an answer quoted, for the question it answered."""
        answered = self.activity.answered(question_id)
        if answered is None or answered[0] != scope or not answered[2]:
            raise SourceRejected(f"Question {question_id} has no answer here that can be pinned.")
        return self.pin(scope, answered[1], [s.text for s in answered[2]], pinned_by=pinned_by)


"""`citebot eval`: answer a question set and report accuracy, hit@5, abstention and citation validity."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answering.validation import citation_problems
from bot.errors import CitebotError

if TYPE_CHECKING:
    from bot.service import KnowledgeService


class QuestionSetError(CitebotError):
    """A question set file is missing or malformed; names the line."""

    exit_code = 2


@dataclass(frozen=True)
class Question:
    """One line of a question set."""

    id: str
    question: str
    must_contain: tuple  # each element: a string, or a tuple of acceptable alternatives
    answerable: bool
    answer_sentences: tuple[str, ...] = ()  # corpus sentences that answer it ("stat:<row id>" for a statistics row)


def collapse(text: str) -> str:
    """Lowercase with runs of whitespace as one space: how answers and sentences are compared."""
    return " ".join(text.lower().split())


def contains_all(text: str, must_contain: tuple) -> bool:
    """Every element appears in text (an element that is a list needs any one of its alternatives)."""
    haystack = collapse(text)
    for element in must_contain:
        options = element if isinstance(element, (list, tuple)) else (element,)
        if not any(collapse(str(option)) in haystack for option in options):
            return False
    return True


def is_named_sentence(sentence: str, source_id: str, position: int, named: tuple[str, ...]) -> bool:
    """True when a quoted sentence is one a question set names as an answer (whitespace and case aside)."""
    text = collapse(sentence)
    for item in named:
        if item.startswith("stat:"):
            if item[5:] == source_id and position == 0:  # a statistics row's figure, not its note
                return True
            continue
        wanted = collapse(item)
        shorter, longer = sorted((text, wanted), key=len)
        # The corpus splitter and a writer may cut a sentence differently; most of it must be shared.
        if shorter and shorter in longer and len(shorter) >= 0.6 * len(longer):
            return True
    return False


def read_question_set(path: Path) -> list[Question]:
    """Parse a .jsonl question set, with a clear error for the first bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read question set {path}: {exc}") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            question = Question(str(data["id"]), str(data["question"]),
                                tuple(tuple(e) if isinstance(e, list) else e for e in data.get("must_contain", [])),
                                bool(data["answerable"]), tuple(str(s) for s in data.get("answer_sentences", [])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QuestionSetError(f"{path}:{number}: not a question object with id, question, must_contain, "
                                   f"answerable ({type(exc).__name__}: {exc})") from None
        questions.append(question)
    if not questions:
        raise QuestionSetError(f"{path} holds no questions")
    return questions


def evaluate(service: KnowledgeService, questions: list[Question]) -> dict:
    """Run every question through the service and compute the metrics of docs/ARCHITECTURE.md (Contracts)."""
    per_question = []
    for q in questions:
        answer = service.answer(q.question)
        top5 = [p.text for p in answer.passages[:5]]
        problems = citation_problems(answer)
        named = [is_named_sentence(text, source, position, q.answer_sentences)
                 for text, source, position in answer.quoted] if q.answer_sentences else []
        per_question.append({
            "id": q.id, "question": q.question, "answerable": q.answerable,
            "sentences_named": sum(named), "sentences_quoted": len(named),
            "answer": answer.answer, "abstained": answer.abstained, "abstention_reason": answer.reason,
            "correct": q.answerable and not answer.abstained and contains_all(answer.answer, q.must_contain),
            "hit_at_5": q.answerable and contains_all(" ".join(top5), q.must_contain),
            "citations_valid": not problems, "citation_problems": problems,
            "citations": answer.to_json()["citations"], "top_passages": top5,
        })
    answerable = [r for r in per_question if r["answerable"]]
    unanswerable = [r for r in per_question if not r["answerable"]]
    answered = [r for r in per_question if not r["abstained"]]
    quoted = sum(r["sentences_quoted"] for r in answerable if not r["abstained"])

    def share(rows: list[dict], key: str) -> float:
        return round(sum(1 for r in rows if r[key]) / len(rows), 4) if rows else 1.0

    return {
        "questions": len(per_question),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_accuracy": share(answerable, "correct"),
        "hit_at_5": share(answerable, "hit_at_5"),
        "abstention_accuracy": share(unanswerable, "abstained"),
        "false_abstentions": sum(1 for r in answerable if r["abstained"]),
        # Of the sentences quoted for answerable questions that name their answer sentences, the share named.
        "sentence_precision": round(sum(r["sentences_named"] for r in answerable) / quoted, 4) if quoted else None,
        "citation_validity": share(answered, "citations_valid"),
        "per_question": per_question,
    }

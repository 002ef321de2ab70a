"""Check question-set files against the writers' brief (knowledge/corpus/questions/README.md) and the corpus.

Each answerable question must name sentences that stand word for word in an article body (or `stat:<row id>`
rows of the statistics CSV), name their sources, and have 1 to 3 `must_contain` elements that each appear in
one of those sentences; unanswerable ones have none. Question writers run it on their file until it reports
nothing; the tests run it on every committed set, so that a corpus edit that breaks a label is caught.

    python bench/check_questions.py knowledge/corpus/questions/written/*.jsonl [--corpus knowledge/corpus]

Exit status 1 when any file has a problem.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import _common  # noqa: F401  (the repository first on sys.path)
from _common import REPO

from bot.evaluation import collapse
from knowledge.frontmatter import split_front_matter

CORPUS = REPO / "knowledge" / "corpus"
CATEGORIES = frozenset({
    "definitional", "how_it_works", "history", "yes_no", "number", "date", "personal", "casual", "comparison",
    "faq", "place_person", "unanswerable_a7", "unanswerable_event", "unanswerable_advice",
    "unanswerable_other_program", "unanswerable_other_place", "unanswerable_near_miss"})


def article_bodies(corpus: Path) -> dict[str, str]:
    """Each article's collapsed body text, by its front matter id."""
    bodies = {}
    for path in sorted((corpus / "articles").glob("*.md")):
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
        bodies[str(meta.get("id") or path.stem)] = collapse(body)
    return bodies


def statistic_rows(corpus: Path) -> dict[str, str]:
    """Each statistics row's collapsed text, by its id."""
    rows = {}
    for path in sorted((corpus / "statistics").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows.update({row["id"]: collapse(" ".join(row.values())) for row in csv.DictReader(handle)})
    return rows


def problems(path: Path, bodies: dict[str, str], rows: dict[str, str]) -> list[str]:
    """Every way the file departs from the brief, one line each, naming the line and question id."""
    found: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = json.loads(line)
        except json.JSONDecodeError as exc:
            found.append(f"{path}:{number}: not JSON ({exc})")
            continue
        where = f"{path}:{number} ({question.get('id')})"
        found += [f"{where}: missing field {key}" for key in ("id", "question", "answerable", "must_contain",
                                                               "answer", "category") if key not in question]
        if question.get("id") in seen:
            found.append(f"{where}: the id is used twice")
        seen.add(question.get("id"))
        category = str(question.get("category", ""))
        if category not in CATEGORIES:
            found.append(f"{where}: unknown category {category!r}")
        if question.get("answerable"):
            found += _answerable_problems(where, question, bodies, rows)
        else:
            if question.get("must_contain"):
                found.append(f"{where}: an unanswerable question has must_contain")
            if not category.startswith("unanswerable"):
                found.append(f"{where}: unanswerable, but its category is {category!r}")
    return found


def _answerable_problems(where: str, question: dict, bodies: dict[str, str], rows: dict[str, str]) -> list[str]:
    """What is wrong with an answerable question's sentences, sources and must_contain."""
    found = []
    if str(question.get("category", "")).startswith("unanswerable"):
        found.append(f"{where}: answerable, but its category is {question['category']!r}")
    sentences = question.get("answer_sentences") or []
    if not sentences:
        found.append(f"{where}: answerable with no answer_sentences")
    texts = []
    for sentence in sentences:
        if sentence.startswith("stat:"):
            if sentence[5:] in rows:
                texts.append(rows[sentence[5:]])
            else:
                found.append(f"{where}: no statistics row {sentence[5:]!r}")
            continue
        text = collapse(sentence)
        sources = [source for source, body in bodies.items() if text in body]
        if not sources:
            found.append(f"{where}: not word for word in any article: {sentence[:80]!r}")
            continue
        texts.append(text)
        if not set(sources) & set(question.get("answer_sources") or []):
            found.append(f"{where}: answer_sources does not name {sources[0]!r}, where {sentence[:50]!r} stands")
    must_contain = question.get("must_contain") or []
    if not 1 <= len(must_contain) <= 3:
        found.append(f"{where}: must_contain needs 1 to 3 elements, not {len(must_contain)}")
    for element in must_contain:
        options = element if isinstance(element, list) else [element]
        if not any(collapse(option) in text for option in options for text in texts):
            found.append(f"{where}: must_contain {element!r} stands in none of the answer sentences")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the corpus folder (articles/, statistics/)")
    args = parser.parse_args()
    bodies, rows = article_bodies(args.corpus), statistic_rows(args.corpus)
    every = [problem for path in args.files for problem in problems(path, bodies, rows)]
    print("\n".join([*every, f"{len(every)} problems"]))
    sys.exit(1 if every else 0)


if __name__ == "__main__":
    main()

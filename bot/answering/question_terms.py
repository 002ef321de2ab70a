"""What a question asks about: its terms, its names and numbers, and the words that report the same thing."""
from __future__ import annotations

import re

from embeddings.tokenizer import ABBREVIATIONS, STOPWORDS, US_ABBREVIATION, stem, words
from knowledge.languages import fold_accents
from knowledge.related_words import BUNDLED_RELATED_WORDS, read_related_words

# Words a question carries that say nothing about what it is after ("actually", "please").
FILLER = frozenset(
    ["actually", "really", "exactly", "just", "ever", "still", "even", "currently", "basically", "please", "know",
     "want", "like", "anyone", "someone", "thing", "things", "kind", "sort", "happen", "happened", "happens", "go",
     "going", "went", "mean", "means", "anything", "something", "does", "make", "made", "use", "used", "way", "ways",
     "one", "date", "exact", "precise", "specific"]
)


def names_and_numbers(question: str) -> set[str]:
    """Stems of the question's proper names (capitalised, not first word) and numbers: what it is about."""
    found: set[str] = set()
    text = US_ABBREVIATION.sub("US", question)
    for i, match in enumerate(re.finditer(r"\d+(?:[,.]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", text)):
        token = match.group()
        if token[0].isdigit():
            found.add(token.replace(",", ""))
        elif i > 0 and token[0].isupper() and token.lower() not in STOPWORDS and token.lower() not in FILLER:
            word = token.lower().removesuffix("'s")
            found.add(stem(ABBREVIATIONS.get(word, word)))
    return found


def question_terms(question: str, ignore: frozenset[str] = frozenset()) -> list[str]:
    """BM25 tokens of a question without filler words (nor words in `ignore`, accents aside), each once, in order."""
    seen: dict[str, None] = {}
    for word in words(question):
        word = word.removesuffix("'s")
        if word in STOPWORDS or word in FILLER or (len(word) == 1 and not word.isdigit()):
            continue
        if ignore and fold_accents(word) in ignore:
            continue
        seen.setdefault(stem(word), None)
    return list(seen)


def related_table(groups: list[str]) -> dict[str, frozenset[str]]:
    """Each stem of a group of words that report the same thing, mapped to the stems of the whole group."""
    table: dict[str, set[str]] = {}
    for group in groups:
        stems = {stem(w) for w in group.split()}
        for one in stems:
            table.setdefault(one, set()).update(stems)
    return {k: frozenset(v) for k, v in table.items()}


# The program's own vocabulary is corpus data: the bundled corpus's related_words.yaml.
RELATED_STEMS = related_table(read_related_words(BUNDLED_RELATED_WORDS))


def accepted_forms(term: str) -> frozenset[str]:
    """The stem itself and the stems of words that report the same thing."""
    return RELATED_STEMS.get(term, frozenset()) | {term}

"""Word tokens for BM25 and term checks: lowercase, numbers without commas, stemmed, no stopwords."""
from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from knowledge.languages import fold_accents

STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be",
     "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
     "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
     "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
     "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once",
     "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some",
     "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
     "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
     "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
     "yourselves", "s", "t", "don", "shouldn", "wasn", "weren", "won", "didn", "doesn", "isn", "aren", "hasn",
     "haven", "also", "get", "got", "many", "much", "did", "tell", "say", "said"]
)
_WORD = re.compile(r"\d+(?:[,.]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_US = re.compile(r"\bU\.S\.(?:A\.)?", re.I)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


# Title abbreviations, so "Gov. Patrick" and "Governor Patrick" share their words.
_ABBREVIATIONS = {"gov": "governor", "govs": "governors", "sen": "senator", "rep": "representative",
                  "dept": "department", "govt": "government", "atty": "attorney", "sec": "secretary"}


def words(text: str) -> list[str]:
    """Lowercased words and numbers as written ('1,000' becomes '1000')."""
    out = []
    text = _US.sub("us", text)  # "U.S." would otherwise become two dropped letters
    for match in _WORD.finditer(text.lower()):
        token = match.group().replace("’", "'")
        if token[0].isdigit():
            token = token.replace(",", "").rstrip("%")
        out.append(_ABBREVIATIONS.get(token, token))
    return out


def tokenize(text: str) -> list[str]:
    """BM25 tokens: words minus stopwords, stemmed (possessive 's dropped)."""
    tokens = []
    for word in words(text):
        word = word.removesuffix("'s")
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        tokens.append(_stem(word))
    return tokens


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
    text = _US.sub("US", question)
    for i, match in enumerate(re.finditer(r"\d+(?:[,.]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", text)):
        token = match.group()
        if token[0].isdigit():
            found.add(token.replace(",", ""))
        elif i > 0 and token[0].isupper() and token.lower() not in STOPWORDS and token.lower() not in FILLER:
            word = token.lower().removesuffix("'s")
            found.add(_stem(_ABBREVIATIONS.get(word, word)))
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
        seen.setdefault(_stem(word), None)
    return list(seen)


# Words people ask with, and the words sources report the same event with. Plain English, not tuned to
# particular questions: a question's "end" is answered by a sentence saying "discontinued".
_RELATED_WORDS = [
    "start begin began begun launch launched introduce introduced announce created create inception first",
    "end ended stop stopped discontinue discontinued terminate terminated scrap scrapped abolish abolished halt "
    "halted cease ceased replace replaced rescind rescinded",
    "join sign signed participate participation enroll agree agreement",
    "refuse refused decline declined reject rejected withdraw withdrew pull opt suspend suspended",
    "deport deported deportation remove removed removal",
    "activate activated activation switch switched implement implemented impose imposed rollout",
    "arrest arrested detain detained detention book booked booking hold held custody",
    "support supported back backed endorse endorsed favor",
    "oppose opposed opposition criticize criticized object objected",
    "mandatory required require compulsory voluntary optional obligation obligated",
    "revive revived reinstate reinstated restore restored return returned resume resumed back",
    "court judge ruling ruled ruled lawsuit",
    "law act statute ordinance bill legislation",
    "reason why because cause",
    "citizen citizens",
]


def _related_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for group in _RELATED_WORDS:
        stems = {_stem(w) for w in group.split()}
        for stem in stems:
            table.setdefault(stem, set()).update(stems)
    return {k: frozenset(v) for k, v in table.items()}


RELATED_STEMS = _related_table()


def accepted_forms(term: str) -> frozenset[str]:
    """The stem itself and the stems of words that report the same thing."""
    return RELATED_STEMS.get(term, frozenset()) | {term}

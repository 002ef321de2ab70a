"""The BM25 tokenizer: lowercase words, numbers without commas, stemmed, no stopwords.

Every stored BM25 index records TOKENIZER_FINGERPRINT, the hash of this file: any edit here makes stored
indexes stale and `citebot index` rebuild them. Question analysis lives elsewhere (bot/answering/question_terms.py)
so that editing it leaves stored indexes valid.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import Stemmer

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
US_ABBREVIATION = re.compile(r"\bU\.S\.(?:A\.)?", re.I)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English stem of a lowercase word."""
    return _stemmer.stemWord(word)


# Title abbreviations, so "Gov. Patrick" and "Governor Patrick" share their words.
ABBREVIATIONS = {"gov": "governor", "govs": "governors", "sen": "senator", "rep": "representative",
                  "dept": "department", "govt": "government", "atty": "attorney", "sec": "secretary"}


def words(text: str) -> list[str]:
    """Lowercased words and numbers as written ('1,000' becomes '1000')."""
    out = []
    text = US_ABBREVIATION.sub("us", text)  # "U.S." would otherwise become two dropped letters
    for match in _WORD.finditer(text.lower()):
        token = match.group().replace("’", "'")
        if token[0].isdigit():
            token = token.replace(",", "").rstrip("%")
        out.append(ABBREVIATIONS.get(token, token))
    return out


def tokenize(text: str) -> list[str]:
    """BM25 tokens: words minus stopwords, stemmed (possessive 's dropped)."""
    tokens = []
    for word in words(text):
        word = word.removesuffix("'s")
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        tokens.append(stem(word))
    return tokens


TOKENIZER_FINGERPRINT = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()

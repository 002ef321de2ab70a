"""Sentence splitting that knows the abbreviations news text is full of."""
from __future__ import annotations

import re

# Words that end with a period without ending the sentence ("Gov. Patrick", "Aug. 5").
ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "prof", "gov", "sen", "rep", "reps", "sens", "lt", "col", "gen", "sgt", "capt", "st",
     "jr", "sr", "inc", "co", "corp", "ltd", "dept", "no", "nos", "vs", "v", "etc", "al", "approx", "est", "fig",
     "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu",
     "fri", "sat", "sun", "u.s", "u.s.a", "u.k", "d.c", "a.m", "p.m", "e.g", "i.e", "ph.d", "b.a", "m.a", "n.y",
     "l.a", "cf", "ca", "op", "pp", "vol", "ed", "eds", "rev", "hon", "pres", "sec", "supt", "atty", "mass", "calif",
     "ill", "conn", "ore", "wash", "va", "tex", "fla", "ariz", "colo", "mich", "minn", "md", "del", "nev", "okla"]
)

# A candidate boundary: end punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
_STARTS_SENTENCE = re.compile(r"[\"'“‘(\[]?[A-Z0-9$]")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _is_abbreviation(text_before: str) -> bool:
    """True when the word ending at a period is a known abbreviation or an initial."""
    word = re.split(r"[\s(\[\"“]", text_before)[-1].lower().rstrip(".")
    if not word:
        return False
    if word in ABBREVIATIONS:
        return True
    # Single initials ("H. Michael Steinberg") and dotted acronyms ("U.S.").
    return (len(word) == 1 and word.isalpha()) or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def split_paragraph(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of one paragraph."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.end()
        following = paragraph[end:]
        if not following or not _STARTS_SENTENCE.match(following):
            continue
        punct_at = match.start()
        if paragraph[punct_at] == "." and _is_abbreviation(paragraph[start:punct_at]):
            continue
        spans.append((start, match.end() - len(match.group()) + len(match.group().rstrip())))
        start = end
    if paragraph[start:].strip():
        spans.append((start, len(paragraph.rstrip())))
    return [(a, b) for a, b in spans if paragraph[a:b].strip()]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of every sentence in text; paragraph breaks always end a sentence."""
    spans: list[tuple[int, int]] = []
    for paragraph_match in re.finditer(r"(?s).+?(?:\n\s*\n|\Z)", text):
        paragraph = paragraph_match.group()
        offset = paragraph_match.start()
        for a, b in split_paragraph(paragraph):
            lead = len(paragraph[a:b]) - len(paragraph[a:b].lstrip())
            spans.append((offset + a + lead, offset + b))
    return spans


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces inside lines and keep paragraph breaks as one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH.split(text)]
    return "\n\n".join(p for p in paragraphs if p)

"""What kind of thing a question asks for, and whether a sentence holds that kind of thing."""
from __future__ import annotations

import enum
import re


class Wants(enum.Enum):
    """The kind of answer a question asks for."""

    ANYTHING = "anything"
    NUMBER = "number"
    DATE = "date"
    DAY = "day"  # "on what date", "exact date": a year alone does not answer
    REASON = "reason"
    OBLIGATION = "obligation"  # "Does my jail have to...?", "Is it mandatory?", "Can my state opt out?"


# The kinds of question a statistics row (a figure with its as-of date) can answer.
FIGURE_WANTS = frozenset({Wants.NUMBER, Wants.DATE, Wants.DAY})

_NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|often|large|big)|what (percentage|percent|share|proportion|fraction|number|portion|amount)"
    r"|what was the (total|number|share|amount))\b"
    # Spanish: cuántos/cuántas, qué porcentaje/parte/cantidad (accents optional: members often skip them)
    r"|\bcu[aá]nt[oa]s?\b|\b(qu[eé]|q) (porcentaje|proporci[oó]n|parte|cantidad|n[uú]mero|cifra)\b", re.I)
_DATE_QUESTION = re.compile(r"^\s*(when|since when)\b|\b(what|which) (year|date|month|day)\b"
                            r"|\bwhen (did|was|were|is|does|do)\b"
                            r"|^\W*(desde )?cu[aá]ndo\b|\bcu[aá]ndo\b|\b(qu[eé]|q|cu[aá]l) (a[nñ]o|fecha|mes|d[ií]a)\b",
                            re.I)
_REASON_QUESTION = re.compile(r"^\s*why\b|\b(what|which) (were|was|are|is) the reasons?\b"
                              r"|\breasons? (for|why)\b|\bwhy did\b"
                              r"|\bpor ?qu[eé]\b|\b(pq|xq)\b|\braz[oó]n(es)?\b|\bmotivos?\b", re.I)

# Yes/no questions about duty or permission: the answer is a sentence about what is required or allowed.
_OBLIGATION_QUESTION = re.compile(
    r"\b(have|has|had) to\b|\b(must|required|obliged|obligated|mandatory|compulsory|voluntary|optional|allowed"
    r"|permitted|legal|illegal|lawful|unlawful)\b|\b(can|could|may) (i|we|they|you|my|our|a|an|the|it|he|she)\b"
    r"|\b(are|is) .{0,40}\b(forced|obliged|bound)\b", re.I)
# Spanish yes/no questions have no opening word like "do" or "is": the duty words alone say it.
_OBLIGATION_QUESTION_ES = re.compile(
    r"\b(tiene[ns]? que|deben?|obligad[oa]s?|obligatori[oa]s?|voluntari[oa]s?|opcional|permitid[oa]|ilegal"
    r"|se pod[ií]an? (negar|rechazar|salir)|pueden? (negarse|rechazar|salirse))\b", re.I)
_YES_NO_START = re.compile(r"^\s*(do|does|did|is|are|was|were|can|could|may|must|should|will|would|has|have)\b", re.I)
_HAS_OBLIGATION = re.compile(
    r"\b(obligat\w*|must|required?|requir(?:es|ing|ement)|mandatory|compulsory|voluntary|optional"
    r"|opt(?:ed|ing)?[- ]?out|cannot|can't|could not|may not|not allowed|allowed|permitted|forced|compel\w*"
    r"|binding|requests?|orders?|law(?:ful)?"
    r"|unlawful|illegal|legal(?:ly)?|declin\w*|refus\w*|choice|no way)\b", re.I)

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
# Spanish months: Spanish summaries write dates as "20 de noviembre de 2014".
_MONTH_ES = r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)"
_YEAR = r"\b(?:19|20)\d{2}\b"
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)days?"
_HAS_DATE = re.compile(rf"{_YEAR}|\b{_MONTH_ES}\b|\b{_MONTH}\.? \d{{1,2}}\b|\b(?:fy|fiscal year) ?\d{{2,4}}\b"
                       rf"|\b{_WEEKDAY}\b"
                       r"|\b\d{1,2}(?::\d{2})? ?[ap]\.?m\b", re.I)
_SPELLED = (r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty"
            r"|hundred|thousand|million|billion|half|quarter|third|fifth|dozens?|majority|minority|most|none)\b")
_HAS_REASON = re.compile(
    r"\b(because|due to|reasons?|concerns?|concerned|fears?|feared|worr(?:y|ied|ies)|cit(?:ed|ing)|argued"
    r"|so that|in order to|too broad|overbroad|deter\w*|profiling|undermin\w*|failing|not meeting|risk"
    r"|porque|debido a|raz[oó]n(?:es)?|motivos?|preocupaci[oó]n\w*|tem[ií]a\w*|para que|argument\w*)\b", re.I)


_DAY_QUESTION = re.compile(r"\b(what|which|exact|precise|specific) (date|day)\b|\bon what (date|day)\b"
                           r"|\b(qu[eé]|q|cu[aá]l) (fecha|d[ií]a)\b|\bfecha exacta\b", re.I)
_HAS_DAY = re.compile(rf"\b{_MONTH}\.? \d{{1,2}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}} de {_MONTH_ES}\b", re.I)
# Sentences that ask rather than tell ("X asked whether Y") restate a question; they do not answer one.
_ASKS = re.compile(r"\?\s*[\"”']?$|\b(asked|asks|wondered|asking) (whether|if)\b", re.I)


def classify(question: str) -> Wants:
    """Classify the question by its wording (number, day, date, reason, or anything)."""
    if _NUMBER_QUESTION.search(question):
        return Wants.NUMBER
    if _REASON_QUESTION.search(question):
        return Wants.REASON
    if _DAY_QUESTION.search(question):
        return Wants.DAY
    if _DATE_QUESTION.search(question):
        return Wants.DATE
    if _YES_NO_START.search(question) and _OBLIGATION_QUESTION.search(question):
        return Wants.OBLIGATION
    if _OBLIGATION_QUESTION_ES.search(question):
        return Wants.OBLIGATION
    return Wants.ANYTHING


def _has_count(sentence: str) -> bool:
    """A figure that is not merely a year or a day of the month."""
    without_dates = re.sub(rf"\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?\b,?|{_YEAR}|\b(?:fy|fiscal year) ?\d{{2,4}}\b",
                           " ", sentence, flags=re.I)
    return bool(re.search(r"\d", without_dates) or re.search(_SPELLED, without_dates, re.I))


def holds(wants: Wants, sentence: str) -> bool:
    """True when the sentence contains the kind of thing the question wants."""
    if wants is Wants.NUMBER:
        return _has_count(sentence)
    if wants is Wants.DATE:
        return bool(_HAS_DATE.search(sentence))
    if wants is Wants.DAY:
        return bool(_HAS_DAY.search(sentence))
    if wants is Wants.REASON:
        return bool(_HAS_REASON.search(sentence))
    if wants is Wants.OBLIGATION:
        return bool(_HAS_OBLIGATION.search(sentence))
    return True


def asks_rather_than_tells(sentence: str) -> bool:
    """True for a sentence that is itself a question or reports one being asked."""
    return bool(_ASKS.search(sentence.strip()))

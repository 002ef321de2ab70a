"""Source dates: full, month-only, year-only, or undated."""
from __future__ import annotations

import datetime as dt
import re

from knowledge.languages import DEFAULT_LANGUAGE, SPANISH

UNDATED = "undated"
_PATTERNS = (("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"), ("%Y-%m", r"\d{4}-\d{2}"), ("%Y", r"\d{4}"))
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre"]
_UNDATED_IN = {SPANISH: "sin fecha"}


def is_valid_date(text: str) -> bool:
    """True for YYYY-MM-DD, YYYY-MM, YYYY (real calendar dates) or 'undated'."""
    if text == UNDATED:
        return True
    for fmt, pattern in _PATTERNS:
        if re.fullmatch(pattern, text):
            try:
                dt.datetime.strptime(text, fmt)
            except ValueError:
                return False
            return True
    return False


def human_date(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """'2011-06-06' -> 'June 6, 2011' (in Spanish '6 de junio de 2011'); partial dates keep only what they know."""
    if not is_valid_date(text) or text == UNDATED:
        return (text or UNDATED) if language == DEFAULT_LANGUAGE else _UNDATED_IN.get(language, text or UNDATED)
    parts = [int(p) for p in text.split("-")]
    if language == SPANISH:
        if len(parts) == 3:
            return f"{parts[2]} de {_MONTHS_ES[parts[1] - 1]} de {parts[0]}"
        if len(parts) == 2:
            return f"{_MONTHS_ES[parts[1] - 1]} de {parts[0]}"
        return str(parts[0])
    if len(parts) == 3:
        return f"{_MONTHS[parts[1] - 1]} {parts[2]}, {parts[0]}"
    if len(parts) == 2:
        return f"{_MONTHS[parts[1] - 1]} {parts[0]}"
    return str(parts[0])

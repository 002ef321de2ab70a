"""Text made safe for Discord: markdown escaped, mentions neutralised, lengths counted conservatively."""
from __future__ import annotations

import re

import discord

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000

ELLIPSIS = "…"
# Bidirectional overrides and isolates can make the rest of a line read backwards (spoofing);
# ordinary right-to-left text does not need them.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_MARKER_END = re.compile(r"(?<=\[\d\])\s+|(?<=\[\d\d\])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TRAILING_MARKER = re.compile(r"^(.*?)(\s*\[\d+\])$", re.DOTALL)


def discord_len(text: str) -> int:
    """Length in UTF-16 code units: never less than Discord's count, whichever way it counts."""
    return len(text.encode("utf-16-le")) // 2


def safe(text: str) -> str:
    """User or source text that renders as written: no markdown, no mentions, no direction tricks."""
    text = _BIDI_CONTROLS.sub("", text)
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _cut(text: str, limit: int) -> str:
    """The longest prefix of text within limit code units (never splitting a surrogate pair)."""
    if discord_len(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit:
            break
        out.append(ch)
        used += size
    return "".join(out)


def _drop_dangling_escape(text: str) -> str:
    """Remove a lone trailing backslash left by cutting an escape sequence in two."""
    stripped = text.rstrip("\\")
    if (len(text) - len(stripped)) % 2:
        return text[:-1]
    return text


def clip(text: str, limit: int) -> str:
    """Text within limit, cut at a word boundary when one is near, with an ellipsis when cut."""
    if discord_len(text) <= limit:
        return text
    if limit <= discord_len(ELLIPSIS):
        return _cut(text, limit)
    head = _cut(text, limit - discord_len(ELLIPSIS))
    space = head.rfind(" ")
    if space >= len(head) * 2 // 3:  # prefer a word boundary unless it throws away a third
        head = head[:space]
    return _drop_dangling_escape(head.rstrip()) + ELLIPSIS


def answer_units(answer_text: str) -> list[str]:
    """The answer's cited sentences ("... [1]"), or plain sentences when it has no markers."""
    text = answer_text.strip()
    if not text:
        return []
    if _TRAILING_MARKER.match(text):  # an answer: split after each citation marker
        return [u for u in _MARKER_END.split(text) if u.strip()]
    return [u for u in _SENTENCE_END.split(text) if u.strip()]


def shorten(units: list[str], limit: int, note: str) -> str:
    """Whole units joined within limit; when some must go, the note is appended (also within limit)."""
    full = " ".join(units)
    if discord_len(full) <= limit:
        return full
    budget = limit - discord_len(note)
    kept: list[str] = []
    for unit in units:
        candidate = " ".join([*kept, unit])
        if discord_len(candidate) > budget:
            break
        kept.append(unit)
    if not kept and units and budget > 0:
        # Not even the first sentence fits: cut it, but keep its citation marker.
        match = _TRAILING_MARKER.match(units[0])
        body, marker = (match.group(1), match.group(2)) if match else (units[0], "")
        kept = [clip(body, max(0, budget - discord_len(marker))) + marker]
    shortened = " ".join(kept) + note
    return _cut(shortened, limit)

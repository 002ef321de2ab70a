"""Aliases: abbreviations in questions mapped to the words the sources use."""
from __future__ import annotations

import re
from pathlib import Path

from knowledge.errors import SourceReadError

ALIASES_FILE = "aliases.yaml"


def read_aliases(path: Path) -> dict[str, str]:
    """Read an aliases.yaml mapping (alias: meaning); a malformed file is a SourceReadError."""
    import yaml  # imported on first use: answering a question reads no YAML

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SourceReadError(str(path), f"cannot be read as 'alias: meaning' lines ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise SourceReadError(str(path), "must hold 'alias: meaning' lines of text")
    return {k.strip(): v.strip() for k, v in data.items() if k.strip() and v.strip()}


def expand_aliases(question: str, aliases: dict[str, str]) -> str:
    """Replace every whole-word alias (case-insensitive, longest first) with its meaning."""
    if not aliases:
        return question
    ordered = sorted(aliases, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(a) for a in ordered) + r")(?![\w-])", re.I)
    lookup = {a.lower(): aliases[a] for a in ordered}
    return pattern.sub(lambda m: lookup[m.group(1).lower()], question)

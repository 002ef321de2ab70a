"""Related words: groups of words a question and a source may use for the same thing, read from corpus data."""
from __future__ import annotations

from pathlib import Path

from knowledge.errors import SourceReadError

RELATED_WORDS_FILE = "related_words.yaml"
BUNDLED_RELATED_WORDS = Path(__file__).parent / "corpus" / RELATED_WORDS_FILE


def read_related_words(path: Path) -> list[str]:
    """The groups of a related_words.yaml (a list of space-separated words); malformed is a SourceReadError."""
    import yaml  # imported on first use, as for aliases

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SourceReadError(str(path), f"cannot be read as a list of word groups ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(group, str) and group.split() for group in data):
        raise SourceReadError(str(path), "must be a list of lines, each a group of words separated by spaces")
    return [" ".join(group.lower().split()) for group in data]

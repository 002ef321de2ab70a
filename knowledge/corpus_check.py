"""The corpus check: complete front matter, unique ids, valid dates and URLs, valid statistics rows."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlparse

from knowledge.corpus_loader import source_files
from knowledge.dates import is_valid_date
from knowledge.errors import SourceReadError
from knowledge.frontmatter import FrontMatterError, split_front_matter
from knowledge.readers import STATISTICS_COLUMNS, decode_text, read_source_file

REQUIRED_FRONT_MATTER = ("id", "title", "publisher", "published", "url", "kind")


def is_well_formed_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no spaces."""
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and "." in parsed.netloc and " " not in url


def _check_markdown(path: Path) -> list[str]:
    problems = []
    try:
        meta, body = split_front_matter(decode_text(path.read_bytes(), str(path)))
    except (FrontMatterError, SourceReadError) as exc:
        return [f"{path}: {exc}"]
    if not meta:
        return [f"{path}: has no front matter (--- block with {', '.join(REQUIRED_FRONT_MATTER)})"]
    for key in REQUIRED_FRONT_MATTER:
        if not str(meta.get(key) or "").strip():
            problems.append(f"{path}: front matter lacks {key!r}")
    if meta.get("url") and not is_well_formed_url(str(meta["url"])):
        problems.append(f"{path}: url {meta['url']!r} is not a well-formed http(s) URL")
    if len(body.split()) < 20:
        problems.append(f"{path}: body has fewer than 20 words")
    return problems


def _check_csv(path: Path) -> list[str]:
    problems = []
    try:
        rows = list(csv.DictReader(io.StringIO(decode_text(path.read_bytes(), str(path)))))
    except (SourceReadError, csv.Error) as exc:
        return [f"{path}: {exc}"]
    for line, row in enumerate(rows, start=2):
        # DictReader puts surplus fields under the key None and fills missing ones with None.
        count = sum(1 for k, v in row.items() if k is not None and v is not None) + len(row.get(None) or [])
        if count != len(STATISTICS_COLUMNS):
            problems.append(f"{path}:{line}: has {count} columns, expected {len(STATISTICS_COLUMNS)}")
            continue
        url = (row.get("source_url") or "").strip()
        if url and not is_well_formed_url(url):
            problems.append(f"{path}:{line}: source_url {url!r} is not a well-formed http(s) URL")
        if not re.search(r"\d|half|quarter|one|two|three|four|five|majority|none|all", row.get("value") or "", re.I):
            problems.append(f"{path}:{line}: value {row.get('value')!r} holds no figure")
        date = (row.get("source_date") or "").strip()
        if not date:
            problems.append(f"{path}:{line}: source_date is empty (use YYYY-MM-DD, YYYY-MM, YYYY or 'undated')")
        elif not is_valid_date(date):
            problems.append(f"{path}:{line}: source_date {date!r} is not a valid date")
    return problems


def check_corpus(folder: Path) -> list[str]:
    """Every problem found in the corpus folder; an empty list means it passes."""
    problems: list[str] = []
    seen: dict[str, Path] = {}
    files = source_files(folder)
    if not files:
        return [f"{folder}: no source files found"]
    for path in files:
        suffix = path.suffix.lower()
        if suffix in (".md", ".markdown"):
            problems += _check_markdown(path)
        elif suffix == ".csv":
            problems += _check_csv(path)
        try:
            result = read_source_file(path)
        except SourceReadError as exc:
            problems.append(str(exc))
            continue
        for source in result.sources:
            if source.id in seen:
                problems.append(f"{path}: id {source.id!r} is also used by {seen[source.id]}")
            seen[source.id] = path
    return problems

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
from knowledge.records import Source

REQUIRED_FRONT_MATTER = ("id", "title", "publisher", "published", "url", "kind")
# A summary of another source (often in another language) takes its citation from that source.
REQUIRED_SUMMARY_FRONT_MATTER = ("id", "summary_of", "language", "kind")
_NUMBER = re.compile(r"\d+(?:[.,\u00a0 ]\d{3})*(?:[.,]\d+)?")


def figures_in(text: str) -> set[str]:
    """Every number in the text, written one way: '1,400', '1.400' and '1 400' are all '1400'; '3,5' is '3.5'."""
    found = set()
    for number in _NUMBER.findall(text):
        number = re.sub(r"[.,\u00a0 ](?=\d{3}(?!\d))", "", number)  # thousands separators, in either style
        found.add(number.replace(",", "."))
    return found


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
    required = REQUIRED_SUMMARY_FRONT_MATTER if meta.get("summary_of") else REQUIRED_FRONT_MATTER
    if not meta:
        return [f"{path}: has no front matter (--- block with {', '.join(REQUIRED_FRONT_MATTER)})"]
    for key in required:
        if not str(meta.get(key) or "").strip():
            problems.append(f"{path}: front matter lacks {key!r}")
    if meta.get("url") and not is_well_formed_url(str(meta["url"])):
        problems.append(f"{path}: url {meta['url']!r} is not a well-formed http(s) URL")
    if len(body.split()) < 20:
        problems.append(f"{path}: body has fewer than 20 words")
    return problems


def _check_summaries(sources: dict[str, Source]) -> list[str]:
    """Each summary of another source names a source in the corpus, and every figure in it stands in that source."""
    problems = []
    for source in sources.values():
        if not source.summary_of:
            continue
        original = sources.get(source.summary_of)
        if original is None:
            problems.append(f"{source.path}: summary_of names {source.summary_of!r}, which is not a source in "
                            "this corpus")
            continue
        missing = sorted(figures_in(source.text) - figures_in(original.text))
        if missing:
            problems.append(f"{source.path}: the figures {', '.join(missing)} do not appear in "
                            f"{source.summary_of!r}, the source it summarizes; copy each figure exactly from it")
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
    read: dict[str, Source] = {}
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
            read[source.id] = source
    return problems + _check_summaries(read)

"""Readers that turn source files (md, txt, html, pdf, statistics csv) into records."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.dates import UNDATED, is_valid_date
from knowledge.errors import SourceReadError
from knowledge.frontmatter import FrontMatterError, split_front_matter
from knowledge.languages import LANGUAGES, check_language, detect_language
from knowledge.records import SHARED_SCOPE, SOURCE_KINDS, STATISTIC_KIND, Source, StatisticRow
from knowledge.sentences import normalise_whitespace

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".html", ".htm", ".pdf", ".csv")
MAX_FILE_BYTES = 20 * 1024 * 1024
STATISTICS_COLUMNS = (
    "id", "statistic", "value", "unit", "scope", "as_of",
    "source_title", "source_publisher", "source_date", "source_url", "note",
)
_REQUIRED_STAT_FIELDS = ("id", "statistic", "value", "as_of", "source_title", "source_publisher", "source_url")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ReadResult:
    """What one file yielded: sources (a CSV gives one per row) and statistics rows."""

    sources: tuple[Source, ...] = ()
    statistics: tuple[StatisticRow, ...] = ()


@dataclass(frozen=True)
class SourceDefaults:
    """Metadata used when a file does not carry its own (uploads, plain text)."""

    publisher: str = "unknown publisher"
    published: str = UNDATED
    kind: str = "article"
    url: str = ""
    scope: str = SHARED_SCOPE
    added_by: str = ""


def slugify(text: str) -> str:
    """'Mass. Won't Participate!' -> 'mass-won-t-participate'."""
    return _SLUG.sub("-", text.lower()).strip("-")[:80] or "source"


def decode_text(data: bytes, path: str) -> str:
    """Decode UTF-8 (with or without BOM), falling back to Windows-1252; refuse binary data."""
    if b"\x00" in data[:4096]:
        raise SourceReadError(path, "looks like a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise SourceReadError(path, "is neither UTF-8 nor Windows-1252 text; save it as UTF-8") from None


def _strip_markdown(body: str) -> str:
    """Drop Markdown syntax that would look odd inside a quoted sentence."""
    body = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", body)  # images
    body = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", body)  # links keep their text
    body = re.sub(r"(?m)^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$", r"\1\n", body)  # headings become paragraphs
    body = re.sub(r"(?m)^\s*(?:[-*+]|\d+[.)])\s+", "", body)  # list markers
    body = re.sub(r"(\*\*|__|\*|`)", "", body)
    return body


def _source_from_metadata(meta: dict, body: str, path: Path, defaults: SourceDefaults) -> Source:
    """Build a Source from front matter (or defaults) and check the fields it must have."""
    where = str(path)
    text = normalise_whitespace(body)
    if not text:
        raise SourceReadError(where, "has no text after its front matter")
    summary_of = str(meta.get("summary_of") or "").strip()
    # A summary of another source takes that source's citation (title, publisher, date, link) when loaded.
    title = str(meta.get("title") or "").strip() or ("" if summary_of else text.split("\n", 1)[0][:200])
    declared = str(meta.get("language") or "").strip()
    language = check_language(declared) if declared else detect_language(text)
    if language is None:
        raise SourceReadError(where, f"language {declared!r} is not one of {', '.join(LANGUAGES)}")
    source = Source(
        id=str(meta.get("id") or slugify(path.stem)),
        title=title,
        publisher=str(meta.get("publisher") or ("" if summary_of else defaults.publisher)).strip(),
        published=str(meta.get("published") or defaults.published).strip(),
        kind=str(meta.get("kind") or defaults.kind).strip(),
        text=text,
        url=str(meta.get("url") or ("" if summary_of else defaults.url)).strip(),
        author=str(meta.get("author") or "").strip(),
        path=where,
        scope=defaults.scope,
        added_by=defaults.added_by,
        language=language,
        summary_of=summary_of,
    )
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", source.id):
        raise SourceReadError(where, f"id {source.id!r} must be a lowercase slug (letters, digits, dashes)")
    if summary_of and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", summary_of):
        raise SourceReadError(where, f"summary_of {summary_of!r} must be the id of another source")
    if not is_valid_date(source.published):
        raise SourceReadError(where, f"published {source.published!r} is not YYYY-MM-DD, YYYY-MM, YYYY or 'undated'")
    if source.kind not in SOURCE_KINDS:
        raise SourceReadError(where, f"kind {source.kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    return source


def read_text_source(path: Path, data: bytes, defaults: SourceDefaults) -> Source:
    """A Markdown or text file, with optional YAML front matter."""
    text = decode_text(data, str(path))
    try:
        meta, body = split_front_matter(text)
    except FrontMatterError as exc:
        raise SourceReadError(str(path), str(exc)) from None
    if path.suffix.lower() in (".md", ".markdown"):
        body = _strip_markdown(body)
    return _source_from_metadata(meta, body, path, defaults)


def read_html_source(path: Path, data: bytes, defaults: SourceDefaults) -> Source:
    """An HTML page: main text and metadata extracted with trafilatura."""
    import trafilatura  # imported here: it is slow to import and only ingest needs it

    html = decode_text(data, str(path))
    body = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=True)
    if not body or not body.strip():
        raise SourceReadError(str(path), "has no readable main text (is it a real article page?)")
    found = trafilatura.extract_metadata(html)
    meta: dict = {}
    if found is not None:
        meta = {"title": found.title, "publisher": found.sitename, "author": found.author, "url": found.url}
        if found.date and is_valid_date(found.date[:10]):
            meta["published"] = found.date[:10]
    return _source_from_metadata({k: v for k, v in meta.items() if v}, body, path, defaults)


def read_pdf_source(path: Path, data: bytes, defaults: SourceDefaults) -> Source:
    """A PDF document: text of every page, title and author from its metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise SourceReadError(str(path), f"is not a readable PDF ({type(exc).__name__}: {exc})") from None
    # PDF text often breaks lines mid-sentence; keep blank-line paragraphs, join the rest.
    body = "\n\n".join(re.sub(r"(?<!\n)\n(?!\n)", " ", page) for page in pages)
    if not body.strip():
        raise SourceReadError(str(path), "has no extractable text (a scanned PDF needs OCR first)")
    meta = {"title": info.get("/Title"), "author": info.get("/Author")}
    return _source_from_metadata({k: str(v) for k, v in meta.items() if v}, body, path, defaults)


def read_statistics_csv(path: Path, data: bytes, defaults: SourceDefaults) -> ReadResult:
    """A statistics CSV: one figure per row, each row one quotable sentence."""
    where = str(path)
    reader = csv.DictReader(io.StringIO(decode_text(data, where)))
    try:
        header = tuple(reader.fieldnames or ())
    except csv.Error as exc:  # reading the header can fail too (a NUL or a broken quote)
        raise SourceReadError(where, f"is not valid CSV ({exc})") from None
    missing = [c for c in STATISTICS_COLUMNS if c not in header]
    if missing:
        raise SourceReadError(where, f"is missing the column(s) {', '.join(missing)}; "
                                     f"the header must be: {','.join(STATISTICS_COLUMNS)}")
    rows: list[StatisticRow] = []
    try:
        records = list(reader)
    except csv.Error as exc:
        raise SourceReadError(where, f"is not valid CSV ({exc})") from None
    for line, record in enumerate(records, start=2):
        values = {c: (record.get(c) or "").strip() for c in STATISTICS_COLUMNS}
        empty = [c for c in _REQUIRED_STAT_FIELDS if not values[c]]
        if empty:
            raise SourceReadError(f"{where}:{line}", f"row has empty {', '.join(empty)}")
        for column in ("as_of", "source_date"):
            if values[column] and not is_valid_date(values[column]):
                raise SourceReadError(f"{where}:{line}", f"{column} {values[column]!r} is not a valid date")
        rows.append(StatisticRow(**values, path=where))
    if not rows:
        raise SourceReadError(where, "has a header but no rows")
    sources = tuple(
        Source(id=row.id, title=row.source_title, publisher=row.source_publisher,
               published=row.source_date or UNDATED, kind=STATISTIC_KIND, text=row.sentence(),
               url=row.source_url, path=where, scope=defaults.scope, added_by=defaults.added_by)
        for row in rows
    )
    return ReadResult(sources=sources, statistics=tuple(rows))


def _check_size(path: Path, size: int) -> None:
    """Refuse a file over MAX_FILE_BYTES, saying both sizes."""
    if size > MAX_FILE_BYTES:
        raise SourceReadError(str(path), f"is {size // 1_000_000} MB; the limit is {MAX_FILE_BYTES // 1_000_000} MB")


def read_source_bytes(path: Path, data: bytes, defaults: SourceDefaults = SourceDefaults()) -> ReadResult:
    """Read one source given its name and bytes; raises SourceReadError with the reason."""
    suffix = path.suffix.lower()
    _check_size(path, len(data))
    if not data.strip():
        raise SourceReadError(str(path), "is empty")
    if suffix in TEXT_SUFFIXES:
        return ReadResult(sources=(read_text_source(path, data, defaults),))
    if suffix in (".html", ".htm"):
        return ReadResult(sources=(read_html_source(path, data, defaults),))
    if suffix == ".pdf":
        return ReadResult(sources=(read_pdf_source(path, data, defaults),))
    if suffix == ".csv":
        return read_statistics_csv(path, data, defaults)
    raise SourceReadError(str(path), f"has an unsupported type {suffix or '(none)'}; "
                                     f"use one of {', '.join(SUPPORTED_SUFFIXES)}")


def read_source_file(path: Path, defaults: SourceDefaults = SourceDefaults()) -> ReadResult:
    """Read one source file from disk."""
    try:
        _check_size(path, path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise SourceReadError(str(path), f"cannot be opened ({exc.strerror or exc})") from None
    return read_source_bytes(path, data, defaults)

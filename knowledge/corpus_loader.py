"""Load every source under a set of folders, reporting unreadable files instead of stopping."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from knowledge.aliases import ALIASES_FILE, read_aliases
from knowledge.errors import SourceReadError
from knowledge.readers import SUPPORTED_SUFFIXES, SourceDefaults, read_source_file
from knowledge.records import SHARED_SCOPE, Source, StatisticRow

BUNDLED_CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class CorpusFolder:
    """A folder of sources and the defaults (scope, uploader) its files get."""

    path: Path
    defaults: SourceDefaults = SourceDefaults()


@dataclass(frozen=True)
class Corpus:
    """Everything that was read, and every file that was skipped with its reason."""

    sources: tuple[Source, ...]
    statistics: tuple[StatisticRow, ...]
    problems: tuple[SourceReadError, ...]
    aliases: tuple[tuple[str, str], ...] = ()


def source_files(folder: Path) -> list[Path]:
    """Every supported file under folder, in a stable order, skipping hidden and README files."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.name.lower() != "readme.md"
    )


def load_corpus(folders: list[CorpusFolder]) -> Corpus:
    """Read all folders; a file that fails is reported and the rest are still loaded."""
    sources: list[Source] = []
    statistics: list[StatisticRow] = []
    problems: list[SourceReadError] = []
    seen: dict[tuple[str, str], str] = {}
    aliases: dict[str, str] = {}
    for folder in folders:
        if (folder.path / ALIASES_FILE).is_file() and folder.defaults.scope == SHARED_SCOPE:
            try:
                aliases.update(read_aliases(folder.path / ALIASES_FILE))
            except SourceReadError as exc:
                problems.append(exc)
        for path in source_files(folder.path):
            try:
                result = read_source_file(path, folder.defaults)
            except SourceReadError as exc:
                problems.append(exc)
                continue
            clashes = [s for s in result.sources if (s.scope, s.id) in seen]
            if clashes:
                first = clashes[0]
                owner = seen[(first.scope, first.id)]
                problems.append(SourceReadError(str(path), f"id {first.id!r} is already used by {owner}; "
                                                           "ids must be unique"))
                continue
            for source in result.sources:
                seen[(source.scope, source.id)] = str(path)
            sources.extend(result.sources)
            statistics.extend(result.statistics)
    sources, unlinked = link_summaries(sources)
    return Corpus(tuple(sources), tuple(statistics), tuple(problems + unlinked), tuple(sorted(aliases.items())))


def link_summaries(sources: list[Source]) -> tuple[list[Source], list[SourceReadError]]:
    """Give each summary of another source that source's citation; a summary of a missing source is skipped."""
    by_key = {(s.scope, s.id): s for s in sources}
    linked, problems = [], []
    for source in sources:
        if not source.summary_of:
            linked.append(source)
            continue
        original = by_key.get((source.scope, source.summary_of)) or by_key.get((SHARED_SCOPE, source.summary_of))
        if original is None or original.summary_of:
            problems.append(SourceReadError(source.path, f"summary_of names {source.summary_of!r}, which is not a "
                                                         "source here; name the id of the source it summarizes"))
            continue
        linked.append(replace(source, title=original.title, publisher=original.publisher,
                              published=original.published, url=original.url, author=original.author))
    return linked, problems

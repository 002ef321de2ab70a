"""The corpus check passes on the bundled corpus and fails on broken files; aliases are read."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.aliases import expand_aliases, read_aliases
from knowledge.corpus_check import check_corpus
from knowledge.corpus_loader import BUNDLED_CORPUS, CorpusFolder, load_corpus
from knowledge.errors import SourceReadError


def test_bundled_corpus_passes_and_loads_completely():
    assert check_corpus(BUNDLED_CORPUS) == []
    corpus = load_corpus([CorpusFolder(BUNDLED_CORPUS)])
    assert corpus.problems == ()
    articles = [s for s in corpus.sources if s.kind != "statistic"]
    assert 30 <= len(articles) <= 120 and len(corpus.statistics) >= 40
    seed = next(s for s in articles if s.id == "wgbh-2011-06-06-mass-wont-participate")
    assert (seed.publisher, seed.published, seed.author, seed.kind) == ("WGBH News", "2011-06-06", "Jess Bidgood",
                                                                         "article")
    assert "Massachusetts will join New York and Illinois in opting out of the program." in seed.text
    assert all(row.source_title and row.source_url for row in corpus.statistics)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


def first_article(folder: Path) -> Path:
    return sorted((folder / "articles").glob("*.md"))[0]


@pytest.mark.parametrize("breakage, expected", [
    (lambda t: t.replace("\npublisher:", "\nxpublisher:", 1), "lacks 'publisher'"),
    (lambda t: t.replace("\nurl: ", "\nurl: notaurl", 1).replace("notaurl\"http", "notaurl"), "well-formed"),
    (lambda t: t.replace("\npublished: ", "\npublished: 2011-13-45\nold_published: ", 1), "published"),
    (lambda t: t.replace("\nkind: ", "\nkind: blog\nold_kind: ", 1), "kind"),
])
def test_check_fails_on_a_broken_article(corpus_copy, breakage, expected):
    path = first_article(corpus_copy)
    path.write_text(breakage(path.read_text()))
    problems = check_corpus(corpus_copy)
    assert problems and any(expected in p and path.name in p for p in problems), problems


def test_check_fails_on_duplicate_ids(corpus_copy):
    path = first_article(corpus_copy)
    shutil.copy(path, path.with_name("copy-" + path.name))
    assert any("also used by" in p for p in check_corpus(corpus_copy))


def test_check_fails_on_bad_statistics_rows(corpus_copy):
    path = next((corpus_copy / "statistics").glob("*.csv"))
    lines = path.read_text().splitlines()
    lines.append("broken-row,Something,lots,,US,2011-02-30,T,P,2011,ftp://x,")
    lines.append("short-row,Something,1")
    path.write_text("\n".join(lines) + "\n")
    problems = check_corpus(corpus_copy)
    assert any("holds no figure" in p for p in problems)
    assert any("columns" in p for p in problems)
    assert any("ftp://x" in p for p in problems)
    assert any("as_of" in p and "not a valid date" in p for p in problems)


def test_aliases_expand_whole_words_only(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text("S-Comm: Secure Communities\nPEP: Priority Enforcement Program\n")
    aliases = read_aliases(path)
    assert expand_aliases("Why did MA refuse S-Comm? Did pep replace it? PEPPER", aliases) == (
        "Why did MA refuse Secure Communities? Did Priority Enforcement Program replace it? PEPPER")
    path.write_text("- just\n- a list\n")
    with pytest.raises(SourceReadError, match="alias: meaning"):
        read_aliases(path)


def spanish_summary(folder: Path) -> Path:
    return folder / "articles" / "wikipedia-secure-communities-es.md"


def test_a_spanish_summary_takes_the_citation_of_the_source_it_summarizes():
    corpus = load_corpus([CorpusFolder(BUNDLED_CORPUS)])
    by_id = {s.id: s for s in corpus.sources}
    summary, original = by_id["wikipedia-secure-communities-es"], by_id["wikipedia-secure-communities"]
    assert (summary.language, original.language) == ("es", "en")
    assert summary.summary_of == original.id
    assert (summary.title, summary.publisher, summary.published, summary.url) == (
        original.title, original.publisher, original.published, original.url)
    assert "48 horas" in summary.text


def test_a_spanish_summary_with_a_figure_its_source_lacks_fails_the_check(corpus_copy):
    path = spanish_summary(corpus_copy)
    path.write_text(path.read_text(encoding="utf-8").replace("48 horas", "72 horas", 1), encoding="utf-8")
    problems = check_corpus(corpus_copy)
    assert len(problems) == 1
    assert "the figures 72 do not appear in 'wikipedia-secure-communities'" in problems[0]


def test_a_spanish_summary_of_a_missing_source_fails_the_check_and_is_skipped_by_the_loader(corpus_copy):
    path = spanish_summary(corpus_copy)
    path.write_text(path.read_text(encoding="utf-8").replace("summary_of: wikipedia-secure-communities",
                                                             "summary_of: no-such-source"), encoding="utf-8")
    assert any("summary_of names 'no-such-source', which is not a source" in p for p in check_corpus(corpus_copy))
    corpus = load_corpus([CorpusFolder(corpus_copy)])
    assert [p.path for p in corpus.problems] == [str(path)]
    assert "wikipedia-secure-communities-es" not in {s.id for s in corpus.sources}


def test_thousands_separators_of_either_language_are_the_same_figure():
    from knowledge.corpus_check import figures_in

    assert figures_in("1,400 y 1.400 y 1 400; 3,5 por ciento; 22%") == {"1400", "3.5", "22"}

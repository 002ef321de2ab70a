"""Readers on good and bad files: front matter, text, HTML, PDF, statistics CSV."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.corpus_loader import CorpusFolder, load_corpus
from knowledge.errors import SourceReadError
from knowledge.readers import SourceDefaults, read_source_bytes, read_source_file
from tests.pdf_maker import make_pdf

GOOD_MD = b"""---
id: good-source
title: "A title: with a colon"
publisher: Example News
published: 2011-06-06
url: https://example.org/a
kind: summary
---
# Heading

Illinois Gov. Pat Quinn ended the agreement on May 4, 2011. The **program** kept running.
"""


def test_markdown_front_matter_and_body():
    source = read_source_bytes(Path("good.md"), GOOD_MD).sources[0]
    assert (source.id, source.title, source.publisher, source.published, source.kind) == (
        "good-source", "A title: with a colon", "Example News", "2011-06-06", "summary")
    assert source.text.startswith("Heading\n\nIllinois Gov. Pat Quinn")
    assert "**" not in source.text


def test_text_without_front_matter_gets_defaults():
    defaults = SourceDefaults(publisher="organizer upload", scope="123", added_by="ana")
    source = read_source_bytes(Path("Notes From Meeting.txt"), "Première ligne.\nSecond line here.".encode(),
                               defaults).sources[0]
    assert source.id == "notes-from-meeting"
    assert (source.publisher, source.published, source.scope, source.added_by) == (
        "organizer upload", "undated", "123", "ana")


def test_windows_1252_text_is_decoded():
    source = read_source_bytes(Path("x.txt"), "Café owners said the program “worked”.".encode("cp1252"))
    assert "Café" in source.sources[0].text and "“worked”" in source.sources[0].text


@pytest.mark.parametrize("name, data, reason", [
    ("empty.md", b"   \n", "is empty"),
    ("binary.txt", b"\x00\x01\x02abc", "binary"),
    ("bad-yaml.md", b"---\ntitle: [unclosed\n---\nBody text.", "not valid YAML"),
    ("list-yaml.md", b"---\n- a\n- b\n---\nBody text.", "mapping"),
    ("bad-date.md", b"---\nid: x\npublished: 2011-02-30\n---\nBody text.", "published"),
    ("bad-kind.md", b"---\nid: x\nkind: blog\n---\nBody text.", "kind"),
    ("bad-id.md", b"---\nid: Not A Slug\n---\nBody text.", "lowercase slug"),
    ("no-body.md", b"---\nid: x\n---\n", "no text"),
    ("sheet.xlsx", b"PK\x03\x04", "unsupported type"),
    ("broken.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
    ("stats.csv", b"id,value\n1,2\n", "missing the column"),
])
def test_bad_files_raise_clear_errors(name, data, reason):
    with pytest.raises(SourceReadError) as caught:
        read_source_bytes(Path(name), data)
    assert reason in caught.value.reason
    assert name in str(caught.value)


def test_html_main_text_and_metadata():
    html = b"""<html><head><title>Jail holds explained | Example Post</title>
    <meta property="og:site_name" content="Example Post"><meta name="date" content="2012-07-11"></head>
    <body><nav>Home | About | Subscribe</nav><article><h1>Jail holds explained</h1>
    <p>An immigration detainer asks a jail to hold a person for up to 48 hours after release so that ICE can
    take custody of them. Cook County decided in September 2011 to stop honoring such requests unless costs
    were paid back in writing by the federal government.</p>
    <p>Advocates said the ordinance restored trust between immigrant neighborhoods and local police officers,
    while the sheriff said it followed the law of the county board.</p></article>
    <footer>Copyright Example Post</footer></body></html>"""
    source = read_source_bytes(Path("page.html"), html).sources[0]
    assert "48 hours" in source.text
    assert "Subscribe" not in source.text and "Copyright" not in source.text
    assert source.title.startswith("Jail holds explained")
    assert source.published == "2012-07-11"


def test_html_without_text_is_refused():
    with pytest.raises(SourceReadError, match="no readable main text"):
        read_source_bytes(Path("empty.html"), b"<html><body><script>x()</script></body></html>")


def test_pdf_text_and_title():
    pdf = make_pdf(["The Secure Communities program began in 2008.", "It was ended in 2014."], title="PDF Report")
    source = read_source_bytes(Path("report.pdf"), pdf).sources[0]
    assert "began in 2008" in source.text and "ended in 2014" in source.text
    assert source.title == "PDF Report"


def test_statistics_rows_become_sentences(mini_corpus: Path):
    result = read_source_file(mini_corpus / "statistics" / "figures.csv")
    assert len(result.statistics) == 2 and len(result.sources) == 2
    row = result.statistics[0]
    assert row.sentence() == ("Convicted immigrants removed after identification through Secure Communities, "
                              "United States: more than 166,000 people, as of 2012-08-31.")
    assert result.sources[1].text.endswith("Note: Disputed by the Center for Immigration Studies.")
    assert result.sources[0].kind == "statistic"


def test_statistics_row_with_empty_value_names_the_line(tmp_path: Path):
    path = tmp_path / "s.csv"
    lines = (Path(__file__).parents[1] / "data/mini/statistics/figures.csv").read_text().splitlines()
    path.write_text(lines[0] + "\n" + "x,Stat,,u,s,2011,T,P,2011,https://e.org,\n")
    with pytest.raises(SourceReadError, match=r"s.csv:2.*empty value"):
        read_source_file(path)


def test_one_bad_file_does_not_stop_the_rest(mini_corpus: Path):
    (mini_corpus / "articles" / "broken.md").write_bytes(b"---\ntitle: [oops\n---\ntext")
    (mini_corpus / "articles" / "dup.md").write_bytes(
        (mini_corpus / "articles" / "detainers.md").read_bytes())
    corpus = load_corpus([CorpusFolder(mini_corpus)])
    assert {s.id for s in corpus.sources} >= {"mini-illinois-withdraws", "mini-detainers", "mini-citizens"}
    reasons = sorted(p.reason for p in corpus.problems)
    assert len(reasons) == 2
    assert any("already used" in r for r in reasons) and any("YAML" in r for r in reasons)


def test_csv_header_that_csv_cannot_parse_is_a_clear_error():
    data = b'"' + b"a" * 200_000 + b'",x\n'  # a header field beyond the csv module's field size limit
    with pytest.raises(SourceReadError, match="not valid CSV"):
        read_source_bytes(Path("x.csv"), data)

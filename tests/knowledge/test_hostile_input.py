"""Property tests: any bytes or text given to the readers yields records or our own clear error."""
from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.errors import SourceReadError
from knowledge.passages import split_into_passages
from knowledge.readers import read_source_bytes
from knowledge.records import Source
from knowledge.sentences import split_sentences
from tests.pdf_maker import make_pdf

NASTY = st.sampled_from([
    "", " ", "\x00", "\u200b", "\u200f", "\u202e", "مرحبا بالعالم.", "שלום.", "@everyone", "<@123>", "**bold**",
    "`code`", "||spoiler||", "---", "\r\n", "\ufeff", "é", "\udcff".encode("utf-8", "surrogatepass").decode(
        "utf-8", "replace"), "Gov.", "U.S.", "1,000", "…", "?!", "\t", "a" * 300,
])
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=40)), max_size=30).map("".join)
SUFFIXES = st.sampled_from([".md", ".txt", ".html", ".htm", ".pdf", ".csv", ".xyz", ""])
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_or_clear_error(name: str, data: bytes) -> None:
    try:
        result = read_source_bytes(Path(name), data)
    except SourceReadError as error:
        assert error.reason and name in str(error)
        return
    for source in result.sources:
        assert source.text.strip()
        for passage in split_into_passages(source):
            assert passage.sentences and all(s.strip() for s in passage.sentences)


@FAST
@given(suffix=SUFFIXES, data=st.binary(max_size=2000))
def test_random_bytes(suffix, data):
    read_or_clear_error(f"upload{suffix}", data)


@FAST
@given(suffix=SUFFIXES, text=TEXT, encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"]))
def test_random_text_in_any_encoding(suffix, text, encoding):
    read_or_clear_error(f"upload{suffix}", text.encode(encoding, "replace"))


@FAST
@given(meta=st.dictionaries(st.sampled_from(["id", "title", "publisher", "published", "url", "kind", "author",
                                             "other"]), TEXT, max_size=7), body=TEXT)
def test_random_front_matter(meta, body):
    lines = "".join(f"{k}: {v!r}\n" if i % 2 else f"{k}: {v}\n" for i, (k, v) in enumerate(meta.items()))
    read_or_clear_error("source.md", f"---\n{lines}---\n{body}".encode("utf-8", "replace"))


@FAST
@given(rows=st.lists(st.lists(TEXT, min_size=0, max_size=13), max_size=5))
def test_random_statistics_csv(rows):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "statistic", "value", "unit", "scope", "as_of", "source_title", "source_publisher",
                     "source_date", "source_url", "note"])
    writer.writerows(rows)
    read_or_clear_error("figures.csv", buffer.getvalue().encode("utf-8", "replace"))


@FAST
@given(lines=st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60), max_size=8),
       cut=st.integers(min_value=0, max_value=400))
def test_pdf_bytes_whole_and_truncated(lines, cut):
    pdf = make_pdf(lines, title="t")
    read_or_clear_error("doc.pdf", pdf)
    read_or_clear_error("doc.pdf", pdf[: len(pdf) - cut])


@FAST
@given(text=TEXT)
def test_sentence_spans_cover_text_in_order(text):
    spans = split_sentences(text)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    source = Source(id="s", title="t", publisher="p", published="2011", kind="summary", text=text)
    assert [s for p in split_into_passages(source) for s in p.sentences] == [text[a:b] for a, b in spans]

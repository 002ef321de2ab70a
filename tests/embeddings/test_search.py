"""BM25, FAISS (exact, and compressed scan with re-ranking; scope filters), fusion and hybrid ranking."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.question_terms import names_and_numbers
from embeddings.bm25 import BM25Index
from embeddings.search import SearchIndex, reciprocal_rank_fusion
from embeddings.tokenizer import tokenize
from embeddings.vector_store import VectorStore, VectorStoreConfig

DEV_QUESTIONS = Path(__file__).parents[1] / "data" / "dev.jsonl"


def test_tokenize_stems_drops_stopwords_and_joins_numbers():
    assert tokenize("The U.S. deported 1,000 people; Deportations rose.") == [
        "us", "deport", "1000", "peopl", "deport", "rose"]


def test_names_and_numbers_are_the_specific_terms():
    assert names_and_numbers("How many were deported from Worcester in 2014?") == {"worcest", "2014"}


def test_bm25_prefers_rare_terms_and_shorter_documents():
    docs = [tokenize(t) for t in ("detainer jail", "detainer " + "jail " * 30, "weather report sunny", "jail hold")]
    index = BM25Index(docs)
    scores = index.scores(tokenize("detainer"))
    assert scores[2] == 0 and scores[3] == 0
    assert scores[0] > scores[1] > 0  # the same one mention counts for more in the shorter document
    assert index.idf_of("detain") > index.idf_of("jail") > 0  # in 2 of 4 documents against 3 of 4
    # A document holding the rare word outranks one holding only the common word, however often.
    both = index.scores(tokenize("detainer jail"))
    assert both[0] > both[3] > 0
    assert index.share_of_documents("unknown") is None
    assert np.all(index.scores([]) == 0)


def reference_bm25(documents: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 written straight from its formula (Lucene's idf), one document and one query word at a time."""
    average = sum(map(len, documents)) / len(documents)
    scores = np.zeros(len(documents))
    for word in query:
        containing = sum(word in doc for doc in documents)
        if not containing:
            continue
        idf = np.log(1 + (len(documents) - containing + 0.5) / (containing + 0.5))
        for row, doc in enumerate(documents):
            tf = doc.count(word)
            scores[row] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / average)) if tf else 0.0
    return scores


@settings(max_examples=60, deadline=None)
@given(documents=st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=12), min_size=1, max_size=20),
       query=st.lists(st.sampled_from("abcdefghz"), max_size=5))
def test_bm25_scores_equal_the_formula(documents, query):
    index = BM25Index(documents)
    assert np.allclose(index.scores(query), reference_bm25(documents, query), rtol=1e-5, atol=1e-6)


def test_bm25_stored_and_loaded_scores_as_built(tmp_path):
    from embeddings.bm25_store import load_bm25, save_bm25

    docs = [tokenize(t) for t in ("detainer hold jail", "detainer " * 5 + "jail " * 30, "weather report sunny")]
    built = BM25Index(docs)
    save_bm25(built, tmp_path / "bm25.npz")
    loaded = load_bm25(tmp_path / "bm25.npz")
    for query in (["detain"], ["jail", "jail", "weather"], ["nothing"]):
        assert np.array_equal(loaded.scores(query), built.scores(query))


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([(np.array([1, 2, 3]), 1.0), (np.array([3, 1, 9]), 1.0)], k=60)
    assert max(fused, key=fused.get) == 1
    assert fused[3] > fused[2] and fused[9] < fused[2]


def random_unit(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_exact_store_finds_itself_and_honours_the_scope_mask():
    vectors = random_unit(500)
    store = VectorStore(vectors)
    assert not store.approximate
    scores, ids = store.search(vectors[42], 5)
    assert ids[0] == 42 and abs(scores[0] - 1) < 1e-5
    allowed = np.zeros(500, dtype=bool)
    allowed[100:200] = True
    _, ids = store.search(vectors[42], 10, allowed)
    assert len(ids) == 10 and all(100 <= i < 200 for i in ids)
    every_third = np.arange(500) % 3 == 0  # rows inside one byte of the bitmap: its bit order must be right
    scores, ids = store.search(vectors[43], 10, every_third)
    truth = np.flatnonzero(every_third)[np.argsort(-(vectors[every_third] @ vectors[43]))[:10]]
    assert list(ids) == list(truth) and np.allclose(scores, vectors[ids] @ vectors[43], atol=1e-5)


def test_store_switches_to_compressed_scan_above_the_threshold_with_exact_scores():
    vectors = random_unit(3000, seed=1)
    store = VectorStore(vectors, VectorStoreConfig(approximate_above=1000))
    assert store.approximate
    exact = VectorStore(vectors)
    assert not exact.approximate
    queries = random_unit(20, seed=2)
    recall = np.mean([len(set(store.search(q, 10)[1]) & set(exact.search(q, 10)[1])) / 10 for q in queries])
    assert recall >= 0.95
    scores, ids = store.search(queries[0], 10)
    # Candidates are re-scored against the float vectors: scores are exact cosines, best first.
    assert np.allclose(scores, vectors[ids] @ queries[0], atol=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


@pytest.mark.parametrize("max_hidden, visible_every", [(20_000, 1), (20_000, 3), (10, 3), (10, 9)])
def test_compressed_scan_honours_the_scope_mask_on_every_path(max_hidden, visible_every):
    """Few hidden rows: over-fetch and filter; many: exact search over the visible rows (gathered or masked)."""
    vectors = random_unit(3000, seed=3)
    config = VectorStoreConfig(approximate_above=1000, max_hidden_for_scan=max_hidden)
    store = VectorStore(vectors, config)
    allowed = np.zeros(3000, dtype=bool)
    allowed[::visible_every] = True
    allowed[7] = False
    query = random_unit(1, seed=4)[0]
    scores, ids = store.search(query, 10, allowed)
    assert len(ids) == 10 and all(allowed[i] for i in ids)
    visible = np.flatnonzero(allowed)
    truth = visible[np.argsort(-(vectors[visible] @ query))[:10]]
    assert len(set(ids) & set(truth)) >= 9
    assert np.allclose(scores, vectors[ids] @ query, atol=1e-5)


def test_store_of_nothing_finds_nothing():
    store = VectorStore(np.empty((0, 32), dtype=np.float32))
    scores, ids = store.search(random_unit(1)[0], 5)
    assert len(ids) == 0 and len(scores) == 0


def test_hybrid_search_ranks_the_matching_passage_first(mini_service):
    search, _ = mini_service.searchable()
    result = search.search("Which governor ended the Illinois agreement?")
    assert result.hits[0].source.id == "mini-illinois-withdraws"
    result = search.search("How long can a jail hold someone for ICE?")
    assert result.hits[0].source.id == "mini-detainers"
    assert result.hits[0].dense > 0.3 and result.hits[0].bm25 > 0
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


def test_compressed_scan_ranks_like_exact_search_over_the_starter_corpus(bundled_service, encoder):
    """The starter corpus searched both ways ranks the same passages first.

    The switch is set to 0 to force the compressed scan, and only 2 x 50 of the ~230 passages are re-ranked,
    so the compressed codes alone must put the right candidates forward.
    """
    exact, _ = bundled_service.searchable()
    config = VectorStoreConfig(approximate_above=0, refine_factor=2)
    # The same search settings as the service's (the scorer's fusion weights); only the vector scan differs.
    compressed = SearchIndex(bundled_service.store.load(), encoder, config=exact.config, vector_config=config)
    assert compressed.vectors.approximate and not exact.vectors.approximate
    questions = [json.loads(line)["question"] for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    for question in questions:
        assert [h.record.row for h in compressed.search(question).hits[:5]] == \
            [h.record.row for h in exact.search(question).hits[:5]], question

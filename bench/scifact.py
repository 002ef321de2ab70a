"""Retrieval quality on SciFact (BEIR format) with citebot's own passages, encoder, BM25 and fusion.

Every SciFact abstract becomes a citebot Source (title + text), is split by knowledge.passages into passages,
encoded by embeddings.encoder.Encoder exactly as IndexStore does (title, newline, passage), and tokenized
for BM25 by embeddings.tokenizer.tokenize (BM25 sees the title too, as in embeddings/search.py).
A document scores as its best passage (max-pooling). Reported: NDCG@10 and Recall@100 on the test queries.

The methods below were all fixed before looking at test results (equal weights, RRF k=60 from the RRF
paper, min-max convex combination at alpha=0.5); none is tuned on the test queries. The optional weight
sweep (--sweep) is printed as a diagnostic of sensitivity, never used to choose a default.

    python bench/scifact.py ../shared/data/scifact [--json] [--cache DIR] [--sweep]
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sets sys.path and offline environment)
import numpy as np
from _common import benchmark_parser, log, machine, now, run_and_emit, table

RRF_K = 60  # embeddings/search.py SearchConfig.rrf_k
DEPTH = 1000  # how deep each document ranking goes into fusion (BEIR retrieves top 1000)


# ----- data -----------------------------------------------------------------------------------------------

def read_beir(folder: Path, split: str):
    """Corpus rows, query texts and qrels {query_id: {doc_id: grade}} of one split."""
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8") if line.strip()]
    queries = {}
    for line in (folder / "queries.jsonl").open(encoding="utf-8"):
        if line.strip():
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        next(handle)  # header
        for line in handle:
            qid, did, grade = line.rstrip("\n").split("\t")
            if int(grade) > 0:
                qrels.setdefault(qid, {})[did] = int(grade)
    return corpus, queries, qrels


def to_sources(corpus: list[dict]):
    from knowledge.records import Source

    return [Source(id=str(row["_id"]), title=(row.get("title") or "").strip(), publisher="SciFact",
                   published="undated", kind="article", text=(row.get("text") or "").strip())
            for row in corpus]


# ----- embeddings with a cache ------------------------------------------------------------------------------

def cache_key(model_id: str, texts: list[str], kind: str) -> str:
    digest = hashlib.sha256(f"{kind}\0{model_id}\0".encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def cached(cache: Path | None, key: str, compute) -> tuple[np.ndarray, float, bool]:
    """Vectors from cache/key.npy, or computed and stored; returns (vectors, seconds, hit)."""
    path = cache / f"{key}.npy" if cache else None
    if path is not None and path.is_file():
        return np.load(path), 0.0, True
    start = time.perf_counter()
    vectors = compute()
    seconds = time.perf_counter() - start
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.rename(path)
    return vectors, seconds, False


# ----- ranking and metrics ---------------------------------------------------------------------------------

def rank_docs(scores: np.ndarray, depth: int = DEPTH, positive_only: bool = False) -> np.ndarray:
    """Document indices by descending score (ties by corpus order), at most depth."""
    n = min(depth, scores.shape[0])
    top = np.argpartition(-scores, n - 1)[:n] if n < scores.shape[0] else np.arange(scores.shape[0])
    top = top[np.lexsort((top, -scores[top]))]
    if positive_only:
        top = top[scores[top] > 0]
    return top


def rrf(rankings: list[tuple[np.ndarray, float]], k: int = RRF_K) -> dict[int, float]:
    """embeddings.search.reciprocal_rank_fusion, imported so the benchmark fuses exactly as the bot does."""
    from embeddings.search import reciprocal_rank_fusion

    return reciprocal_rank_fusion(rankings, k)


def fused_ranking(fused: dict[int, float]) -> list[int]:
    return [doc for doc, _ in sorted(fused.items(), key=lambda item: (-item[1], item[0]))]


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """NDCG@k with linear gain (trec_eval / pytrec_eval, as BEIR reports it)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def evaluate(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict:
    ndcg = [ndcg_at(rankings.get(q, []), rel) for q, rel in qrels.items()]
    recall = [recall_at(rankings.get(q, []), rel) for q, rel in qrels.items()]
    return {"ndcg@10": round(float(np.mean(ndcg)), 4), "recall@100": round(float(np.mean(recall)), 4)}


def minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def candidate_convex(index, question: str, query_vector: np.ndarray, candidates: int) -> list[int]:
    """Passage rows ranked by the convex combination over SearchIndex's candidate set (see run())."""
    from embeddings.tokenizer import tokenize

    _, dense_ids = index.vectors.search(query_vector, candidates)
    bm25_all = index.bm25.scores(tokenize(question))
    n = min(candidates, len(bm25_all) - 1)
    top = np.argpartition(-bm25_all, n)[:candidates]
    top = top[bm25_all[top] > 0]
    rows = np.unique(np.concatenate([dense_ids.astype(np.int64), top.astype(np.int64)]))
    dense = index.stored.vectors[rows] @ query_vector
    fused = 0.5 * minmax(dense) + 0.5 * minmax(bm25_all[rows])
    order = np.lexsort((rows, -fused))
    return rows[order].tolist()


# ----- the benchmark ---------------------------------------------------------------------------------------

def run(args) -> dict:
    from embeddings.bm25 import BM25Config, BM25Index
    from embeddings.encoder import EncoderInput, resolve_model
    from embeddings.generation import PassageRecord, StoredIndex, encoder_input, source_key
    from embeddings.search import SearchConfig, SearchIndex
    from embeddings.tokenizer import tokenize
    from knowledge.passages import DEFAULT_MAX_WORDS, split_into_passages

    folder = Path(args.data_dir)
    corpus, queries, qrels = read_beir(folder, args.split)
    sources = to_sources(corpus)
    doc_ids = [s.id for s in sources]
    test_ids = sorted(qrels, key=lambda q: int(q) if q.isdigit() else q)
    log(f"{len(sources)} documents, {len(test_ids)} {args.split} queries")

    # Passages exactly as the index builder makes them.
    max_words = args.max_words or DEFAULT_MAX_WORDS
    passages, owner, inputs = [], [], []
    for d, source in enumerate(sources):
        parts = split_into_passages(source, max_words)
        if not parts:  # a document without text still has its title
            from knowledge.records import Passage
            parts = [Passage(source.id, 0, source.title or source.id, ((0, len(source.title or source.id)),))]
        for passage in parts:
            passages.append((source, passage))
            owner.append(d)
            inputs.append(encoder_input(source, passage))
    owner = np.asarray(owner, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # passages are contiguous per document
    per_doc = np.bincount(owner, minlength=len(sources))
    log(f"{len(passages)} passages (max {max_words} words; {per_doc.mean():.2f} per document, "
        f"{(per_doc > 1).mean():.0%} of documents split)")

    from bot.settings import Settings, build_encoder

    settings = Settings(encoder_backend=args.backend, encoder_precision=args.precision,
                        **({"model": args.model} if args.model else {}))
    encoder = build_encoder(settings)  # indexes passages and documents
    query_encoder = encoder if args.query_precision in (None, args.precision) else build_encoder(
        dataclasses.replace(settings, encoder_precision=args.query_precision))
    # The cache is keyed by model, runtime, encoder code and texts: a changed encoder.py re-encodes.
    import embeddings.encoder as encoder_module
    code = hashlib.sha256(Path(encoder_module.__file__).read_bytes()).hexdigest()[:16]
    model_id = f"{encoder.identity}|{encoder.description}|{resolve_model(encoder.model_name)}|{code}"
    cache = None if args.no_cache else Path(args.cache or Path(tempfile.gettempdir()) / "citebot-bench-cache")
    passage_texts = [i.text for i in inputs]
    doc_texts = [f"{s.title}\n{s.text}" for s in sources]
    query_texts = [queries[q] for q in test_ids]

    def encode_passages():
        # Passage vectors through the same call IndexStore uses (sentence spans left out: they do not
        # change the passage vector and retrieval here does not use sentence vectors).
        log("encoding passages (cached after the first run) ...")
        return np.stack([e.vector for e in encoder.encode_passages([EncoderInput(t) for t in passage_texts])])

    def encode_docs():
        log("encoding whole documents (first 256 tokens, the MTEB setting) ...")
        return np.stack([e.vector for e in encoder.encode_passages([EncoderInput(t) for t in doc_texts])])

    P, p_seconds, p_hit = cached(cache, cache_key(model_id, passage_texts, "passages"), encode_passages)
    D, d_seconds, d_hit = cached(cache, cache_key(model_id, doc_texts, "documents"), encode_docs)
    query_encoder.encode_queries(["load the model before timing"])
    start = time.perf_counter()
    Q = query_encoder.encode_queries(query_texts)
    q_seconds = time.perf_counter() - start
    log(f"vectors ready (passages {'cached' if p_hit else f'{p_seconds:.0f} s'}, documents "
        f"{'cached' if d_hit else f'{d_seconds:.0f} s'}, queries {q_seconds:.1f} s)")

    bm25_passages = BM25Index([tokenize(t) for t in passage_texts], BM25Config())
    bm25_docs = BM25Index([tokenize(t) for t in doc_texts], BM25Config())

    dense_p = np.maximum.reduceat(Q @ P.T, starts, axis=1)  # (queries, documents): best passage
    dense_d = Q @ D.T
    runs: dict[str, dict[str, list[str]]] = {}
    names = {
        "dense": "dense, passages max-pooled",
        "bm25": "BM25, passages max-pooled",
        "hybrid": "RRF(dense, BM25), passages max-pooled, k=60",
        "dense_doc": "dense, whole document (truncated at 256 tokens)",
        "bm25_doc": "BM25, whole document",
        "hybrid_doc": "RRF(dense, BM25), whole documents, k=60",
        "hybrid_4way": "RRF of passage and document rankings of both (4 lists), k=60",
        "convex": "0.5*minmax(dense) + 0.5*minmax(BM25), passages max-pooled",
        "convex_4way": "mean of minmax of the 4 scores (passage and document, dense and BM25)",
        "searchindex": f"SearchIndex.search_vector as shipped (candidates={SearchConfig().candidates}, passage RRF), "
                       "doc = best passage",
        "searchindex_c50": "SearchIndex.search_vector with candidates=50, doc = best passage",
        "searchindex_c200": "SearchIndex.search_vector with candidates=200, doc = best passage",
        "candidates_convex_c50": "top 50 dense + top 50 BM25 passages, fused by 0.5*minmax(dense)+0.5*minmax(BM25)",
        "candidates_convex_c1000": "the same with candidates=1000",
    }
    for key in names:
        runs[key] = {}
    sweep_rows = []
    weights = [0.5, 0.75, 1.0, 1.5, 2.0] if args.sweep else []
    sweep_runs: dict[tuple[float, int], dict[str, list[str]]] = {(w, k): {} for w in weights for k in (20, 60)}

    for qi, qid in enumerate(test_ids):
        tokens = tokenize(query_texts[qi])
        bm25_p = np.maximum.reduceat(bm25_passages.scores(tokens), starts)
        bm25_d = bm25_docs.scores(tokens)
        r_dense = rank_docs(dense_p[qi])
        r_bm25 = rank_docs(bm25_p, positive_only=True)
        r_dense_d = rank_docs(dense_d[qi])
        r_bm25_d = rank_docs(bm25_d, positive_only=True)
        as_ids = lambda order: [doc_ids[i] for i in order]  # noqa: E731
        runs["dense"][qid] = as_ids(r_dense[:100])
        runs["bm25"][qid] = as_ids(r_bm25[:100])
        runs["dense_doc"][qid] = as_ids(r_dense_d[:100])
        runs["bm25_doc"][qid] = as_ids(r_bm25_d[:100])
        runs["hybrid"][qid] = as_ids(fused_ranking(rrf([(r_dense, 1.0), (r_bm25, 1.0)]))[:100])
        runs["hybrid_doc"][qid] = as_ids(fused_ranking(rrf([(r_dense_d, 1.0), (r_bm25_d, 1.0)]))[:100])
        runs["hybrid_4way"][qid] = as_ids(fused_ranking(rrf([(r_dense, 1.0), (r_bm25, 1.0), (r_dense_d, 1.0),
                                                             (r_bm25_d, 1.0)]))[:100])
        convex = 0.5 * minmax(dense_p[qi]) + 0.5 * minmax(bm25_p)
        runs["convex"][qid] = as_ids(rank_docs(convex, 100))
        convex4 = (minmax(dense_p[qi]) + minmax(bm25_p) + minmax(dense_d[qi]) + minmax(bm25_d)) / 4
        runs["convex_4way"][qid] = as_ids(rank_docs(convex4, 100))
        for (w, k), target in sweep_runs.items():
            target[qid] = as_ids(fused_ranking(rrf([(r_dense, w), (r_bm25, 1.0)], k))[:100])

    # The library's own search path over the same passages and vectors, pooled to documents.
    stored = StoredIndex(manifest=None, generation=Path("."),
                         sources={source_key(s.scope, s.id): s for s in sources},
                         passages=[PassageRecord(row, source_key(s.scope, s.id), p, "")
                                   for row, (s, p) in enumerate(passages)],
                         vectors=np.ascontiguousarray(P, dtype=np.float32),
                         sentence_vectors=np.zeros((0, P.shape[1]), dtype=np.float32),
                         sentence_offsets=np.zeros(len(passages) + 1, dtype=np.int64), statistics=[], aliases={})
    search_timings = {}
    for key, candidates in (("searchindex", SearchConfig().candidates), ("searchindex_c50", 50),
                            ("searchindex_c200", 200)):
        index = SearchIndex(stored, encoder, SearchConfig(candidates=candidates))
        start = time.perf_counter()
        for qi, qid in enumerate(test_ids):
            result = index.search_vector(query_texts[qi], Q[qi], None, k=max(100, candidates))
            ranked: list[str] = []
            for hit in result.hits:  # hits are by fused score: a document's first hit is its best passage
                if hit.record.passage.source_id not in ranked:
                    ranked.append(hit.record.passage.source_id)
            runs[key][qid] = ranked[:100]
        search_timings[key] = (time.perf_counter() - start) / len(test_ids) * 1000

    # A fusion the library could adopt as is: SearchIndex's own candidate lists (top dense + top BM25
    # passages), each candidate scored by both (cosine from its vector, BM25 from the scores SearchIndex
    # already computes for every passage), min-max normalised over the candidates, averaged.
    for key, candidates in (("candidates_convex_c50", 50), ("candidates_convex_c1000", 1000)):
        index = SearchIndex(stored, encoder, SearchConfig(candidates=candidates))
        start = time.perf_counter()
        for qi, qid in enumerate(test_ids):
            order = candidate_convex(index, query_texts[qi], Q[qi], candidates)
            ranked = []
            for row in order:
                doc = passages[row][0].id
                if doc not in ranked:
                    ranked.append(doc)
            runs[key][qid] = ranked[:100]
        search_timings[key] = (time.perf_counter() - start) / len(test_ids) * 1000

    results = {key: {"method": names[key], **evaluate(runs[key], qrels)} for key in names}
    for (w, k), target in sweep_runs.items():
        sweep_rows.append({"dense_weight": w, "bm25_weight": 1.0, "rrf_k": k, **evaluate(target, qrels)})

    bar = 0.72
    return {
        "benchmark": "scifact",
        "date": now(),
        "machine": machine(),
        "data": str(folder),
        "split": args.split,
        "documents": len(sources),
        "passages": len(passages),
        "passages_per_document": round(float(per_doc.mean()), 3),
        "documents_split": round(float((per_doc > 1).mean()), 4),
        "max_words": max_words,
        "queries": len(test_ids),
        "model": encoder.model_name,
        "encoder": encoder.description,
        "query_encoder": query_encoder.description,
        "encode_seconds": {"passages": None if p_hit else round(p_seconds, 1),
                           "documents": None if d_hit else round(d_seconds, 1),
                           "queries": round(q_seconds, 2)},
        "cache": str(cache) if cache else None,
        "cache_files": {
            "passages": str(cache / f"{cache_key(model_id, passage_texts, 'passages')}.npy"),
            "documents": str(cache / f"{cache_key(model_id, doc_texts, 'documents')}.npy")} if cache else None,
        "results": results,
        "search_ms_per_query": {k: round(v, 2) for k, v in search_timings.items()},
        "published": {"bm25_ndcg@10": 0.665, "minilm_dense_ndcg@10": 0.645},
        "bar": {"hybrid_ndcg@10_min": bar, "hybrid_ndcg@10": results["hybrid"]["ndcg@10"],
                "shipped_search_ndcg@10": results["searchindex"]["ndcg@10"],
                "met": min(results["hybrid"]["ndcg@10"], results["searchindex"]["ndcg@10"]) >= bar},
        "rrf_weight_sweep_diagnostic_on_test": sweep_rows,
    }


def human(result: dict) -> str:
    rows = [[key, r["ndcg@10"], r["recall@100"], r["method"]] for key, r in result["results"].items()]
    out = [f"SciFact {result['split']}: {result['queries']} queries, {result['documents']} documents, "
           f"{result['passages']} passages ({result['passages_per_document']} per document, max "
           f"{result['max_words']} words), model {result['model']}",
           table(["run", "NDCG@10", "R@100", "method"], rows),
           "published: BM25 0.665 (BEIR), all-MiniLM-L6-v2 0.645 (MTEB)",
           f"bar: hybrid NDCG@10 >= {result['bar']['hybrid_ndcg@10_min']}: hybrid {result['bar']['hybrid_ndcg@10']}, "
           f"as shipped {result['bar']['shipped_search_ndcg@10']} -> {'met' if result['bar']['met'] else 'MISSED'}"]
    if result["rrf_weight_sweep_diagnostic_on_test"]:
        out.append("")
        out.append(table(["dense weight", "rrf k", "NDCG@10", "R@100"],
                         [[r["dense_weight"], r["rrf_k"], r["ndcg@10"], r["recall@100"]]
                          for r in result["rrf_weight_sweep_diagnostic_on_test"]],
                         "RRF sensitivity (diagnostic on the test queries, NOT used to choose defaults):"))
    return "\n".join(out)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("data_dir", help="SciFact folder in BEIR format (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--split", default="test", help="qrels split to evaluate (default: test)")
    parser.add_argument("--model", help="sentence-transformers model (default: the bundled MiniLM)")
    parser.add_argument("--backend", default="auto", help="CITEBOT_ENCODER_BACKEND: auto, onnx or torch")
    parser.add_argument("--precision", default="fp32", help="weights that encode passages and documents (fp32, int8)")
    parser.add_argument("--query-precision", help="weights that encode the queries (default: --precision)")
    parser.add_argument("--max-words", type=int, help="passage size (default: knowledge.passages.DEFAULT_MAX_WORDS)")
    parser.add_argument("--cache", help="embedding cache folder (default: $TMPDIR/citebot-bench-cache)")
    parser.add_argument("--no-cache", action="store_true", help="always re-encode")
    parser.add_argument("--sweep", action="store_true", help="also print an RRF weight/k sensitivity table")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

"""Scale: FAISS exact vs approximate search over synthetic corpora of 100k to 1M passages.

For each size: unit vectors of the model's dimension (384), metadata rows written to SQLite with the
passages table's schema and loaded back into the library's PassageRecord objects (as
IndexStore.read_generation does, BM25 on a sample), and these indexes:
  flat      VectorStore with the exact IndexFlatIP (what the store uses below `approximate_above`)
  hnsw      VectorStore with VectorStoreConfig's HNSW settings (M, efConstruction), efSearch swept;
            other M values (--hnsw-m) at sizes <= --sweep-max-size
  pq-refine faiss index_factory("PQ192x4fs,RFlat"): 4-bit fast-scan PQ codes scanned in full, the best
            k x k_factor re-ranked exactly; k_factor swept (--factory / --k-factor to change)
  ivf       IVF-Flat, nprobe swept (--ivf)
Each is searched one query at a time (as the bot does) with FAISS's default threads and with 1 thread.
Reported: build time, bytes per passage (serialized index, and RSS delta), p50/p95 latency, recall@10
against exact search (IndexFlatIP ground truth), scoped search (an `allowed` mask, per-server sources).
Bar at 1M: p50 <= 10 ms and recall@10 >= 0.95.

Vectors: --distribution random (isotropic, the hardest case for graph and cluster indexes) or like
(Gaussian with the mean and covariance of real embeddings given by --like FILE.npy, e.g. the passage
vectors bench/scifact.py caches): same dimension, the anisotropy of real MiniLM vectors.

    python bench/scale.py --sizes 100000                    # a few minutes
    python bench/scale.py --sizes 100000 1000000 --no-hnsw-above 200000   # about 15 minutes
    python bench/scale.py --sizes 1000000                   # + the library's HNSW at 1M: ~30 minutes more
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

import _common  # noqa: F401
import numpy as np
from _common import emit, log, machine, now, percentile, rss_bytes, table

BAR_P50_MS = 10.0
BAR_RECALL = 0.95


# ----- vectors --------------------------------------------------------------------------------------------

class Sampler:
    """Unit vectors: isotropic, or Gaussian with the mean and covariance of real embeddings."""

    def __init__(self, distribution: str, dim: int, rng: np.random.Generator, like: str | None) -> None:
        self.distribution, self.dim, self.rng = distribution, dim, rng
        if distribution == "like":
            real = np.load(like).astype(np.float64)
            if real.shape[1] != dim:
                raise SystemExit(f"{like} holds {real.shape[1]}-dimensional vectors, not {dim}")
            self.mean = real.mean(axis=0)
            cov = np.cov(real, rowvar=False) + 1e-6 * np.eye(dim)
            self.factor = np.linalg.cholesky(cov).astype(np.float32)
            self.source = {"file": str(like), "vectors": int(real.shape[0])}

    def __call__(self, n: int) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, 100_000):
            stop = min(n, start + 100_000)
            block = self.rng.standard_normal((stop - start, self.dim), dtype=np.float32)
            if self.distribution == "like":
                block = self.mean.astype(np.float32) + block @ self.factor.T
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            out[start:stop] = block
        return out


# ----- metadata rows ----------------------------------------------------------------------------------------

WORDS: list[str] = []


def passage_text(rng: np.random.Generator, words: int = 110) -> tuple[str, list[tuple[int, int]]]:
    """A synthetic passage of Zipf-distributed pseudo-words in sentences of ~22 words, with spans."""
    if not WORDS:
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        WORDS.extend("".join(letters[rng.integers(0, 26, rng.integers(2, 10))]) for _ in range(50_000))
    ids = np.minimum(rng.zipf(1.3, words), len(WORDS)) - 1
    text, spans, position = [], [], 0
    for i in range(0, words, 22):
        sentence = " ".join(WORDS[j] for j in ids[i:i + 22]).capitalize() + "."
        text.append(sentence)
        spans.append((position, position + len(sentence)))
        position += len(sentence) + 1
    return " ".join(text), spans


SCHEMA = """CREATE TABLE passages (row INTEGER PRIMARY KEY, source_key TEXT NOT NULL, position INTEGER NOT NULL,
    text TEXT NOT NULL, spans TEXT NOT NULL, scope TEXT NOT NULL, content_hash TEXT NOT NULL,
    first_sentence INTEGER NOT NULL)"""  # the schema of embeddings/index_store.py's passages table


def metadata(n: int, rng: np.random.Generator, folder: Path, bm25_sample: int) -> dict:
    """Write n passage rows to SQLite, load them as IndexStore.read_generation does, and measure."""
    from embeddings.bm25 import BM25Index
    from embeddings.index_store import PassageRecord
    from embeddings.text_tokens import tokenize
    from knowledge.records import Passage

    pool = [passage_text(rng) for _ in range(2000)]
    path = folder / f"metadata-{n}.sqlite"
    start = time.perf_counter()
    with sqlite3.connect(path) as db:
        db.execute(SCHEMA)

        def rows():
            first = 0
            for row in range(n):
                text, spans = pool[row % len(pool)]
                shift = len(str(row)) + 1
                text = f"{row} {text}"  # distinct strings, like real passages
                spans = [(0, spans[0][1] + shift)] + [(a + shift, b + shift) for a, b in spans[1:]]
                yield (row, f"shared/source-{row // 4}", row % 4, text, json.dumps(spans), "shared",
                       f"{row:064x}", first)
                first += len(spans)

        db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", rows())
    write_seconds = time.perf_counter() - start
    size = path.stat().st_size

    gc.collect()
    rss0 = rss_bytes()
    tracemalloc.start()
    start = time.perf_counter()
    records = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        for row, key, position, text, spans, scope, digest, first in db.execute(
                "SELECT row, source_key, position, text, spans, scope, content_hash, first_sentence "
                "FROM passages ORDER BY row"):
            spans_t = tuple(tuple(s) for s in json.loads(spans))
            records.append(PassageRecord(row, key, Passage(key.split("/", 1)[1], position, text, spans_t, scope),
                                         digest))
    load_seconds = time.perf_counter() - start
    traced, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = rss_bytes()
    # BM25 over passage words: SearchIndex builds it on every load. Measured on a sample, extrapolated.
    sample = records[:min(n, bm25_sample)]
    start = time.perf_counter()
    BM25Index([tokenize(r.passage.text) for r in sample])
    bm25_rate = len(sample) / (time.perf_counter() - start)
    out = {"rows": n, "sqlite_write_seconds": round(write_seconds, 2), "sqlite_bytes_per_passage": round(size / n, 1),
           "load_seconds": round(load_seconds, 2),
           "python_bytes_per_passage_tracemalloc": round(traced / n, 1),
           "python_bytes_per_passage_rss": round((rss1 - rss0) / n, 1),
           "bm25_sample": len(sample), "bm25_build_passages_per_second": round(bm25_rate, 1),
           "bm25_build_seconds_extrapolated": round(n / bm25_rate, 1),
           "average_text_chars": round(sum(len(r.passage.text) for r in sample) / len(sample), 1)}
    del records, sample
    path.unlink()
    gc.collect()
    return out


# ----- indexes and searching ----------------------------------------------------------------------------------

class FaissStore:
    """A FAISS index behind VectorStore.search's signature, for index types the library does not build."""

    def __init__(self, index, params_factory) -> None:
        self.index = index
        self.params_factory = params_factory
        self.setting = None

    def search(self, query, k, allowed=None):
        if allowed is not None:
            raise NotImplementedError
        params = self.params_factory(self.setting) if self.params_factory else None
        scores, ids = self.index.search(np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), k,
                                        params=params)
        return scores[0], ids[0]


def search_stats(store, queries: np.ndarray, truth: np.ndarray, k: int, threads: int, allowed=None) -> dict:
    import faiss

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        times, hits = [], 0
        for i, query in enumerate(queries):
            start = time.perf_counter()
            _scores, ids = store.search(query, k, allowed)
            times.append((time.perf_counter() - start) * 1000)
            hits += len(set(ids[:k].tolist()) & set(truth[i].tolist()))
    finally:
        faiss.omp_set_num_threads(previous)
    return {"threads": threads, "queries": len(queries), "p50_ms": round(percentile(times, 50), 3),
            "p95_ms": round(percentile(times, 95), 3), "recall@10": round(hits / (len(queries) * k), 4)}


def built(make) -> tuple[object, dict]:
    import faiss

    gc.collect()
    rss0 = rss_bytes()
    start = time.perf_counter()
    store = make()
    seconds = time.perf_counter() - start
    rss = rss_bytes() - rss0
    serialized = int(faiss.serialize_index(store.index).nbytes)  # what the index holds, without allocator noise
    return store, {"build_seconds": round(seconds, 2), "index_bytes_rss": rss, "index_bytes_serialized": serialized}


def measure_size(n: int, args, sample: Sampler, rng: np.random.Generator, folder: Path) -> dict:
    import faiss

    from embeddings.vector_store import VectorStore, VectorStoreConfig

    default = VectorStoreConfig()
    threads_default = faiss.omp_get_max_threads()
    thread_settings = sorted({threads_default, 1}, reverse=True)
    result: dict = {"passages": n, "dimension": args.dim, "distribution": args.distribution}
    if not args.no_metadata:
        log(f"{n}: metadata rows (SQLite write, load as PassageRecords, BM25 sample) ...")
        result["metadata"] = metadata(n, rng, folder, args.bm25_sample)

    log(f"{n}: generating {args.distribution} unit vectors ...")
    rss0 = rss_bytes()
    vectors = sample(n)
    result["vectors_bytes_rss"] = rss_bytes() - rss0
    result["vector_bytes_per_passage"] = round(result["vectors_bytes_rss"] / n, 1)
    queries = sample(args.queries)
    k = args.k

    log(f"{n}: exact ground truth ...")
    truth_index = faiss.IndexFlatIP(args.dim)
    truth_index.add(vectors)
    start = time.perf_counter()
    _, truth = truth_index.search(queries, k)
    result["ground_truth_batch_seconds"] = round(time.perf_counter() - start, 2)
    del truth_index
    gc.collect()
    # Typical similarity of the true 10th neighbour: how much structure the data has.
    result["tenth_neighbour_cosine_median"] = round(float(np.median(
        np.einsum("qd,qd->q", queries, vectors[truth[:, -1]]))), 4)

    rows = []

    def record(name: str, build: dict, stats: dict, **params) -> None:
        row = {"index": name, **params, **build,
               "bytes_per_passage_serialized": round(build["index_bytes_serialized"] / n, 1),
               "bytes_per_passage_rss": round(build["index_bytes_rss"] / n, 1), **stats}
        rows.append(row)
        log(f"{n}: {name} {params} threads={stats['threads']} p50 {stats['p50_ms']} ms "
            f"recall@10 {stats['recall@10']}")

    allowed = np.ones(n, dtype=bool)  # scoped search: a few per-server passages hidden, as SearchIndex.allowed
    allowed[rng.choice(n, min(1000, n // 100), replace=False)] = False
    scoped = {"hidden_passages": int((~allowed).sum())}

    # Exact: the library's VectorStore below its threshold.
    flat_config = dataclasses.replace(default, approximate_above=max(n, default.approximate_above))
    store, build = built(lambda: VectorStore(vectors, flat_config))
    assert not store.approximate
    flat_queries = queries[:args.flat_queries]
    for threads in thread_settings:
        record("flat (VectorStore exact)", build, search_stats(store, flat_queries, truth, k, threads))
    scoped["flat"] = search_stats(store, queries[:args.scoped_queries], truth, k, threads_default, allowed)
    del store
    gc.collect()

    # HNSW with the library's settings, efSearch swept; other M values at small sizes.
    if n <= args.no_hnsw_above:
        m_values = [default.hnsw_neighbors] + [m for m in args.hnsw_m if m != default.hnsw_neighbors
                                               and n <= args.sweep_max_size]
        for m in m_values:
            config = dataclasses.replace(default, approximate_above=0, hnsw_neighbors=m,
                                         hnsw_ef_construction=args.ef_construction or default.hnsw_ef_construction)
            log(f"{n}: building HNSW M={m} efConstruction={config.hnsw_ef_construction} ...")
            store, build = built(lambda: VectorStore(vectors, config))
            assert store.approximate
            library = m == default.hnsw_neighbors
            for ef in sorted(set([default.hnsw_ef_search] + args.ef_search)):
                store.config = dataclasses.replace(config, hnsw_ef_search=ef)
                for threads in (thread_settings if ef == default.hnsw_ef_search else [1]):
                    record("hnsw (VectorStoreConfig)" if library else "hnsw", build,
                           search_stats(store, queries, truth, k, threads), M=m,
                           efConstruction=config.hnsw_ef_construction, efSearch=ef)
            if library:
                store.config = config
                scoped["hnsw"] = search_stats(store, queries[:args.scoped_queries], truth, k, threads_default,
                                              allowed)
                scoped["hnsw"]["efSearch"] = config.hnsw_ef_search
            del store
            gc.collect()

    # Fast-scan PQ over every vector, exact re-ranking of the best candidates.
    for spec in args.factory:
        log(f"{n}: building {spec} ...")

        def make(spec=spec):
            index = faiss.index_factory(args.dim, spec, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors[rng.choice(n, min(n, args.train_size), replace=False)])
            index.add(vectors)
            return FaissStore(index, lambda kf: faiss.IndexRefineSearchParameters(k_factor=kf))

        store, build = built(make)
        for kf in args.k_factor:
            store.setting = kf
            for threads in thread_settings:
                record(spec, build, search_stats(store, queries, truth, k, threads), k_factor=kf)
        del store
        gc.collect()

    if args.ivf:
        nlist = args.ivf_nlist or int(4 * math.sqrt(n))
        log(f"{n}: building IVF-Flat nlist={nlist} ...")

        def make_ivf():
            index = faiss.index_factory(args.dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
            index.train(vectors[rng.choice(n, min(n, 40 * nlist), replace=False)])
            index.add(vectors)
            return FaissStore(index, lambda nprobe: faiss.SearchParametersIVF(nprobe=nprobe))

        store, build = built(make_ivf)
        for nprobe in args.nprobe:
            store.setting = nprobe
            record("ivf-flat", build, search_stats(store, queries, truth, k, 1), nlist=nlist, nprobe=nprobe)
        del store
        gc.collect()

    result["runs"] = rows
    result["scoped_search"] = scoped
    meeting = [r for r in rows if r["recall@10"] >= BAR_RECALL]
    result["fastest_with_recall_bar"] = min(meeting, key=lambda r: r["p50_ms"]) if meeting else None
    library = [r for r in rows if r["index"] == "hnsw (VectorStoreConfig)" and r.get("efSearch") == default.hnsw_ef_search
               and r["threads"] == threads_default]
    result["library_default"] = library[0] if library else None
    del vectors
    gc.collect()
    return result


def run(args) -> dict:
    import faiss

    from embeddings.vector_store import VectorStoreConfig

    if args.distribution == "like" and not args.like:
        raise SystemExit("--distribution like needs --like FILE.npy (real embeddings to take mean and covariance from)")
    rng = np.random.default_rng(args.seed)
    sample = Sampler(args.distribution, args.dim, rng, args.like)
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="citebot-bench-scale-") as tmp:
        for n in args.sizes:
            sizes[str(n)] = measure_size(n, args, sample, rng, Path(tmp))
    bar = None
    if "1000000" in sizes:
        lib = sizes["1000000"]["library_default"]
        best = sizes["1000000"]["fastest_with_recall_bar"]
        bar = {"p50_ms_max": BAR_P50_MS, "recall_min": BAR_RECALL,
               "library_default": lib and {"p50_ms": lib["p50_ms"], "recall@10": lib["recall@10"],
                                           "met": lib["p50_ms"] <= BAR_P50_MS and lib["recall@10"] >= BAR_RECALL},
               "best_measured": best and {k: best.get(k) for k in ("index", "M", "efSearch", "k_factor", "nlist",
                                                                    "nprobe", "threads", "p50_ms", "recall@10")},
               "met_by_any": bool(best and best["p50_ms"] <= BAR_P50_MS)}
    return {"benchmark": "scale", "date": now(), "machine": machine(), "faiss": faiss.__version__,
            "faiss_default_threads": faiss.omp_get_max_threads(), "queries": args.queries, "k": args.k,
            "distribution": args.distribution, "like": getattr(sample, "source", None),
            "vector_store_config": dataclasses.asdict(VectorStoreConfig()), "sizes": sizes, "bar": bar}


PARAMS = ("M", "efConstruction", "efSearch", "k_factor", "nlist", "nprobe")


def human(result: dict) -> str:
    out = [f"Scale: {result['distribution']} unit vectors, {result['queries']} single-query searches, k={result['k']}, "
           f"faiss {result['faiss']}, library config {result['vector_store_config']}"]
    for n, r in result["sizes"].items():
        rows = []
        for run in r["runs"]:
            params = " ".join(f"{k}={run[k]}" for k in PARAMS if k in run)
            rows.append([f"{run['index']} {params}".strip(), run["threads"], run["build_seconds"],
                         run["bytes_per_passage_serialized"], run["p50_ms"], run["p95_ms"], run["recall@10"]])
        out += ["", table(["index", "threads", "build s", "B/passage", "p50 ms", "p95 ms", "recall@10"], rows,
                          f"{int(n):,} passages (vectors array {r['vector_bytes_per_passage']} B/passage; "
                          f"median cosine of the true 10th neighbour {r['tenth_neighbour_cosine_median']})")]
        if "metadata" in r:
            m = r["metadata"]
            out.append(f"metadata: SQLite {m['sqlite_bytes_per_passage']} B/passage (write {m['sqlite_write_seconds']} s), "
                       f"loaded as PassageRecords {m['python_bytes_per_passage_tracemalloc']} B/passage (tracemalloc; "
                       f"RSS {m['python_bytes_per_passage_rss']}) in {m['load_seconds']} s; BM25 build "
                       f"{m['bm25_build_passages_per_second']:.0f} passages/s -> {m['bm25_build_seconds_extrapolated']} s")
        s = r["scoped_search"]
        out.append(f"scoped search ({s['hidden_passages']} passages hidden): flat p50 {s['flat']['p50_ms']} ms"
                   + (f"; hnsw p50 {s['hnsw']['p50_ms']} ms recall {s['hnsw']['recall@10']}" if "hnsw" in s else ""))
        best = r["fastest_with_recall_bar"]
        out.append("fastest with recall@10 >= 0.95: " + (
            f"{best['index']} {' '.join(f'{k}={best[k]}' for k in PARAMS if k in best)} threads={best['threads']} "
            f"p50 {best['p50_ms']} ms, recall {best['recall@10']}" if best else "none measured"))
    if result["bar"]:
        b = result["bar"]
        lib = b["library_default"]
        out.append(f"\nbar at 1M (p50 <= {BAR_P50_MS} ms, recall@10 >= {BAR_RECALL}): library HNSW default "
                   + (f"p50 {lib['p50_ms']} ms recall {lib['recall@10']} -> {'met' if lib['met'] else 'MISSED'}"
                      if lib else "not built (--no-hnsw-above)")
                   + f"; best measured setting: {'met' if b['met_by_any'] else 'MISSED'}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="corpus sizes (default 100000)")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (default 384, MiniLM)")
    parser.add_argument("--distribution", choices=("random", "like"), default="random")
    parser.add_argument("--like", help="for --distribution like: .npy of real embeddings (rows = vectors)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--flat-queries", type=int, default=50, help="queries for the (slow) exact index")
    parser.add_argument("--scoped-queries", type=int, default=30)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[64, 128, 256, 512],
                        help="efSearch values to sweep (the library's value is always included)")
    parser.add_argument("--ef-construction", type=int, help="override VectorStoreConfig.hnsw_ef_construction")
    parser.add_argument("--hnsw-m", type=int, nargs="*", default=[16, 48],
                        help="extra HNSW M values to build (only at sizes <= --sweep-max-size)")
    parser.add_argument("--sweep-max-size", type=int, default=200_000)
    parser.add_argument("--no-hnsw-above", type=int, default=10**12,
                        help="skip HNSW above this size (its build takes most of the run at 1M)")
    parser.add_argument("--factory", nargs="*", default=["PQ192x4fs,RFlat"],
                        help="FAISS index_factory strings with exact refinement (k_factor swept)")
    parser.add_argument("--k-factor", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--train-size", type=int, default=100_000, help="training sample for PQ")
    parser.add_argument("--ivf", action="store_true", help="also measure IVF-Flat (nprobe sweep)")
    parser.add_argument("--ivf-nlist", type=int)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--bm25-sample", type=int, default=20_000)
    parser.add_argument("--no-metadata", action="store_true", help="skip the SQLite metadata rows")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args)
    emit(result, args.json, human(result))


if __name__ == "__main__":
    main()

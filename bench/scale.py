"""Scale: the product's vector search over synthetic corpora of 100k to 1M passages.

For each size: unit vectors of the model's dimension (384), metadata rows written to SQLite with the
passages table's schema and loaded back into the library's PassageRecord objects (as
IndexStore.read_generation does, BM25 on a sample), and these indexes:
  exact        VectorStore with the exact IndexFlatIP (what it builds up to `approximate_above` passages)
  approximate  VectorStore above its threshold: FAISS 4-bit fast-scan PQ over every passage, the best
               k x refine_factor candidates re-ranked exactly; refine_factor swept (--refine-factor)
  hnsw, ivf    optional comparisons (--hnsw, --ivf), built with FAISS directly
Each is searched one query at a time (as the bot does) with FAISS's default threads and with 1 thread.
Reported: build time, bytes per passage (serialized index, and RSS delta), p50/p95 latency, recall@k
against exact search (IndexFlatIP ground truth), and scoped search (other servers' passages hidden by an
`allowed` mask, recall against the exact top 10 of the visible passages).
Bar at 1M (with the default k=10): the product's default p50 <= 10 ms and recall@10 >= 0.95. With
--k 1000 it measures the long candidate list hybrid search asks for (re-ranking capped at max_refine).

Vectors: --distribution random (isotropic, the hardest case for quantizers, graphs and clusters) or like
(Gaussian with the mean and covariance of real embeddings given by --like FILE.npy, e.g. the passage
vectors bench/scifact.py caches): same dimension, the anisotropy of real MiniLM vectors.

    python bench/scale.py --sizes 100000                    # about 2 minutes
    python bench/scale.py --sizes 100000 1000000            # about 10 minutes
    python bench/scale.py --sizes 1000000 --hnsw            # + HNSW at 1M: ~20 minutes more
"""
from __future__ import annotations

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
from _common import benchmark_parser, log, machine, now, percentile, rss_bytes, run_and_emit, table

BAR_P50_MS = 10.0
BAR_RECALL = 0.95
EXACT = "exact (VectorStore below its threshold)"
PRODUCT = "approximate (VectorStore above its threshold)"


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


def metadata(n: int, rng: np.random.Generator, folder: Path, bm25_sample: int) -> dict:
    """Write n passage rows to SQLite, load them as IndexStore.read_generation does, and measure."""
    from embeddings.bm25_store import build_bm25, load_bm25, save_bm25
    from embeddings.generation import SCHEMA, read_passages

    pool = [passage_text(rng) for _ in range(2000)]
    path = folder / f"metadata-{n}.sqlite"
    start = time.perf_counter()
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)  # the generation's own tables; only passages is filled

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
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        records, _offsets = read_passages(db, lambda key: key.split("/", 1)[1])
    load_seconds = time.perf_counter() - start
    traced, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = rss_bytes()
    # BM25 over passage words: built once with each generation and stored (bm25.npz), read back at every
    # load. Both measured on a sample and extrapolated.
    sample = records[:min(n, bm25_sample)]
    start = time.perf_counter()
    bm25 = build_bm25(("", r.passage.text) for r in sample)
    bm25_rate = len(sample) / (time.perf_counter() - start)
    stored = folder / "bm25-sample.npz"
    save_bm25(bm25, stored)
    start = time.perf_counter()
    load_bm25(stored)
    bm25_load_rate = len(sample) / (time.perf_counter() - start)
    stored.unlink()
    out = {"rows": n, "sqlite_write_seconds": round(write_seconds, 2), "sqlite_bytes_per_passage": round(size / n, 1),
           "load_seconds": round(load_seconds, 2),
           "python_bytes_per_passage_tracemalloc": round(traced / n, 1),
           "python_bytes_per_passage_rss": round((rss1 - rss0) / n, 1),
           "bm25_sample": len(sample), "bm25_build_passages_per_second": round(bm25_rate, 1),
           "bm25_build_seconds_extrapolated": round(n / bm25_rate, 1),
           "bm25_stored_load_seconds_extrapolated": round(n / bm25_load_rate, 2),
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
            "p95_ms": round(percentile(times, 95), 3), "recall": round(hits / (len(queries) * k), 4)}


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


def exact_truth(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """The true top-k rows of each query by exact inner product, over the allowed rows only if given."""
    import faiss

    rows = np.arange(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors if allowed is None else vectors[rows])
    _, found = index.search(queries, k)
    return rows[found]


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
    start = time.perf_counter()
    truth = exact_truth(vectors, queries, k)
    result["ground_truth_batch_seconds"] = round(time.perf_counter() - start, 2)
    # Typical similarity of the true 10th neighbour: how much structure the data has.
    result["tenth_neighbour_cosine_median"] = round(float(np.median(
        np.einsum("qd,qd->q", queries, vectors[truth[:, -1]]))), 4)
    # Scoped search: passages of other servers hidden, as SearchIndex.allowed does for one server's question.
    allowed = np.ones(n, dtype=bool)
    allowed[rng.choice(n, min(args.hidden, n // 10), replace=False)] = False
    scoped_queries = queries[:args.scoped_queries]
    scoped_truth = exact_truth(vectors, scoped_queries, k, allowed)
    scoped: dict = {"hidden_passages": int((~allowed).sum()), "queries": len(scoped_queries)}
    gc.collect()

    rows = []

    def record(name: str, build: dict, stats: dict, **params) -> None:
        row = {"index": name, **params, **build,
               "bytes_per_passage_serialized": round(build["index_bytes_serialized"] / n, 1),
               "bytes_per_passage_rss": round(build["index_bytes_rss"] / n, 1), **stats}
        rows.append(row)
        log(f"{n}: {name} {params} threads={stats['threads']} p50 {stats['p50_ms']} ms "
            f"recall@{k} {stats['recall']}")

    # Exact: the product's VectorStore below its threshold.
    flat_config = dataclasses.replace(default, approximate_above=max(n, default.approximate_above))
    store, build = built(lambda: VectorStore(vectors, flat_config))
    assert not store.approximate
    for threads in thread_settings:
        record(EXACT, build, search_stats(store, queries[:args.flat_queries], truth, k, threads))
    scoped["exact"] = search_stats(store, scoped_queries, scoped_truth, k, threads_default, allowed)
    del store
    gc.collect()

    # The product above its threshold: 4-bit fast-scan PQ over every passage, k x refine_factor re-ranked.
    config = dataclasses.replace(default, approximate_above=0)
    log(f"{n}: building the product's approximate store ...")
    store, build = built(lambda: VectorStore(vectors, config))
    assert store.approximate
    for factor in sorted({default.refine_factor, *args.refine_factor}):
        store.config = dataclasses.replace(config, refine_factor=factor)
        for threads in (thread_settings if factor == default.refine_factor else [1]):
            record(PRODUCT, build, search_stats(store, queries, truth, k, threads), refine_factor=factor)
    store.config = config
    scoped["approximate"] = search_stats(store, scoped_queries, scoped_truth, k, threads_default, allowed)
    del store
    gc.collect()

    if args.hnsw:  # for comparison: what the product used before (see bench/results/2026-11-28-sweep)
        log(f"{n}: building HNSW M={args.hnsw_m} efConstruction={args.ef_construction} ...")

        def make_hnsw():
            index = faiss.IndexHNSWFlat(args.dim, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = args.ef_construction
            index.add(vectors)
            return FaissStore(index, lambda ef: faiss.SearchParametersHNSW(efSearch=ef))

        store, build = built(make_hnsw)
        for ef in args.ef_search:
            store.setting = ef
            record("hnsw", build, search_stats(store, queries, truth, k, 1), M=args.hnsw_m, efSearch=ef)
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
    meeting = [r for r in rows if r["recall"] >= BAR_RECALL]
    result["fastest_with_recall_bar"] = min(meeting, key=lambda r: r["p50_ms"]) if meeting else None
    used = EXACT if n <= default.approximate_above else PRODUCT
    product = [r for r in rows if r["index"] == used and r["threads"] == threads_default
               and r.get("refine_factor", default.refine_factor) == default.refine_factor]
    result["product_default"] = product[0]
    vectors = None  # frees the sample (the lambdas above only read it while it was alive)
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
    if "1000000" in sizes and args.k == 10:
        product = sizes["1000000"]["product_default"]
        bar = {"p50_ms_max": BAR_P50_MS, "recall_min": BAR_RECALL, "p50_ms": product["p50_ms"],
               "recall@10": product["recall"],
               "met": product["p50_ms"] <= BAR_P50_MS and product["recall"] >= BAR_RECALL}
    return {"benchmark": "scale", "date": now(), "machine": machine(), "faiss": faiss.__version__,
            "faiss_default_threads": faiss.omp_get_max_threads(), "queries": args.queries, "k": args.k,
            "distribution": args.distribution, "like": getattr(sample, "source", None),
            "vector_store_config": dataclasses.asdict(VectorStoreConfig()), "sizes": sizes, "bar": bar}


PARAMS = ("refine_factor", "M", "efSearch", "nlist", "nprobe")


def describe(run: dict) -> str:
    """An index row's name and parameters."""
    return f"{run['index']} {' '.join(f'{k}={run[k]}' for k in PARAMS if k in run)}".strip()


def human(result: dict) -> str:
    out = [f"Scale: {result['distribution']} unit vectors, {result['queries']} single-query searches, k={result['k']}, "
           f"faiss {result['faiss']}, product config {result['vector_store_config']}"]
    k = result["k"]
    for n, r in result["sizes"].items():
        rows = [[describe(run), run["threads"], run["build_seconds"], run["bytes_per_passage_serialized"],
                 run["p50_ms"], run["p95_ms"], run["recall"]] for run in r["runs"]]
        out += ["", table(["index", "threads", "build s", "B/passage", "p50 ms", "p95 ms", f"recall@{k}"], rows,
                          f"{int(n):,} passages (vectors array {r['vector_bytes_per_passage']} B/passage; "
                          f"median cosine of the true 10th neighbour {r['tenth_neighbour_cosine_median']})")]
        if "metadata" in r:
            m = r["metadata"]
            out.append(f"metadata: SQLite {m['sqlite_bytes_per_passage']} B/passage "
                       f"(write {m['sqlite_write_seconds']} s), "
                       f"loaded as PassageRecords {m['python_bytes_per_passage_tracemalloc']} B/passage (tracemalloc; "
                       f"RSS {m['python_bytes_per_passage_rss']}) in {m['load_seconds']} s; BM25 build "
                       f"{m['bm25_build_passages_per_second']:.0f} passages/s -> "
                       f"{m['bm25_build_seconds_extrapolated']} s (once per index build); "
                       f"stored BM25 read back in {m['bm25_stored_load_seconds_extrapolated']} s")
        s = r["scoped_search"]
        out.append(f"scoped search ({s['hidden_passages']} passages hidden, recall against the visible rows): "
                   f"exact p50 {s['exact']['p50_ms']} ms; approximate p50 {s['approximate']['p50_ms']} ms, "
                   f"recall@{k} {s['approximate']['recall']}")
        product = r["product_default"]
        out.append(f"the product at this size ({describe(product)}): p50 {product['p50_ms']} ms, "
                   f"recall@{k} {product['recall']}")
    if result["bar"]:
        b = result["bar"]
        out.append(f"\nbar at 1M (p50 <= {BAR_P50_MS} ms, recall@10 >= {BAR_RECALL}): the product's default "
                   f"p50 {b['p50_ms']} ms, recall@10 {b['recall@10']} -> {'met' if b['met'] else 'MISSED'}")
    return "\n".join(out)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="corpus sizes (default 100000)")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (default 384, MiniLM)")
    parser.add_argument("--distribution", choices=("random", "like"), default="random")
    parser.add_argument("--like", help="for --distribution like: .npy of real embeddings (rows = vectors)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--flat-queries", type=int, default=50, help="queries for the (slow) exact index")
    parser.add_argument("--scoped-queries", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=1000, help="passages hidden in scoped search (default 1000)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--refine-factor", type=int, nargs="+", default=[10, 20, 80],
                        help="re-ranking factors to sweep (the product's default is always included)")
    parser.add_argument("--hnsw", action="store_true", help="also measure HNSW (slow to build: ~17 min at 1M)")
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--ivf", action="store_true", help="also measure IVF-Flat (nprobe sweep)")
    parser.add_argument("--ivf-nlist", type=int)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--bm25-sample", type=int, default=20_000)
    parser.add_argument("--no-metadata", action="store_true", help="skip the SQLite metadata rows")
    parser.add_argument("--seed", type=int, default=5)
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

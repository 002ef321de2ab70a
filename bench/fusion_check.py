"""Whether the fusion that wins on SciFact also holds on citebot's own corpus and questions.

Builds the bundled corpus index in a temporary home and, for every question of the given question sets,
retrieves the passages two ways from the same candidates:
  rrf          SearchIndex.search as shipped (reciprocal rank fusion, k=60, 1000 candidates per list: full
               rankings at this corpus size, as in the RRF paper)
  rrf_c50      the same with each list cut at 50 candidates (the default before 2026-11-28)
  convex       the top 50 dense + top 50 BM25 ranked by 0.5*minmax(cosine) + 0.5*minmax(BM25)
then composes an answer from each with the unchanged Composer. Reported per variant: hit@5 (the top five
passages contain every must_contain element: retrieval alone), answer accuracy, abstention on the
unanswerable questions, false abstentions. The composer was calibrated on the dev questions with RRF, so
answer-level figures favour rrf; hit@5 is the like-for-like retrieval comparison.

    python bench/fusion_check.py tests/data/dev.jsonl [more.jsonl ...] [--json]
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import _common  # noqa: F401
import numpy as np
from _common import benchmark_parser, log, machine, now, run_and_emit, table


def minmax(x: np.ndarray) -> np.ndarray:
    low, high = float(x.min()), float(x.max())
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


SHORT_LISTS = 50


def convex_search(search, question: str, k: int, scope=None):
    """SearchIndex.search with the candidates fused by a min-max convex combination instead of RRF."""
    from embeddings.search import SearchResult
    from embeddings.tokenizer import tokenize
    from knowledge.aliases import expand_aliases

    question = expand_aliases(question, search.stored.aliases)
    vector = search.encoder.encode_queries([question])[0]
    tokens = tuple(search.spelling.correct(t) for t in tokenize(question))
    candidates = search.passage_candidates(vector, tokens, search.allowed(scope), SHORT_LISTS)
    rows = np.unique(np.concatenate([candidates.dense_ids.astype(np.int64), candidates.bm25_ids.astype(np.int64)]))
    dense = search.stored.vectors[rows] @ vector
    fused = 0.5 * minmax(dense) + 0.5 * minmax(candidates.bm25_scores[rows])
    order = np.lexsort((rows, -fused))[:k]
    ranked = [(int(rows[i]), float(fused[i])) for i in order]
    return SearchResult(question, vector, tokens, search.hits(ranked, candidates, vector))


def run(args) -> dict:
    from bot.evaluation import contains_all, read_question_set
    from bot.service import KnowledgeService, clean_question
    from bot.settings import Settings
    from embeddings.search import SearchConfig, SearchIndex

    questions = [q for path in args.questions for q in read_question_set(Path(path))]
    with tempfile.TemporaryDirectory(prefix="citebot-bench-fusion-") as home:
        settings = Settings(home=Path(home), corpus=[], include_bundled_corpus=True)
        service = KnowledgeService(settings)
        report = service.build_index().report
        log(f"index: {report.passages} passages from {report.sources} sources; {len(questions)} questions")
        search, composer = service.searchable()
        short = SearchIndex(search.stored, search.encoder, SearchConfig(candidates=SHORT_LISTS))
        k = settings.retrieve_passages
        rows = {"rrf": [], "rrf_c50": [], "convex": []}
        for q in questions:
            text = clean_question(q.question, settings.max_question_chars)
            for name, result in (("rrf", search.search(text, k=k)), ("rrf_c50", short.search(text, k=k)),
                                 ("convex", convex_search(search, text, k))):
                answer = composer.compose(result)
                top5 = " ".join(h.record.passage.text for h in result.hits[:5])
                rows[name].append({"id": q.id, "answerable": q.answerable, "abstained": answer.abstained,
                                   "hit_at_5": q.answerable and contains_all(top5, q.must_contain),
                                   "correct": q.answerable and not answer.abstained
                                   and contains_all(answer.answer, q.must_contain)})

    def share(items, key):
        return round(sum(1 for r in items if r[key]) / len(items), 4) if items else None

    summary = {}
    for name, items in rows.items():
        answerable = [r for r in items if r["answerable"]]
        unanswerable = [r for r in items if not r["answerable"]]
        summary[name] = {"hit_at_5": share(answerable, "hit_at_5"), "answer_accuracy": share(answerable, "correct"),
                         "abstention_accuracy": share(unanswerable, "abstained"),
                         "false_abstentions": share(answerable, "abstained")}
    changed = [{"id": a["id"], **{name: rows[name][i]["hit_at_5"] for name in rows}}
               for i, a in enumerate(rows["rrf"]) if len({rows[name][i]["hit_at_5"] for name in rows}) > 1]
    return {"benchmark": "fusion_check", "date": now(), "machine": machine(),
            "question_files": [str(p) for p in args.questions], "questions": len(questions),
            "answerable": sum(1 for q in questions if q.answerable), "summary": summary,
            "hit_at_5_differences": changed}


def human(result: dict) -> str:
    rows = [[name, s["hit_at_5"], s["answer_accuracy"], s["abstention_accuracy"], s["false_abstentions"]]
            for name, s in result["summary"].items()]
    return "\n".join([
        f"Fusion on citebot's corpus: {result['questions']} questions ({result['answerable']} answerable) from "
        + ", ".join(result["question_files"]),
        table(["fusion", "hit@5", "answer acc", "abstention acc", "false abst."], rows),
        "hit@5 differences: " + ("; ".join(d["id"] + " " + " ".join(f"{k}={v}" for k, v in d.items() if k != "id")
                                          for d in result["hit_at_5_differences"]) or "none")])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("questions", nargs="+", help="question sets (.jsonl)")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

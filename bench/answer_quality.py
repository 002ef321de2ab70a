"""Answer quality on question sets: `citebot eval`'s figures for each set, side by side, in one table.

Builds the bundled corpus index in a temporary home (or uses CITEBOT_HOME with --home) and evaluates each
question set with the shipped scorer and example questions. With --from-eval it instead scores saved
`citebot eval --json` outputs (for instance an earlier citebot's, to compare before and after), reading
each answer's quoted sentences from its text, so that sentence precision can be computed for both.

    python bench/answer_quality.py tests/data/dev.jsonl tests/data/extra.jsonl knowledge/corpus/questions/test.jsonl
    python bench/answer_quality.py --from-eval old-dev.json=tests/data/dev.jsonl ...
    python bench/answer_quality.py --backend torch ...        # the same sets on another runtime or precision

Each set's "answers_digest" is a checksum of every answer given (text, abstention, citations), so two runs
that answered identically have equal digests.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path

import _common  # noqa: F401
from _common import benchmark_parser, log, machine, now, run_and_emit, table

KEYS = ("answer_accuracy", "abstention_accuracy", "false_abstentions", "sentence_precision", "hit_at_5",
        "citation_validity")


def set_name(path: str, taken: dict) -> str:
    """A set's name in the results: its file name, or its folder and file name when that is taken (es/test.jsonl)."""
    name = Path(path).name
    return name if name not in taken else f"{Path(path).parent.name}/{name}"


def _summary(report: dict) -> dict:
    summary = {k: report.get(k) for k in ("questions", "answerable", "unanswerable", *KEYS)}
    given = [[row.get("id"), row.get("answer"), row.get("abstained"),
              [c.get("source_id") for c in row.get("citations", [])]]
             for row in report.get("per_question", [])]
    summary["answers_digest"] = hashlib.sha256(json.dumps(given).encode()).hexdigest()[:16]
    return summary


def score_saved(eval_json: Path, questions: Path) -> dict:
    """Sentence precision (and the other figures) of a saved `citebot eval --json` report."""
    from bot.evaluation import is_named_sentence, read_question_set

    report = json.loads(eval_json.read_text(encoding="utf-8"))
    named = {q.id: q.answer_sentences for q in read_question_set(questions)}
    hits = quoted = 0
    for row in report["per_question"]:
        if not row["answerable"] or row["abstained"] or not named.get(row["id"]):
            continue
        sources = {c["n"]: c["source_id"] for c in row["citations"]}
        for sentence, n in re.findall(r"(.+?) \[(\d+)\](?: |$)", row["answer"]):
            quoted += 1
            # The saved answer does not say where in its passage a sentence stood; a statistics row's figure
            # comes first, so position 0 is what a named row would match.
            hits += is_named_sentence(sentence.strip(), sources.get(int(n), ""), 0, named[row["id"]])
    report["sentence_precision"] = round(hits / quoted, 4) if quoted else None
    return _summary(report)


def run(args) -> dict:
    results: dict[str, dict] = {}
    if args.from_eval:
        for pair in args.from_eval:
            saved, questions = pair.split("=", 1)
            results[set_name(questions, results)] = score_saved(Path(saved), Path(questions))
        return {"date": now(), "machine": machine(), "mode": "saved eval outputs", "sets": results}
    from bot.evaluation import evaluate, read_question_set
    from bot.service import KnowledgeService
    from bot.settings import Settings

    with tempfile.TemporaryDirectory(prefix="citebot-bench-quality-") as home:
        settings = Settings(home=Path(args.home or home), corpus=[], include_bundled_corpus=True,
                            encoder_backend=args.backend, encoder_precision=args.precision)
        service = KnowledgeService(settings)
        service.build_index()
        for path in args.questions:
            log(f"evaluating {path}")
            results[set_name(path, results)] = _summary(evaluate(service, read_question_set(Path(path))))
        scorer = service.scorer.provenance
        runtime = service.encoder.description
    return {"date": now(), "machine": machine(), "mode": "current engine", "encoder": runtime, "scorer": scorer,
            "sets": results}


def human(result: dict) -> str:
    rows = [[name, *(("" if s.get(k) is None else s.get(k)) for k in KEYS), f"{s['answerable']}+{s['unanswerable']}"]
            for name, s in result["sets"].items()]
    return table(["set", *KEYS, "questions"], rows)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("questions", nargs="*", help="question sets (.jsonl) to evaluate")
    parser.add_argument("--from-eval", nargs="*", metavar="EVAL.json=QUESTIONS.jsonl",
                        help="score saved `citebot eval --json` outputs instead of running the engine")
    parser.add_argument("--home", help="use this CITEBOT_HOME (its index) instead of a temporary one")
    parser.add_argument("--backend", default="auto", help="CITEBOT_ENCODER_BACKEND for this run (auto, onnx, torch)")
    parser.add_argument("--precision", default="fp32", help="CITEBOT_ENCODER_PRECISION for this run (fp32, int8)")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()

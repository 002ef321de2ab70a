"""`citebot eval`, `calibrate`, `calibrate-pins` and `pin`: measuring and fitting the answers."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands.common import print_json, progress_bar, service_for
from bot.errors import EXIT_OK, EXIT_USAGE
from knowledge.languages import ENGLISH, LANGUAGES

if TYPE_CHECKING:
    from bot.service import KnowledgeService
    from bot.settings import Settings


def cmd_eval(args: argparse.Namespace) -> int:
    """`citebot eval`: score the answers to a labelled question set."""
    from bot.evaluation import evaluate, read_question_set

    questions = read_question_set(Path(args.file))
    service = service_for(args, preload=True)
    service.searchable(progress=progress_bar())
    report = evaluate(service, questions)
    if args.json:
        print_json(report)
        return EXIT_OK
    for row in report["per_question"]:
        if row["answerable"]:
            mark = "ok  " if row["correct"] else ("ABST" if row["abstained"] else "MISS")
        else:
            mark = "ok  " if row["abstained"] else "ANSW"
        print(f"{mark} {row['id']:>5}  {row['question'][:70]}")
    print()
    for key in ("answer_accuracy", "hit_at_5", "abstention_accuracy", "false_abstentions", "sentence_precision",
                "citation_validity"):
        print(f"{key:>20}: {report[key]}")
    print(f"{'questions':>20}: {report['questions']} ({report['answerable']} answerable)")
    return EXIT_OK

def cmd_calibrate(args: argparse.Namespace) -> int:
    """`citebot calibrate`: fit the answer scorer on train, choose on validation."""
    from bot.answering.scorer import BUNDLED_MULTILINGUAL_SCORER, BUNDLED_SCORER, AnswerScorer
    from bot.answering.training import calibrate_index
    from bot.evaluation import read_question_set
    from embeddings.atomic import write_text_atomic

    train = [q for path in args.train for q in read_question_set(Path(path))]
    validation = [q for path in args.validation for q in read_question_set(Path(path))]
    # The scorer being fitted is not used yet.
    service = service_for(args, scorer=AnswerScorer.untrained(), multilingual_scorer=AnswerScorer.untrained())
    service.searchable_in(args.language, progress=progress_bar())
    with tempfile.TemporaryDirectory(prefix="citebot-cross-fit-") as scratch:
        try:
            # The English index's model is tuned on train questions: their cosines are not a new question's.
            cross = _cross_fitting(service.settings, Path(scratch)) if args.language == ENGLISH else []
            fusion = {"fusion_choices": tuple(args.fusion)} if args.fusion else {}
            scorer, outcome = calibrate_index(service, train, validation, args.language, **fusion,
                                              cross_fitted=cross, sources={
                "train": " ".join(args.train), "validation": " ".join(args.validation),
                "index": "english" if args.language == ENGLISH else "multilingual"})
        except ValueError as exc:
            print(f"error: cannot calibrate: {exc}", file=sys.stderr)
            return EXIT_USAGE
    out = Path(args.out) if args.out else (BUNDLED_SCORER if args.language == ENGLISH
                                           else BUNDLED_MULTILINGUAL_SCORER)
    write_text_atomic(out, scorer.to_json())
    print(f"wrote {out}: answer threshold {scorer.answer_threshold:.2f}, extra {scorer.extra_threshold:.2f}, "
          f"fusion (dense, BM25) {scorer.fusion}, adapter {'yes' if scorer.adapter else 'no'}; "
          f"on validation answer_accuracy {outcome.answer_accuracy}, "
          f"abstention_accuracy {outcome.abstention_accuracy}, sentence_precision {outcome.sentence_precision}")
    return EXIT_OK

def _cross_fitting(settings: Settings, scratch: Path) -> list[tuple[KnowledgeService, frozenset[str]]]:
    """For each fold of the tuning questions, a service over an index embedded by a model tuned without it."""
    from bot.answering.scorer import AnswerScorer
    from bot.encoder_tuning import FOLDS, tuned_encoder, tuning_folds
    from bot.service import KnowledgeService

    folds = tuning_folds(settings)
    services = []
    for fold in range(FOLDS if folds else 0):
        print(f"cross-fitting: the index embedded by the model tuned without fold {fold + 1} of {FOLDS}",
              file=sys.stderr)
        fold_settings = replace(settings, home=scratch / f"fold-{fold}", languages=[ENGLISH], index_dir=None,
                                database_url=None)
        service = KnowledgeService(fold_settings, scorer=AnswerScorer.untrained(),
                                   encoder=tuned_encoder(settings, without_fold=fold))
        service.build_index()
        services.append((service, frozenset(i for i, f in folds.items() if f == fold)))
    return services


def _fusion_choice(text: str) -> tuple[float, float]:
    """`--fusion 2,1`: a (dense, BM25) pair of non-negative weights."""
    try:
        dense, bm25 = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not two weights like 1,1 or 2,1") from None
    if dense < 0 or bm25 < 0 or dense + bm25 == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the weights must be non-negative and not both 0")
    return dense, bm25


def cmd_calibrate_pins(args: argparse.Namespace) -> int:
    """`citebot calibrate-pins`: fit the pin matcher on question pairs."""
    from bot.answering.pin_matcher import BUNDLED_PIN_MATCHER, PinMatcher
    from bot.answering.pin_training import fit_pin_matcher, pair_data_for, read_pairs

    service = service_for(args, pin_matcher=PinMatcher.untrained())
    search, _ = service.searchable(progress=progress_bar())
    train = pair_data_for(search, read_pairs(Path(args.train)))
    validation = pair_data_for(search, read_pairs(Path(args.validation)))
    matcher = fit_pin_matcher(train, validation)
    matcher = replace(matcher, provenance={**matcher.provenance, "train": Path(args.train).name,
                                           "validation": Path(args.validation).name})
    out = Path(args.out) if args.out else BUNDLED_PIN_MATCHER
    matcher.save(out)
    p = matcher.provenance
    metric = f"penalty {p['metric_penalty']}" if matcher.metric is not None else "none"
    print(f"wrote {out}: threshold {matcher.threshold:.3f} (penalty {p['penalty']}; learned metric: {metric}); "
          f"on validation precision "
          f"{p['validation_precision']}, recall {p['validation_recall']}")
    return EXIT_OK

def cmd_pin(args: argparse.Namespace) -> int:
    """`citebot pin add|list|remove`: pinned answers on the shared corpus, served in every server."""
    from knowledge.records import SHARED_SCOPE

    service = service_for(args)
    if args.pin_command == "add":  # the service refuses both or neither of --sentence and --decline
        pin = service.pin(SHARED_SCOPE, args.question, args.sentence or [], decline=args.decline,
                          pinned_by=args.by or os.environ.get("USER", "cli"))
        print(pin.id)
        return EXIT_OK
    if args.pin_command == "remove":
        removed = service.remove_pin(SHARED_SCOPE, args.id)
        print(f"removed pin {removed.id}: {removed.question}")
        return EXIT_OK
    pins = service.pins(SHARED_SCOPE)
    broken = {p.id for p in service.broken_pins(SHARED_SCOPE)}
    if args.json:
        print_json([{"id": p.id, "question": p.question, "decline": p.decline, "by": p.pinned_by, "at": p.pinned_at,
                      "broken": p.id in broken, "sentences": [{"source_id": s.source_id, "text": s.text}
                                                              for s in p.sentences]} for p in pins])
        return EXIT_OK
    for p in pins:
        what = "decline" if p.decline else f"{len(p.sentences)} sentence(s)"
        flag = "  BROKEN: a sentence is no longer in its source" if p.id in broken else ""
        print(f"{p.id}\t{p.question}\t({what}, by {p.pinned_by}){flag}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands that measure and fit answers."""
    p = sub.add_parser("eval", help="evaluate answers on a question set (.jsonl)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("calibrate", help="fit the answer scorer on labelled questions (train and validation splits)")
    p.add_argument("--train", required=True, nargs="+",
                   help="question set(s) to fit the weights on (.jsonl with answer_sentences)")
    p.add_argument("--validation", required=True, nargs="+",
                   help="question set(s) to choose the penalty and thresholds on")
    p.add_argument("--language", choices=LANGUAGES, default=ENGLISH,
                   help="en fits the English index's scorer; another language fits the multilingual index's")
    p.add_argument("--out", help="where to write the scorer (default: the bundled corpus's answer_scorer.json, "
                                 "or answer_scorer.multilingual.json)")
    p.add_argument("--fusion", action="append", type=_fusion_choice, metavar="DENSE,BM25",
                   help="retrieval fusion weights to try, e.g. 1,1 (repeat for several; default: 1,1 2,1 1,0.5)")
    p.set_defaults(func=cmd_calibrate)
    p = sub.add_parser("calibrate-pins", help="fit the pin matcher on labelled question pairs (train, validation)")
    p.add_argument("--train", required=True, help="question pairs (.jsonl) to fit on")
    p.add_argument("--validation", required=True, help="question pairs (.jsonl) to choose penalty and threshold on")
    p.add_argument("--out", help="where to write the matcher (default: the bundled corpus's pin_matcher.json)")
    p.set_defaults(func=cmd_calibrate_pins)
    p = sub.add_parser("pin", help="pinned answers on the shared corpus (served in every server)")
    pin_sub = p.add_subparsers(dest="pin_command", required=True)
    q = pin_sub.add_parser("add", help="pin sentences (word for word from a source) or a decline to a question")
    q.add_argument("--question", required=True)
    q.add_argument("--sentence", action="append", help="an exact sentence of a source; repeat, in answer order")
    q.add_argument("--decline", action="store_true", help="pin a refusal: citebot declines this question")
    q.add_argument("--by", help="who pins it (default: $USER)")
    q.set_defaults(func=cmd_pin)
    q = pin_sub.add_parser("list", help="list the shared pins")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_pin)
    q = pin_sub.add_parser("remove", help="remove a shared pin")
    q.add_argument("id", type=int)
    q.set_defaults(func=cmd_pin)

"""The `citebot` command: index, ask, sources, stats, eval, check, serve, and run (terminal Q&A or Discord)."""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import EXIT_ERROR, EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, CitebotError
from embeddings.errors import EmbeddingsError
from knowledge.languages import ENGLISH, LANGUAGES

# Commands that answer once and end: they skip garbage collection and interpreter teardown (see console).
ONE_SHOT_COMMANDS = frozenset({"ask", "sources", "stats", "check", "prepare"})

if TYPE_CHECKING:  # imported where used: a one-shot command loads only what it needs
    from bot.answering.pin_matcher import PinMatcher
    from bot.answering.scorer import AnswerScorer
    from bot.progress import ProgressBar
    from bot.service import KnowledgeService


def _service(args: argparse.Namespace, scorer: AnswerScorer | None = None, preload: bool = False,
             pin_matcher: PinMatcher | None = None,
             multilingual_scorer: AnswerScorer | None = None) -> KnowledgeService:
    """The answering service; with preload, the model loads in a thread while the rest starts up."""
    from bot.settings import build_encoder, load_settings

    settings = load_settings(home=args.home)
    encoder = build_encoder(settings)
    if preload:
        encoder.preload()  # started before the service's own imports, which it overlaps (about 0.4 s)
    from bot.service import KnowledgeService

    return KnowledgeService(settings, scorer=scorer, encoder=encoder, pin_matcher=pin_matcher,
                            multilingual_scorer=multilingual_scorer)


def _progress() -> ProgressBar:
    """A progress bar for embedding passages."""
    from bot.progress import ProgressBar

    return ProgressBar("embedding passages")


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_index(args: argparse.Namespace) -> int:
    """`citebot index`: bring the index (and the multilingual one) up to date with the sources."""
    service = _service(args)
    outcome = service.build_index(rebuild=args.rebuild, progress=_progress())
    report = outcome.report
    print(f"embedded {report.embedded}, reused {report.reused}, removed {report.removed} passages; "
          f"{report.passages} passages from {report.sources} sources in {report.generation}")
    if (multilingual := outcome.multilingual) is not None:
        print(f"multilingual index: embedded {multilingual.embedded}, reused {multilingual.reused}, removed "
              f"{multilingual.removed} passages; {multilingual.passages} passages from {multilingual.sources} "
              f"sources, every language, in {multilingual.generation}")
    for problem in outcome.problems:
        print(f"skipped {problem.path}: {problem.reason}", file=sys.stderr)
    if outcome.problems:
        print(f"{len(outcome.problems)} file(s) skipped; fix them and run `citebot index` again.", file=sys.stderr)
        return EXIT_SKIPPED
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    """`citebot ask`: answer one question, as text or JSON."""
    from bot.rendering.terminal import render_answer

    service = _service(args, preload=True)
    service.searchable(progress=_progress())
    answer, _ = service.answer_and_record(" ".join(args.question), surface="cli", language=args.lang)
    if args.json:
        _print_json(answer.to_json())
    else:
        print(render_answer(answer))
    return EXIT_OK


def cmd_sources(args: argparse.Namespace) -> int:
    """`citebot sources`: list every source with its date."""
    from bot.rendering.terminal import render_sources

    sources = _service(args).sources()
    if args.json:
        _print_json([{k: getattr(s, k) for k in ("id", "title", "publisher", "published", "url", "kind", "author")}
                     for s in sources])
    else:
        print(render_sources(sources))
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    """`citebot stats`: the statistics rows as a table."""
    from dataclasses import asdict

    from bot.rendering.terminal import render_statistics

    rows = _service(args).statistics(" ".join(args.query))
    if args.json:
        _print_json([{k: v for k, v in asdict(r).items() if k != "path"} for r in rows])
    else:
        print(render_statistics(rows))
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """`citebot eval`: score the answers to a labelled question set."""
    from bot.evaluation import evaluate, read_question_set

    questions = read_question_set(Path(args.file))
    service = _service(args, preload=True)
    service.searchable(progress=_progress())
    report = evaluate(service, questions)
    if args.json:
        _print_json(report)
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
    service = _service(args, scorer=AnswerScorer.untrained(), multilingual_scorer=AnswerScorer.untrained())
    service.searchable_in(args.language, progress=_progress())
    try:
        scorer, outcome = calibrate_index(service, train, validation, args.language, sources={
            "train": " ".join(args.train), "validation": " ".join(args.validation),
            "index": "english" if args.language == ENGLISH else "multilingual"})
    except ValueError as exc:
        print(f"error: cannot calibrate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else (BUNDLED_SCORER if args.language == ENGLISH
                                           else BUNDLED_MULTILINGUAL_SCORER)
    write_text_atomic(out, scorer.to_json())
    print(f"wrote {out}: answer threshold {scorer.answer_threshold:.2f}, extra {scorer.extra_threshold:.2f}, "
          f"fusion (dense, BM25) {scorer.fusion}; on validation answer_accuracy {outcome.answer_accuracy}, "
          f"abstention_accuracy {outcome.abstention_accuracy}, sentence_precision {outcome.sentence_precision}")
    return EXIT_OK


def cmd_calibrate_pins(args: argparse.Namespace) -> int:
    """`citebot calibrate-pins`: fit the pin matcher on question pairs."""
    from bot.answering.pin_matcher import BUNDLED_PIN_MATCHER, PinMatcher
    from bot.answering.pin_training import fit_pin_matcher, pair_data_for, read_pairs

    service = _service(args, pin_matcher=PinMatcher.untrained())
    search, _ = service.searchable(progress=_progress())
    train = pair_data_for(search, read_pairs(Path(args.train)))
    validation = pair_data_for(search, read_pairs(Path(args.validation)))
    matcher = fit_pin_matcher(train, validation)
    matcher = PinMatcher(matcher.model, matcher.threshold, {**matcher.provenance, "train": Path(args.train).name,
                                                           "validation": Path(args.validation).name})
    out = Path(args.out) if args.out else BUNDLED_PIN_MATCHER
    matcher.save(out)
    p = matcher.provenance
    print(f"wrote {out}: threshold {matcher.threshold:.3f} (penalty {p['penalty']}); on validation precision "
          f"{p['validation_precision']}, recall {p['validation_recall']}")
    return EXIT_OK


def cmd_pin(args: argparse.Namespace) -> int:
    """`citebot pin add|list|remove`: pinned answers on the shared corpus, served in every server."""
    from knowledge.records import SHARED_SCOPE

    service = _service(args)
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
        _print_json([{"id": p.id, "question": p.question, "decline": p.decline, "by": p.pinned_by, "at": p.pinned_at,
                      "broken": p.id in broken, "sentences": [{"source_id": s.source_id, "text": s.text}
                                                              for s in p.sentences]} for p in pins])
        return EXIT_OK
    for p in pins:
        what = "decline" if p.decline else f"{len(p.sentences)} sentence(s)"
        flag = "  BROKEN: a sentence is no longer in its source" if p.id in broken else ""
        print(f"{p.id}\t{p.question}\t({what}, by {p.pinned_by}){flag}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """`citebot check`: check a corpus folder and report every problem."""
    from knowledge.corpus_check import check_corpus
    from knowledge.corpus_loader import BUNDLED_CORPUS

    folder = Path(args.folder) if args.folder else BUNDLED_CORPUS
    problems = check_corpus(folder)
    for problem in problems:
        print(problem)
    print(f"{folder}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    broken = _broken_pins(args)
    for pin in broken:
        print(f"pin {pin.id} ({pin.scope}) is not served: a sentence is no longer in its source: {pin.question}")
    return EXIT_OK if not problems and not broken else EXIT_USAGE


def _broken_pins(args: argparse.Namespace) -> list:
    """Pins of every scope whose sentences left their sources, when an index exists to check them against."""
    from bot.errors import IndexUnavailable

    service = _service(args)
    if not service.activity.pins():
        return []
    try:
        service.searchable(build_if_missing=False)
    except IndexUnavailable:
        return []
    return service.broken_pins(None, every_scope=True)


def cmd_prepare(args: argparse.Namespace) -> int:
    """Load the model once (exporting it to ONNX if that backend is used) and say how it runs."""
    from bot.settings import build_encoder, load_settings

    encoder = build_encoder(load_settings(home=args.home))
    print(f"{encoder.model_name}: {encoder.description}, {encoder.dimension} dimensions")
    if encoder.onnx_file is not None:
        from embeddings.onnx_cache import verify_export
        verify_export(encoder.onnx_file)
        print(f"ONNX export {encoder.onnx_file} (checksum ok)")
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    """Terminal Q&A: a prompt on a terminal, or one answer per input line when piped."""
    from bot.rendering.terminal import render_answer

    service = _service(args, preload=True)
    service.searchable(progress=_progress())
    interactive = sys.stdin.isatty()
    if interactive:
        print("citebot: ask about the sources (empty line or Ctrl-D to quit).")
    while True:
        try:
            line = input("question> " if interactive else "")
        except EOFError:
            break
        if not line.strip():
            if interactive:
                break
            continue
        if not interactive:
            print(f"> {line.strip()}")
        try:
            answer, _ = service.answer_and_record(line, surface="terminal", language=getattr(args, "lang", None))
            print(render_answer(answer))
        except CitebotError as exc:
            print(f"error: {exc}")
        print()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """`citebot serve`: run the Discord bot."""
    from bot.settings import load_settings

    settings = load_settings(home=args.home)
    try:
        from bot.discord_app.runner import serve
    except ImportError as exc:  # the Discord layer is optional for terminal use
        print(f"error: the Discord app is not available ({exc})", file=sys.stderr)
        return EXIT_ERROR
    return serve(settings)


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: serve Discord when a token is configured, otherwise answer in the terminal."""
    from bot.settings import load_settings

    if load_settings(home=args.home).discord_token:
        return cmd_serve(args)
    return cmd_chat(args)


def cmd_forget_server(args: argparse.Namespace) -> int:
    """Show, and with --yes delete, what citebot holds for one Discord server."""
    service = _service(args)
    data = service.forget_server(args.server_id) if args.yes else service.server_data(args.server_id)
    a = data.activity
    held = (f"{data.source_files} source file(s), {a.questions} question(s), {a.votes} vote(s), "
            f"{a.settings} setting(s), {a.pins} pinned answer(s), "
            f"{a.audit_entries} audit entr{'y' if a.audit_entries == 1 else 'ies'}")
    if args.yes:
        print(f"Deleted for server {data.scope}: {held}. The index no longer holds its sources.")
    else:
        print(f"Server {data.scope} has {held}.\nNothing was deleted; run again with --yes to delete it all.")
    return EXIT_OK


def cmd_migrate_sqlite_to_postgres(args: argparse.Namespace) -> int:
    """Copy the home's activity (questions, votes, settings, pins, audit log) into PostgreSQL."""
    from bot.activity.copy import copy_sqlite_file
    from bot.settings import load_settings

    settings = load_settings(home=args.home)
    url = args.to or settings.database_url_value
    if not url:
        print("error: name the PostgreSQL database with --to postgresql://... or CITEBOT_DATABASE_URL",
              file=sys.stderr)
        return EXIT_USAGE
    copied = copy_sqlite_file(args.source or settings.activity_db, url)
    print("copied " + ", ".join(f"{count} {table}" for table, count in copied.items())
          + ". Set CITEBOT_DATABASE_URL to this database for every process; the SQLite file is left as it was.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The `citebot` argument parser, one subcommand per job."""
    parser = argparse.ArgumentParser(prog="citebot", description=__doc__)
    parser.add_argument("--home", type=Path, help="data folder (default: $CITEBOT_HOME or ./.citebot)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index from the sources")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question", nargs="+")
    p.add_argument("--json", action="store_true", help="print the JSON object (see README, JSON output)")
    p.add_argument("--lang", choices=LANGUAGES, help="your language, used when the question's words do not tell "
                                                      "(the question's own language wins)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("sources", help="list every source with its date")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sources)
    p = sub.add_parser("stats", help="show statistics as a table")
    p.add_argument("query", nargs="*", help="words every shown row must contain")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
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
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("check", help="check a corpus folder (front matter, ids, dates, URLs, CSV)")
    p.add_argument("folder", nargs="?")
    p.set_defaults(func=cmd_check)
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
    p = sub.add_parser("prepare", help="load the model now, exporting it to ONNX once (make setup runs this)")
    p.set_defaults(func=cmd_prepare)
    p = sub.add_parser("chat", help="answer questions typed in the terminal (or one per stdin line)")
    p.add_argument("--lang", choices=LANGUAGES, help="your language, used when a question's words do not tell")
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("forget-server",
                       help="delete a Discord server's own sources and records (dry run without --yes)")
    p.add_argument("server_id", help="the server (guild) id, as in the logs")
    p.add_argument("--yes", action="store_true", help="really delete")
    p.set_defaults(func=cmd_forget_server)
    p = sub.add_parser("migrate-sqlite-to-postgres", help="copy the home's activity database into an empty "
                                                          "PostgreSQL one (README, Running several processes)")
    p.add_argument("--from", dest="source", type=Path, help="the SQLite file (default: the home's activity.sqlite)")
    p.add_argument("--to", help="postgresql://... (default: $CITEBOT_DATABASE_URL)")
    p.set_defaults(func=cmd_migrate_sqlite_to_postgres)
    p = sub.add_parser("serve", help="run the Discord bot")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("run", help="serve Discord if DISCORD_TOKEN is set, else terminal Q&A")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one citebot command and return its exit code."""
    return _run(build_parser().parse_args(argv))


def console() -> None:
    """The installed `citebot` command: main, with a quick start and a quick end for one-shot commands."""
    args = build_parser().parse_args()
    one_shot = args.command in ONE_SHOT_COMMANDS
    if one_shot:
        gc.disable()  # start-up makes only long-lived objects: collecting them midway is wasted time
    code = _run(args)
    if not one_shot:
        sys.exit(code)
    # Tearing down the interpreter (every module, ONNX Runtime, FAISS) takes a quarter of a second that a
    # finished answer does not need: flush what was written and leave. Nothing else is buffered: the
    # activity log commits each record as it is written.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # closed by a reader that left early, or by us
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    level = logging.INFO if args.verbose or args.command == "serve" else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        return args.func(args)
    except CitebotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except EmbeddingsError as exc:  # a model that cannot be loaded: a setting or an install to fix
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `citebot ask ... | head` closed the pipe early: not an error
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    console()

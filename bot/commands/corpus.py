"""`citebot index`, `check`, `prepare`, `forget-server` and `migrate-sqlite-to-postgres`: the data citebot holds."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.commands.common import progress_bar, service_for
from bot.errors import EXIT_OK, EXIT_SKIPPED, EXIT_USAGE


def cmd_index(args: argparse.Namespace) -> int:
    """`citebot index`: bring the index (and the multilingual one) up to date with the sources."""
    service = service_for(args)
    outcome = service.build_index(rebuild=args.rebuild, progress=progress_bar())
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

    service = service_for(args)
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

def cmd_forget_server(args: argparse.Namespace) -> int:
    """Show, and with --yes delete, what citebot holds for one Discord server."""
    service = service_for(args)
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


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands that keep the data."""
    p = sub.add_parser("index", help="build or update the index from the sources")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("check", help="check a corpus folder (front matter, ids, dates, URLs, CSV)")
    p.add_argument("folder", nargs="?")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("prepare", help="load the model now, fine-tuning it and exporting it to ONNX once "
                                        "(make setup runs this)")
    p.set_defaults(func=cmd_prepare)
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

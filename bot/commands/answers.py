"""`citebot ask`, `chat`, `sources`, `stats`, `serve` and `run`: answers, in the terminal or on Discord."""
from __future__ import annotations

import argparse
import sys

from bot.commands.common import print_json, progress_bar, service_for
from bot.errors import EXIT_ERROR, EXIT_OK, CitebotError
from knowledge.languages import LANGUAGES


def cmd_ask(args: argparse.Namespace) -> int:
    """`citebot ask`: answer one question, as text or JSON."""
    from bot.rendering.terminal import render_answer

    service = service_for(args, preload=True)
    service.searchable(progress=progress_bar())
    answer, _ = service.answer_and_record(" ".join(args.question), surface="cli", language=args.lang)
    if args.json:
        print_json(answer.to_json())
    else:
        print(render_answer(answer))
    return EXIT_OK

def cmd_sources(args: argparse.Namespace) -> int:
    """`citebot sources`: list every source with its date."""
    from bot.rendering.terminal import render_sources

    sources = service_for(args).sources()
    if args.json:
        print_json([{k: getattr(s, k) for k in ("id", "title", "publisher", "published", "url", "kind", "author")}
                     for s in sources])
    else:
        print(render_sources(sources))
    return EXIT_OK

def cmd_stats(args: argparse.Namespace) -> int:
    """`citebot stats`: the statistics rows as a table."""
    from dataclasses import asdict

    from bot.rendering.terminal import render_statistics

    rows = service_for(args).statistics(" ".join(args.query))
    if args.json:
        print_json([{k: v for k, v in asdict(r).items() if k != "path"} for r in rows])
    else:
        print(render_statistics(rows))
    return EXIT_OK

def cmd_chat(args: argparse.Namespace) -> int:
    """Terminal Q&A: a prompt on a terminal, or one answer per input line when piped."""
    from bot.rendering.terminal import render_answer

    service = service_for(args, preload=True)
    service.searchable(progress=progress_bar())
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


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands that answer."""
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
    p = sub.add_parser("chat", help="answer questions typed in the terminal (or one per stdin line)")
    p.add_argument("--lang", choices=LANGUAGES, help="your language, used when a question's words do not tell")
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("serve", help="run the Discord bot")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("run", help="serve Discord if DISCORD_TOKEN is set, else terminal Q&A")
    p.set_defaults(func=cmd_run)

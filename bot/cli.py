"""The `citebot` command: index, ask, sources, stats, eval, check, serve, and run (terminal Q&A or Discord)."""
from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
from pathlib import Path

from bot.errors import EXIT_OK, CitebotError

# Commands that answer once and end: they skip garbage collection and interpreter teardown (see console).
ONE_SHOT_COMMANDS = frozenset({"ask", "sources", "stats", "check", "prepare"})


def build_parser() -> argparse.ArgumentParser:
    """The `citebot` argument parser, one subcommand per job, each group registered by its module."""
    from bot.commands import answers, corpus, quality

    parser = argparse.ArgumentParser(prog="citebot", description=__doc__)
    parser.add_argument("--home", type=Path, help="data folder (default: $CITEBOT_HOME or ./.citebot)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (corpus, answers, quality):
        group.register(sub)
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
    """Set up logging and run the chosen command; our errors become a message and an exit code."""
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
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `citebot ask ... | head` closed the pipe early: not an error
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    console()

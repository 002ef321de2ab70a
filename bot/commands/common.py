"""What every `citebot` command shares: the service, a progress bar, JSON output."""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: a one-shot command loads only what it needs
    from bot.answering.pin_matcher import PinMatcher
    from bot.answering.scorer import AnswerScorer
    from bot.progress import ProgressBar
    from bot.service import KnowledgeService


def service_for(args: argparse.Namespace, scorer: AnswerScorer | None = None, preload: bool = False,
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


def progress_bar() -> ProgressBar:
    """A progress bar for embedding passages."""
    from bot.progress import ProgressBar

    return ProgressBar("embedding passages")


def print_json(data: object) -> None:
    """Print data as indented JSON, non-ASCII kept."""
    print(json.dumps(data, ensure_ascii=False, indent=2))

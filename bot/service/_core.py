"""The answering API every surface uses: keeps the index current and answers questions in a scope."""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace
from pathlib import Path

from bot.activity import ActivityStore, open_store
from bot.answering.compose import AnswerConfig, Composer, ranked_passages
from bot.answering.examples import BUNDLED_EXAMPLES, BUNDLED_MULTILINGUAL_EXAMPLES, ExampleMemory
from bot.answering.models import Answer
from bot.answering.pin_matcher import BUNDLED_PIN_MATCHER, PinMatcher, load_pin_matcher
from bot.answering.question_types import FIGURE_WANTS, classify
from bot.answering.scorer import BUNDLED_MULTILINGUAL_SCORER, BUNDLED_SCORER, AnswerScorer, load_scorer
from bot.evaluation import Question, read_question_set
from bot.messages import say
from bot.pinning import PinBoard, pinned_answer, visible_scopes
from bot.replication import IndexRole
from bot.service._common import MULTILINGUAL_FOLDER, IndexOutcome, Progress, clean_question
from bot.service._loading import IndexLoading
from bot.service._pins import PinnedAnswers
from bot.service._replicas import IndexReplicas
from bot.service._sources import OrganizerSources
from bot.settings import Settings, build_encoder
from bot.uploads import UploadFolders
from embeddings.blas import limit_blas_threads
from embeddings.encoder import Encoder
from embeddings.generation import StoredIndex
from embeddings.index_store import IndexDamagedError, IndexMissingError, IndexStore
from embeddings.multilingual import MULTILINGUAL_MODEL, MultilingualEncoder
from embeddings.search import SearchConfig, SearchIndex, SearchResult
from embeddings.vector_store import VectorStoreConfig
from knowledge.corpus_loader import BUNDLED_CORPUS, Corpus, CorpusFolder, load_corpus
from knowledge.languages import ENGLISH, detect_language
from knowledge.readers import SourceDefaults
from knowledge.records import SHARED_SCOPE, Source, StatisticRow

log = logging.getLogger(__name__)


def fused_as(scorer: AnswerScorer, base: SearchConfig = SearchConfig()) -> SearchConfig:
    """Retrieval as configured, with the fusion weights the scorer was fitted with."""
    return replace(base, dense_weight=scorer.fusion[0], bm25_weight=scorer.fusion[1])


def in_language(answer: Answer, language: str) -> Answer:
    """The answer marked with the language it is shown in; an abstention says so in that language."""
    return replace(answer, language=language, answer=say("abstain", language) if answer.abstained else answer.answer)


class KnowledgeService(IndexLoading, PinnedAnswers, OrganizerSources, IndexReplicas):
    """Owns the encoder, the index on disk and the searchable index in memory."""

    def __init__(self, settings: Settings, answer_config: AnswerConfig | None = None,
                 scorer: AnswerScorer | None = None, encoder: Encoder | None = None,
                 pin_matcher: PinMatcher | None = None, multilingual_scorer: AnswerScorer | None = None,
                 search_config: SearchConfig = SearchConfig()) -> None:
        self.settings = settings
        limit_blas_threads(settings.blas_threads)  # process-wide: FAISS and numpy are loaded by now
        self.search_config = search_config  # retrieval's settings; the scorer's fusion weights override its own
        self._multilingual_scorer = multilingual_scorer
        self.scorer = scorer or load_scorer(settings.answer_scorer or BUNDLED_SCORER)
        self.encoder = encoder or build_encoder(settings)
        self.store = IndexStore(settings.index_home)
        self.activity: ActivityStore = open_store(settings.database_url_value, settings.activity_db)
        self.role = IndexRole(settings.index_builder, self.activity)
        self.pin_board = PinBoard(self.activity, pin_matcher or load_pin_matcher(settings.pin_matcher
                                                                                 or BUNDLED_PIN_MATCHER))
        self.answer_config = answer_config or AnswerConfig(max_sentences=settings.max_answer_sentences)
        self._search: SearchIndex | None = None
        self._composer: Composer | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.uploads = UploadFolders(settings.uploads_home, self._write_lock)
        self._rejected_generation: Path | None = None  # a newer generation found damaged: not retried
        self._switch_lock = threading.Lock()
        self._switching: threading.Thread | None = None
        # Questions in other languages: a second index of every source, embedded by a multilingual model.
        self.multilingual_encoder = MultilingualEncoder() if settings.multilingual else None
        self.multilingual_store = IndexStore(settings.index_home / MULTILINGUAL_FOLDER)
        self._multilingual: tuple[SearchIndex, Composer] | None = None

    # ----- corpus and index --------------------------------------------------------------------------

    def corpus_folders(self) -> list[CorpusFolder]:
        """The shared folders, then one folder per server that added sources."""
        folders = [CorpusFolder(BUNDLED_CORPUS)] if self.settings.include_bundled_corpus else []
        folders += [CorpusFolder(Path(p)) for p in self.settings.corpus]
        uploads = self.settings.uploads_home
        if uploads.is_dir():
            for scope_dir in sorted(p for p in uploads.iterdir() if p.is_dir()):
                folders.append(CorpusFolder(scope_dir, SourceDefaults(scope=scope_dir.name)))
        return folders

    def load_corpus(self) -> Corpus:
        """Read every source; unreadable files are reported, not fatal."""
        corpus = load_corpus(self.corpus_folders())
        for problem in corpus.problems:
            log.warning("skipped %s", problem)
        return corpus

    def build_index(self, rebuild: bool = False, progress: Progress | None = None) -> IndexOutcome:
        """Bring the index up to date with the sources and switch the searchable index to it."""
        with self._write_lock:
            corpus = self.uploads.with_metadata(self.load_corpus())
            # With a multilingual index, the English one holds English sources only: English questions are
            # answered as before, and every other language is answered from the multilingual index.
            english = (replace(corpus, sources=tuple(s for s in corpus.sources if s.language == ENGLISH))
                       if self.multilingual_encoder is not None else corpus)
            report = self.store.build(english, self.encoder, rebuild=rebuild, progress=progress)
            if report.changed or self._search is None:
                self._install(self.store.load())
            multilingual = None
            if self.multilingual_encoder is not None:
                multilingual = self.multilingual_store.build(corpus, self.multilingual_encoder, rebuild=rebuild,
                                                             progress=progress)
                if multilingual.changed and self._multilingual is not None:
                    self._install_multilingual(self.multilingual_store.load())
            return IndexOutcome(report, corpus.problems, multilingual)

    def _searchable_over(self, stored: StoredIndex, encoder: Encoder | MultilingualEncoder, scorer: AnswerScorer,
                         multilingual: bool) -> tuple[SearchIndex, Composer]:
        """A loaded generation made searchable, with the scorer and example questions that answer from it."""
        vector_config = VectorStoreConfig(approximate_above=self.settings.approximate_search_above)
        search = SearchIndex(stored, encoder, fused_as(scorer, self.search_config), vector_config)  # type: ignore[arg-type]
        examples = ExampleMemory.build(self.example_questions(multilingual), search, self.settings.cache_home)
        return search, Composer(search, scorer, self.answer_config, examples)

    def _install(self, stored: StoredIndex) -> None:
        # One assignment swaps both: a question in flight keeps the objects it already holds.
        self._search, self._composer = self._searchable_over(stored, self.encoder, self.scorer, False)

    def _install_multilingual(self, stored: StoredIndex) -> None:
        scorer = self._multilingual_scorer or load_scorer(self.settings.multilingual_scorer
                                                          or BUNDLED_MULTILINGUAL_SCORER)
        self._multilingual = self._searchable_over(stored, self.multilingual_encoder, scorer, True)

    def example_questions(self, multilingual: bool = False) -> list[Question]:
        """The labelled example questions answers draw on (by default the bundled corpus's train and validation)."""
        paths = self.settings.example_questions
        if paths is None:
            bundled = BUNDLED_MULTILINGUAL_EXAMPLES if multilingual else BUNDLED_EXAMPLES
            paths = [p for p in bundled if p.is_file()] if self.settings.include_bundled_corpus else []
        return [q for path in paths for q in read_question_set(Path(path))]

    def question_language(self, question: str, preferred: str | None = None) -> str:
        """The language to answer in: the question's own when its words tell, else the member's, else English."""
        preferred = preferred if preferred in self.settings.languages else ENGLISH
        language = detect_language(question, fallback=preferred)
        return language if language in self.settings.languages else ENGLISH

    def all_sources(self) -> dict[str, Source]:
        """Every indexed source by key, in every language (the English index holds English ones only)."""
        search, _ = self.searchable()
        sources = dict(search.stored.sources)
        if self._multilingual is not None:
            sources.update(self._multilingual[0].stored.sources)
        elif self.multilingual_encoder is not None:  # not loaded yet: read it, without loading its model
            try:
                sources.update(self.multilingual_store.load(model=MULTILINGUAL_MODEL).sources)
            except (IndexMissingError, IndexDamagedError) as exc:
                log.warning("sources in other languages are not listed: %s", exc)
        return sources

    # ----- answering ---------------------------------------------------------------------------------

    def answer(self, question: str, scope: str | None = None, language: str | None = None) -> Answer:
        """Answer a question from the sources visible in scope (the shared corpus plus that server's).

        `language` is the member's (their Discord client's, or `--lang`); the question's own words win.
        """
        text = clean_question(question, self.settings.max_question_chars)
        language = self.question_language(text, language)
        search, composer = self.searchable_in(language)
        result = self.retrieve(search, text, scope)
        # Pins are matched on the English index's model, on which the pin matcher was fitted.
        match = self.pin_board.match(search, result, scope) if search is self._search else None
        if match is not None:  # organizers chose the answer to a question that means the same
            log.info("answered %r from pin %d (p=%.2f)", text[:120], match[0].id, match[1])
            return in_language(pinned_answer(text, match[0], search, ranked_passages(result)), language)
        # The composer sees the question with aliases expanded; the answer keeps the user's wording.
        answer = in_language(replace(composer.compose(result), question=text), language)
        if answer.abstained:
            log.info("abstained on %r: %s", text[:120], answer.reason)
        return answer

    def retrieve(self, search: SearchIndex, question: str, scope: str | None = None) -> SearchResult:
        """Passages and sentences for a question; statistics rows only when it asks for a figure or date."""
        figures = classify(question) in FIGURE_WANTS
        return search.search(question, scope=scope, k=self.settings.retrieve_passages, statistics=figures)

    def answer_and_record(self, question: str, scope: str | None = None, *, user_id: str = "",
                          surface: str = "cli", language: str | None = None) -> tuple[Answer, int]:
        """Answer, and record the question (unanswered ones are what organizers see in /kb gaps)."""
        answer = self.answer(question, scope, language)
        search, _ = self.searchable()
        lookup = self.pin_board.lookup(search)
        quoted = tuple(c.reference for text, _, _ in answer.quoted
                       if (c := lookup.find(text, visible_scopes(scope))) is not None)
        question_id = self.activity.record_question(scope or SHARED_SCOPE, user_id, answer.question,
                                                    answer.abstained, surface, answer.answer, quoted)
        return answer, question_id

    def sources(self, scope: str | None = None) -> list[Source]:
        """Sources visible in scope (shared plus that server's), statistics rows excluded, by date."""
        search, _ = self.searchable()
        visible = (SHARED_SCOPE, scope or SHARED_SCOPE)
        items = [s for s in search.stored.sources.values() if s.scope in visible and s.kind != "statistic"]
        return sorted(items, key=lambda s: (s.scope != SHARED_SCOPE, s.published, s.id))

    def statistics(self, query: str = "", scope: str | None = None) -> list[StatisticRow]:
        """Statistics rows visible in scope whose text contains every word of query."""
        search, _ = self.searchable()
        visible = (SHARED_SCOPE, scope or SHARED_SCOPE)
        words = [w for w in re.split(r"\s+", query.lower()) if w]
        rows = [row for row_scope, row in search.stored.statistics if row_scope in visible]
        return [row for row in rows if all(w in " ".join((row.statistic, row.scope, row.note, row.value)).lower()
                                           for w in words)]


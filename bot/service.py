"""The answering API every surface uses: keeps the index current and answers questions in a scope."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bot.activity import ActivityStore, Pin, ScopeActivity, Suggestion, open_store
from bot.answering.compose import AnswerConfig, Composer, ranked_passages
from bot.answering.examples import BUNDLED_EXAMPLES, BUNDLED_MULTILINGUAL_EXAMPLES, ExampleMemory
from bot.answering.models import Answer
from bot.answering.pin_matcher import BUNDLED_PIN_MATCHER, PinMatcher, load_pin_matcher
from bot.answering.question_types import FIGURE_WANTS, classify
from bot.answering.scorer import BUNDLED_MULTILINGUAL_SCORER, BUNDLED_SCORER, AnswerScorer, load_scorer
from bot.errors import CitebotError, IndexUnavailable, QuestionError, SourceRejected
from bot.evaluation import Question, read_question_set
from bot.messages import say
from bot.pinning import Candidate, PinBoard, pinned_answer, visible_scopes
from bot.replication import IndexKeeper, IndexRole, wait_for_request
from bot.settings import Settings, build_encoder
from bot.uploads import UploadFolders, provenance
from embeddings.encoder import Encoder
from embeddings.generation import StoredIndex
from embeddings.index_store import BuildReport, IndexDamagedError, IndexMissingError, IndexStore
from embeddings.multilingual import MULTILINGUAL_MODEL, MultilingualEncoder
from embeddings.search import SearchConfig, SearchIndex, SearchResult
from embeddings.vector_store import VectorStoreConfig
from knowledge.corpus_loader import BUNDLED_CORPUS, Corpus, CorpusFolder, load_corpus
from knowledge.errors import SourceReadError
from knowledge.languages import ENGLISH, detect_language
from knowledge.readers import SUPPORTED_SUFFIXES, SourceDefaults, read_source_bytes, slugify
from knowledge.records import SHARED_SCOPE, Source, StatisticRow

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
MULTILINGUAL_FOLDER = "multilingual"  # under the home: the multilingual index's own generations


@dataclass(frozen=True)
class IndexOutcome:
    """A build's report plus the files that were skipped."""

    report: BuildReport
    problems: tuple[SourceReadError, ...]
    multilingual: BuildReport | None = None  # the multilingual index's build, when it is enabled


@dataclass(frozen=True)
class ServerData:
    """What citebot holds for one server: its own source files and its activity records."""

    scope: str
    source_files: int
    activity: ScopeActivity


def clean_question(question: str, limit: int) -> str:
    """Collapse whitespace and refuse empty or oversized questions."""
    text = " ".join(question.replace("\x00", " ").split())
    if not text:
        raise QuestionError("The question is empty. Ask something like: which states opted out?")
    if len(text) > limit:
        raise QuestionError(f"The question is {len(text)} characters long; the limit is {limit}. Please shorten it.")
    return text


def fused_as(scorer: AnswerScorer) -> SearchConfig:
    """Retrieval with the fusion weights the scorer was fitted with."""
    return SearchConfig(dense_weight=scorer.fusion[0], bm25_weight=scorer.fusion[1])


def in_language(answer: Answer, language: str) -> Answer:
    """The answer marked with the language it is shown in; an abstention says so in that language."""
    return replace(answer, language=language, answer=say("abstain", language) if answer.abstained else answer.answer)


class KnowledgeService:
    """Owns the encoder, the index on disk and the searchable index in memory."""

    def __init__(self, settings: Settings, answer_config: AnswerConfig | None = None,
                 scorer: AnswerScorer | None = None, encoder: Encoder | None = None,
                 pin_matcher: PinMatcher | None = None, multilingual_scorer: AnswerScorer | None = None) -> None:
        self.settings = settings
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
        search = SearchIndex(stored, encoder, fused_as(scorer), vector_config)  # type: ignore[arg-type]
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

    def searchable_in(self, language: str, build_if_missing: bool = True,
                      progress: Progress | None = None) -> tuple[SearchIndex, Composer]:
        """The index and composer that answer questions in a language (English: the main index)."""
        main = self.searchable(build_if_missing, progress)
        if language == ENGLISH or self.multilingual_encoder is None:
            return main
        loaded = self._multilingual
        if loaded is not None and not self._switched_since(self.multilingual_store, loaded[0]):
            return loaded
        with self._load_lock:
            if self._multilingual is None or self._switched_since(self.multilingual_store, self._multilingual[0]):
                stored = self._load_current(self.multilingual_store, MULTILINGUAL_MODEL, "multilingual index",
                                            build_if_missing, progress)
                if stored is None:  # just built: the build does not install an index nobody had loaded yet
                    stored = self.multilingual_store.load(model=MULTILINGUAL_MODEL)
                self._install_multilingual(stored)
            return self._multilingual  # type: ignore[return-value]

    def _load_current(self, store: IndexStore, model: str, what: str, build_if_missing: bool,
                      progress: Progress | None) -> StoredIndex | None:
        """The current generation of a store; when there is none, build the indexes (None) or refuse."""
        try:
            return store.load(model=model)
        except IndexMissingError as exc:
            if not build_if_missing or not self.role.builds():  # a process that does not build only waits
                raise IndexUnavailable(f"No usable {what}: {exc}.") from None
            log.info("no %s yet under %s: building it from the sources", what, self.settings.home)
            self.build_index(progress=progress)
            return None
        except IndexDamagedError as exc:
            raise IndexUnavailable(str(exc)) from None

    def _current_on_disk(self, store: IndexStore) -> Path | None:
        """The generation a store's CURRENT names, or None while our own build switches it or none is readable."""
        if self._write_lock.locked():  # our own build is switching it and installs the result itself
            return None
        try:
            return store.current_generation()
        except (IndexMissingError, IndexDamagedError):
            return None  # nothing better on disk: keep answering from what is loaded

    def _switched_since(self, store: IndexStore, loaded: SearchIndex) -> bool:
        """True when a build (`citebot index`, another bot) switched the store's index since it was loaded."""
        current = self._current_on_disk(store)
        return current is not None and current != loaded.stored.generation

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

    def searchable(self, build_if_missing: bool = True,
                   progress: Progress | None = None) -> tuple[SearchIndex, Composer]:
        """The current searchable index, loading (or, if missing, building) it on first use."""
        search, composer = self._search, self._composer
        if search is not None and composer is not None:
            if self._newer_generation_on_disk(search):
                self._start_switch(search)  # meanwhile questions are answered from the loaded index
            return search, composer
        with self._load_lock:
            if self._search is None:
                stored = self._load_current(self.store, self.encoder.identity, "index", build_if_missing, progress)
                if stored is not None:  # else the build installed it
                    self._install(stored)
            return self._search, self._composer  # type: ignore[return-value]

    def _newer_generation_on_disk(self, loaded: SearchIndex) -> bool:
        """True when another process (`citebot index`, a second bot) switched the index since we loaded it."""
        current = self._current_on_disk(self.store)
        return current is not None and current not in (loaded.stored.generation, self._rejected_generation)

    def _start_switch(self, loaded: SearchIndex) -> None:
        """Load the newer generation in a background thread, once, however many questions notice it."""
        with self._switch_lock:
            if self._switching is not None and self._switching.is_alive():
                return
            self._switching = threading.Thread(target=self._switch_to_newer, args=(loaded,),
                                               name="citebot-index-switch", daemon=True)
            self._switching.start()

    def wait_for_switch(self, timeout: float | None = None) -> None:
        """Block until a background switch to a newer index, if one is running, has finished."""
        switching = self._switching
        if switching is not None:
            switching.join(timeout)

    def _switch_to_newer(self, loaded: SearchIndex) -> None:
        """Load the generation CURRENT names; a damaged one is logged once and the loaded index kept."""
        with self._load_lock:
            if self._search is not loaded:
                return  # another question already switched
            try:
                generation = self.store.current_generation()
            except (IndexMissingError, IndexDamagedError):
                return
            try:
                stored = self.store.load(generation, model=self.encoder.identity)
            except (IndexMissingError, IndexDamagedError) as exc:
                self._rejected_generation = generation
                log.warning("a newer index on disk cannot be used, still answering from %s: %s",
                            loaded.stored.generation.name, exc)
                return
            self._install(stored)
            log.info("switched to index %s, built by another process", stored.generation.name)

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

    # ----- pinned answers ----------------------------------------------------------------------------

    def pin(self, scope: str, question: str, sentences: list[str], *, decline: bool = False,
            pinned_by: str = "") -> Pin:
        """Pin sentences (each word for word in a source visible in scope), or a decline, for a question."""
        text = clean_question(question, self.settings.max_question_chars)
        if decline == bool(sentences):
            raise SourceRejected("A pin needs either the sentences that answer the question (--sentence, in order) "
                                 "or a decline (--decline), not both.")
        search, _ = self.searchable()
        references = self.pin_board.resolve(search, scope, sentences)
        pin = self.activity.add_pin(scope, text, references, decline, pinned_by)
        self.pin_board.changed()
        return pin

    def pins(self, scope: str) -> list[Pin]:
        """The pins made in one scope (a server's, or the shared ones)."""
        return self.activity.pins((scope,))

    def remove_pin(self, scope: str, pin_id: int) -> Pin:
        """Delete one of a scope's pins."""
        pin = next((p for p in self.pins(scope) if p.id == pin_id), None)
        if pin is None or not self.activity.remove_pin(scope, pin_id):
            raise SourceRejected(f"There is no pin {pin_id} here. See the list of pins.")
        self.pin_board.changed()
        return pin

    def broken_pins(self, scope: str | None, every_scope: bool = False) -> list[Pin]:
        """Pins visible in scope (or in any scope) whose sentences are no longer in their sources (not served)."""
        search, _ = self.searchable()
        return self.pin_board.broken(search, scope, every_scope)

    def pin_candidates(self, question: str, scope: str | None, search_text: str | None = None) -> list[Candidate]:
        """Sentences an organizer can pick for a question (search_text widens the search)."""
        text = clean_question(search_text or question, self.settings.max_question_chars)
        search, _ = self.searchable()
        return self.pin_board.candidates(search, search.search(text, scope=scope, k=self.settings.retrieve_passages))

    def suggested_pins(self, scope: str) -> list[Suggestion]:
        """Answers members voted helpful (several votes, none against), for organizers to confirm."""
        return self.activity.suggestions(scope)

    def confirm_suggestion(self, scope: str, question_id: int, pinned_by: str) -> Pin:
        """Pin the sentences an answer quoted, for the question it answered."""
        answered = self.activity.answered(question_id)
        if answered is None or answered[0] != scope or not answered[2]:
            raise SourceRejected(f"Question {question_id} has no answer here that can be pinned.")
        return self.pin(scope, answered[1], [s.text for s in answered[2]], pinned_by=pinned_by)

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

    # ----- organizer sources -------------------------------------------------------------------------

    def scope_folder(self, scope: str) -> Path:
        """Folder holding a server's original source files."""
        return self.uploads.folder(scope)

    def add_source(self, scope: str, filename: str, data: bytes, *, added_by: str = "",
                   defaults: SourceDefaults | None = None) -> tuple[Source, ...]:
        """Validate and store an organizer's file for one server, then update the index."""
        suffix = Path(filename).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise SourceRejected(f"{filename!r} has type {suffix or '(none)'}; "
                                 f"supported types are {', '.join(SUPPORTED_SUFFIXES)}")
        if len(data) > self.settings.upload_max_bytes:
            raise SourceRejected(f"{filename!r} is {len(data) / 1e6:.1f} MB; the limit is "
                                 f"{self.settings.upload_max_bytes / 1e6:.0f} MB")
        folder = self.scope_folder(scope)
        stem = slugify(Path(filename).stem)
        target = folder / f"{stem}{suffix}"
        defaults = defaults or SourceDefaults(publisher="organizer upload", scope=scope, added_by=added_by)
        try:
            result = read_source_bytes(target, data, defaults)
        except SourceReadError as exc:
            raise SourceRejected(f"{filename!r} {exc.reason}") from None
        search, _ = self.searchable()
        for source in result.sources:
            existing = search.stored.sources.get(f"{scope}/{source.id}")
            if existing is not None and Path(existing.path).name != target.name:
                raise SourceRejected(f"{filename!r} uses the id {source.id!r}, which {Path(existing.path).name} "
                                     "already has in this server; remove that source first or change the id")
        if not self.role.builds():
            self._through_builder(scope, "add", target.name, data, json.dumps(provenance(defaults)))
            return result.sources
        self.uploads.store(scope, target.name, data, provenance(defaults))
        self.build_index()
        return result.sources

    def remove_source(self, scope: str, source_id: str) -> Source:
        """Delete a server's source file (all rows of a CSV go with it) and update the index."""
        search, _ = self.searchable()
        source = search.stored.sources.get(f"{scope}/{source_id}")
        if source is None:
            raise SourceRejected(f"This server has no source with id {source_id!r}. See /kb list.")
        if not self.role.builds():
            self._through_builder(scope, "remove", Path(source.path).name)
            return source
        self.uploads.delete(scope, Path(source.path).name)
        self.build_index()
        return source

    def server_data(self, scope: str) -> ServerData:
        """Count what a server added and did (what forget_server would delete)."""
        return ServerData(scope, self.uploads.count(scope), self.activity.scope_counts(scope))

    def forget_server(self, scope: str) -> ServerData:
        """Delete a server's own sources, provenance and activity records, then re-index without them."""
        # Leaving a server keeps its data (an accidental kick must not destroy organizers' work); this is
        # the operator's deliberate way to delete it.
        before = self.server_data(scope)
        self.activity.forget_scope(scope)
        self.pin_board.changed()
        if not self.role.builds():
            self._through_builder(scope, "forget")
            return before
        self.uploads.delete_scope(scope)
        self.build_index()
        return before

    # ----- several processes: one builder, many readers (README, Running several processes) -------------

    def _through_builder(self, scope: str, action: str, name: str = "", data: bytes = b"", meta: str = "{}") -> None:
        """Hand a source change to the process that builds the index, wait for it, then load what it published."""
        request_id = self.activity.request_index_change(scope, action, name, data, meta)
        log.info("queued %s of %r in %s for the index builder (request %d)", action, name, scope, request_id)
        done = wait_for_request(self.activity, request_id, timeout=self.settings.builder_wait_seconds)
        if done is None:
            raise IndexUnavailable(f"The change is queued (request {request_id}) but the process that builds the "
                                   "index has not made it yet; it will appear when that process runs again.")
        if done.error:
            raise SourceRejected(done.error)
        self.load_published()

    def apply_index_requests(self) -> int:
        """(Builder) Make every queued source change, publish one new index for them all; returns how many."""
        pending = self.activity.pending_index_requests()
        if not pending:
            return 0
        errors: dict[int, str] = {}
        for request in pending:
            try:
                if request.action == "add":
                    self.uploads.store(request.scope, request.name, request.data, json.loads(request.meta or "{}"))
                elif request.action == "remove":
                    self.uploads.delete(request.scope, request.name)
                elif request.action == "forget":
                    self.uploads.delete_scope(request.scope)
            except (OSError, ValueError, SourceRejected) as exc:
                errors[request.id] = f"the index builder could not make this change: {exc}"
        try:
            self.build_index()
        except CitebotError as exc:
            errors = {request.id: errors.get(request.id) or str(exc) for request in pending}
        for request in pending:
            self.activity.finish_index_request(request.id, errors.get(request.id, ""))
        return len(pending)

    def load_published(self) -> bool:
        """Load the generation the builder published, now, if it is newer than the one answering; True if so."""
        loaded = self._search
        if loaded is None or not self._newer_generation_on_disk(loaded):
            return False
        self._switch_to_newer(loaded)
        return self._search is not loaded

    def prepare(self, progress: Progress | None = None) -> IndexOutcome | None:
        """At start: the builder brings the index up to date; a reader waits for a published one and loads it."""
        if self.role.builds():
            return self.build_index(progress=progress)
        deadline = time.monotonic() + self.settings.builder_wait_seconds
        while True:
            try:
                self.searchable(build_if_missing=False)
                return None
            except IndexUnavailable:
                if time.monotonic() >= deadline:
                    raise
                log.info("waiting for the index builder to publish an index under %s", self.settings.index_home)
                time.sleep(self.settings.index_poll_seconds)

    def index_keeper(self) -> IndexKeeper:
        """The background loop a long-running process (the bot) starts: queued changes and new generations."""
        return IndexKeeper(self.role, self.apply_index_requests, self.load_published,
                           self.settings.index_poll_seconds)

    # ----- Discord organizers (issue 4) --------------------------------------------------------------

    def scope_sources(self, scope: str) -> list[Source]:
        """Every source one server added itself, statistics rows included (for /kb list and /kb remove)."""
        search, _ = self.searchable()
        items = [s for s in search.stored.sources.values() if s.scope == scope]
        return sorted(items, key=lambda s: (s.published, s.id))


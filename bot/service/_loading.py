"""Loading the searchable indexes, and switching to a generation another process published."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answering.compose import Composer
from bot.errors import IndexUnavailable
from bot.service._common import Progress
from embeddings.generation import StoredIndex
from embeddings.index_store import IndexDamagedError, IndexMissingError, IndexStore
from embeddings.multilingual import MULTILINGUAL_MODEL
from embeddings.search import SearchIndex
from knowledge.languages import ENGLISH

if TYPE_CHECKING:  # the service's own attributes, for readers and type checkers
    from bot.replication import IndexRole
    from bot.settings import Settings
    from embeddings.encoder import Encoder


log = logging.getLogger(__name__)


class IndexLoading:
    """The service's searchable indexes: loaded on first use, built if missing, swapped when a newer one appears."""

    # Set by KnowledgeService.__init__; listed so a reader sees what this part relies on.
    settings: Settings
    encoder: Encoder
    store: IndexStore
    multilingual_store: IndexStore
    role: IndexRole

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

"""BM25 over an index generation's passages: built once with the generation, stored beside it, loaded fast."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from embeddings.bm25 import BM25Config, BM25Index, Postings
from embeddings.tokenizer import TOKENIZER_FINGERPRINT, tokenize

BM25_FILE = "bm25.npz"
SENTENCE_BM25_FILE = "sentence_bm25.npz"


def passage_tokens(title: str, text: str) -> list[str]:
    """What BM25 indexes for a passage: its source's title too, as the encoder sees it ("Cook County")."""
    return tokenize(f"{title}\n{text}")


def tokenizer_fingerprint(config: BM25Config) -> str:
    """Changes whenever tokenizing or scoring would: a stored index made otherwise is not used."""
    digest = hashlib.sha256(TOKENIZER_FINGERPRINT.encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    return digest.hexdigest()


def build_bm25(titles_and_texts: Iterable[tuple[str, str]], config: BM25Config = BM25Config()) -> BM25Index:
    """BM25 over passages given as (title, text)."""
    return BM25Index([passage_tokens(title, text) for title, text in titles_and_texts], config)


def build_sentence_bm25(sentences: Iterable[str], config: BM25Config = BM25Config()) -> BM25Index:
    """BM25 over single sentences, so a sentence that answers is found even inside a long passage."""
    return BM25Index([tokenize(sentence) for sentence in sentences], config)


def save_bm25(index: BM25Index, path: Path) -> None:
    """Write the index's arrays and vocabulary to one .npz file (the caller makes the write atomic)."""
    terms = sorted(index.vocabulary, key=index.vocabulary.__getitem__)
    postings = index.postings
    # The arrays keep the names of a compressed sparse column matrix, the layout they have.
    with open(path, "wb") as handle:
        np.savez(handle, data=postings.weights, indices=postings.documents, indptr=postings.indptr,
                 shape=np.asarray([index.size, len(postings.indptr) - 1], dtype=np.int64), idf=index.idf,
                 document_frequency=index.document_frequency,
                 terms=np.asarray(json.dumps(terms)), fingerprint=np.asarray(tokenizer_fingerprint(index.config)),
                 config=np.asarray(json.dumps(asdict(index.config))))


def load_bm25(path: Path, config: BM25Config = BM25Config()) -> BM25Index | None:
    """The stored index, or None when there is none or it was made by other tokenizing or scoring."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as parts:
        if str(parts["fingerprint"]) != tokenizer_fingerprint(config):
            return None
        terms = json.loads(str(parts["terms"]))
        postings = Postings(parts["indptr"].astype(np.int64), parts["indices"].astype(np.int32), parts["data"])
        return BM25Index.from_parts({term: column for column, term in enumerate(terms)}, postings,
                                    int(parts["shape"][0]), parts["idf"], parts["document_frequency"], config)

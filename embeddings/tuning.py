"""The bundled model fine-tuned on questions and the sentences that answer them, made once and cached.

The bi-encoder was trained to put paraphrases together; when every sentence of a corpus names the same
program, the cosine between a question and its answer is barely above that of any other sentence. A few
hundred (question, answer sentence) pairs, trained contrastively (each question against the other pairs'
sentences in its batch), teach it which sentences answer. The folder is a copy of the base model with the
tuned weights, keyed by the base model, the pairs and the settings, so the same inputs give the same folder.
Training imports torch, so it runs in a child process (`python -m embeddings.tuning`), like the ONNX export.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.atomic import write_text_atomic
from embeddings.child import run_module
from embeddings.errors import EncoderError
from embeddings.files import exclusive_lock
from embeddings.onnx_cache import model_key

TUNING_VERSION = 2  # bump when fine_tune changes what it makes from the same inputs
TUNING_TIMEOUT_SECONDS = 1800
RECORD_FILE = "tuning.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class TrainingPair:
    """A question and one sentence that answers it."""

    question: str
    sentence: str


@dataclass(frozen=True)
class TuningConfig:
    """How the model is fine-tuned; chosen by validation retrieval (bench/RESULTS.md, "Fifth round")."""

    epochs: int = 2
    learning_rate: float = 3e-5
    batch_size: int = 32
    scale: float = 20.0  # cosine times this is the softmax's logit, as in MultipleNegativesRankingLoss
    # Each pair may also meet one of its question's this many nearest non-answers. Off (0): with them the
    # named sentence ranks higher (validation MRR 0.770 -> 0.847) but the refitted scorer answered less well
    # on validation (bench/RESULTS.md, "Sixth round"), so `make setup` trains without them.
    hard_negatives: int = 0
    duplicate_cosine: float = 0.85  # a sentence this close to one of the question's answers is not a negative
    max_length: int = 128
    seed: int = 0
    threads: int = 2  # fixed, so that the float sums, and so the weights, do not depend on the machine's cores


def tuning_key(base_dir: Path, pairs: Sequence[TrainingPair], config: TuningConfig = TuningConfig(),
               corpus: Sequence[str] = ()) -> str:
    """Identity of a tuned model: the base model's files, the pairs in order, the settings and the corpus."""
    digest = hashlib.sha256(f"tuning {TUNING_VERSION}\0{model_key(base_dir, 'fp32')}\0".encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    for pair in pairs:
        digest.update(f"\0{pair.question}\0{pair.sentence}".encode())
    digest.update(b"\0corpus")
    for sentence in corpus:
        digest.update(f"\0{sentence}".encode())
    return digest.hexdigest()[:16]


def tuned_folder(cache_dir: Path, key: str) -> Path:
    """Where the tuned model with this key lives."""
    return cache_dir / "tuned" / key


def is_complete(folder: Path) -> bool:
    """Whether a tuned folder was finished (its record is written last)."""
    return (folder / RECORD_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def tuned_model(base_dir: Path, pairs: Sequence[TrainingPair], cache_dir: Path,
                config: TuningConfig = TuningConfig(), corpus: Sequence[str] = ()) -> Path:
    """The tuned model's folder under cache_dir, training it first if it is not there.

    corpus: the sentences of the corpus the questions are about, where hard negatives are mined (with the
    pairs' own sentences).
    """
    if not pairs:
        raise EncoderError("fine-tuning the model needs question and answer-sentence pairs, and none were given")
    key = tuning_key(base_dir, pairs, config, corpus)
    folder = tuned_folder(cache_dir, key)
    if is_complete(folder):
        return folder
    with exclusive_lock(cache_dir / "tuned" / f".{key}.lock"):
        if not is_complete(folder):  # another process may have finished it while we waited
            _train_in_child(base_dir, pairs, corpus, folder, config)
    return folder


def _train_in_child(base_dir: Path, pairs: Sequence[TrainingPair], corpus: Sequence[str], folder: Path,
                    config: TuningConfig) -> None:
    """Train in a child process into a scratch folder, then move it into place whole."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        (scratch / "pairs.json").write_text(json.dumps({"pairs": [asdict(p) for p in pairs], "corpus": list(corpus)}),
                                            encoding="utf-8")
        run_module("embeddings.tuning", [str(base_dir), str(scratch / "pairs.json"), str(scratch / "model"),
                                         json.dumps(asdict(config))], f"fine-tuning {base_dir}",
                   TUNING_TIMEOUT_SECONDS, "Fine-tuning needs torch and transformers (`make setup` installs both); "
                   "or set CITEBOT_TUNE_ENCODER=false to use the model as shipped.")
        write_text_atomic(scratch / "model" / RECORD_FILE, json.dumps(
            {"tuning_version": TUNING_VERSION, "base": str(base_dir), "pairs": len(pairs),
             "corpus_sentences": len(corpus), **asdict(config)},
            indent=2))
        if folder.exists():  # an unfinished folder from a process that died
            shutil.rmtree(folder)
        (scratch / "model").rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fine_tune(base_dir: Path, pairs: Sequence[TrainingPair], out_dir: Path,
              config: TuningConfig = TuningConfig(), corpus: Sequence[str] = ()) -> None:
    """Fine-tune the model in base_dir on the pairs and write it, with the base's other files, to out_dir."""
    import random

    import torch
    from transformers import AutoModel, AutoTokenizer

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModel.from_pretrained(base_dir)

    def embed(texts: list[str]) -> torch.Tensor:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=config.max_length, return_tensors="pt")
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (model(**batch).last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    answers: dict[str, set[str]] = {}
    for pair in pairs:
        answers.setdefault(pair.question, set()).add(pair.sentence)
    negatives = _mined_negatives(embed, answers, corpus, config) if config.hard_negatives else {}
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    order = list(pairs)
    model.train()
    for _ in range(config.epochs):
        random.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            batch = _distinct_sentences(order[start:start + config.batch_size])
            if len(batch) < 2:
                continue
            columns = [p.sentence for p in batch] + [random.choice(negatives[p.question]) for p in batch
                                                     if negatives.get(p.question)]
            logits = embed([p.question for p in batch]) @ embed(columns).T * config.scale
            # Another of a question's own answers (a mined negative may answer another question) is no negative.
            if negatives:
                other_answer = torch.tensor([[c in answers[p.question] and c != p.sentence for c in columns]
                                             for p in batch])
                logits = logits.masked_fill(other_answer, -1e4)
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    out_dir.mkdir(parents=True)
    for item in base_dir.iterdir():  # tokenizer, pooling and sentence-transformers files stay the base's
        if item.name in {WEIGHTS_FILE, "onnx", "README.md"} or item.name.startswith("."):
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, out_dir / item.name)
    model.save_pretrained(out_dir, safe_serialization=True)


def _mined_negatives(embed: Callable[[list[str]], Any], answers: dict[str, set[str]], corpus: Sequence[str],
                     config: TuningConfig) -> dict[str, list[str]]:
    """Each question's hard negatives among the corpus and training sentences, mined with the model untuned."""
    import torch

    from embeddings.hard_negatives import hard_negatives

    questions, sentences = list(answers), sorted({*corpus, *(s for own in answers.values() for s in own)})
    position = {s: i for i, s in enumerate(sentences)}
    with torch.no_grad():
        def vectors(texts: list[str]) -> np.ndarray:
            return torch.cat([embed(texts[i:i + 64]) for i in range(0, len(texts), 64)]).numpy()

        mined = hard_negatives(vectors(questions), vectors(sentences),
                               [{position[s] for s in answers[q]} for q in questions], config.hard_negatives,
                               config.duplicate_cosine)
    return {q: [sentences[j] for j in ids] for q, ids in zip(questions, mined)}


def _distinct_sentences(batch: Sequence[TrainingPair]) -> list[TrainingPair]:
    """The batch without a second pair for a sentence already in it: it would be scored as its own negative."""
    seen: set[str] = set()
    kept = []
    for pair in batch:
        if pair.sentence not in seen:
            seen.add(pair.sentence)
            kept.append(pair)
    return kept


if __name__ == "__main__":
    base, pairs_file, out, config_json = sys.argv[1:5]
    given = json.loads(Path(pairs_file).read_text(encoding="utf-8"))
    fine_tune(Path(base), [TrainingPair(**p) for p in given["pairs"]], Path(out),
              TuningConfig(**json.loads(config_json)), given["corpus"])

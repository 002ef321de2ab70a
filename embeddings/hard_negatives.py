"""Hard negatives for fine-tuning: for each question, the sentences that look most like an answer but are not one.

In-batch negatives are mostly easy (another topic entirely); what the model must learn is to rank the answer
above the sentences of the same topic that do not answer it. Those are mined once, with the untuned model:
the sentences nearest the question, leaving out its answers and any sentence so close to one of its answers
that it probably says the same thing (a second source reporting the same fact is not a wrong answer).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def hard_negatives(question_vectors: np.ndarray, sentence_vectors: np.ndarray, answers: Sequence[set[int]],
                   top: int = 10, duplicate_cosine: float = 0.85) -> list[list[int]]:
    """For each question, up to `top` sentence ids nearest to it, best first, that are not (near) its answers.

    Vectors are unit length; answers[i] holds the ids of the sentences that answer question i.
    """
    similarity = question_vectors @ sentence_vectors.T
    mined = []
    for i, own in enumerate(answers):
        excluded = np.zeros(len(sentence_vectors), dtype=bool)
        if own:
            ids = sorted(own)
            excluded[ids] = True
            # Only the answers' rows: a whole sentence-by-sentence matrix grows with the square of the corpus.
            excluded |= (sentence_vectors[ids] @ sentence_vectors.T).max(axis=0) >= duplicate_cosine
        order = np.argsort(-similarity[i], kind="stable")
        mined.append([int(j) for j in order[~excluded[order]][:top]])
    return mined

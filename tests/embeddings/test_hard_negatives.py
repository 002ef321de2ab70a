"""Mining hard negatives: the nearest sentences that are not, nor nearly are, a question's answers."""
from __future__ import annotations

import numpy as np

from embeddings.hard_negatives import hard_negatives


def unit(*rows: list[float]) -> np.ndarray:
    matrix = np.array(rows, dtype=np.float64)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


SENTENCES = unit([1, 0, 0], [0.99, 0.14, 0], [0.8, 0.6, 0], [0.6, 0.8, 0], [0, 0, 1])
#                 0: the answer  1: says the same  2: near, wrong  3: farther, wrong  4: off topic


def test_the_nearest_non_answers_come_first_and_near_copies_of_an_answer_are_left_out():
    question = unit([1, 0.3, 0])
    assert hard_negatives(question, SENTENCES, [{0}], top=2) == [[2, 3]]
    assert hard_negatives(question, SENTENCES, [{0}], top=10) == [[2, 3, 4]]


def test_a_looser_duplicate_bar_keeps_the_near_copy_as_a_negative():
    question = unit([1, 0.3, 0])
    assert hard_negatives(question, SENTENCES, [{0}], top=1, duplicate_cosine=0.999) == [[1]]


def test_each_question_gets_its_own_list_and_a_question_without_answers_gets_the_nearest():
    questions = unit([1, 0.3, 0], [0, 0.1, 1])
    mined = hard_negatives(questions, SENTENCES, [{0}, set()], top=2)
    assert mined[0] == [2, 3] and mined[1] == [4, 3]

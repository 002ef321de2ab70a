"""Telling English from Spanish by function words, and the language codes citebot accepts."""
from __future__ import annotations

import pytest

from knowledge.languages import ENGLISH, SPANISH, check_language, detect_language


@pytest.mark.parametrize("question", [
    "¿Qué es un detainer?", "q es eso de secure communities??", "cuando termino el programa",
    "oigan eso de secure communities es lo de las huellas q toman en la carcel",
    "¿Guardan mis huellas?",  # one function word fewer than most: the accent and ¿ still tell
])
def test_spanish_questions_are_spanish_even_when_they_name_the_program_in_english(question):
    assert detect_language(question) == SPANISH


@pytest.mark.parametrize("question", [
    "What is a detainer?", "which states opted out?", "do they keep my fingerprints if charges are dropped",
    "Did Los Angeles County join Secure Communities?",  # Spanish place names do not make it Spanish
])
def test_english_questions_are_english(question):
    assert detect_language(question) == ENGLISH


def test_a_question_whose_words_do_not_tell_takes_the_fallback():
    assert detect_language("S-Comm 2014?", fallback=SPANISH) == SPANISH
    assert detect_language("S-Comm 2014?") == ENGLISH


def test_discord_locales_map_to_languages():
    assert check_language("es-419") == check_language("es-ES") == SPANISH
    assert check_language("en-US") == ENGLISH
    assert check_language("fr") is None

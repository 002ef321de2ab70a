"""The languages citebot answers in, and telling them apart in a question or a source by their function words."""
from __future__ import annotations

import re
import unicodedata

ENGLISH = "en"
SPANISH = "es"
LANGUAGES = (ENGLISH, SPANISH)
DEFAULT_LANGUAGE = ENGLISH
LANGUAGE_NAMES = {ENGLISH: "English", SPANISH: "español"}

# Words that carry grammar rather than topic: a program's own name ("Secure Communities") is in English
# in every language, so the topic words cannot say which language a question is written in; these can.
# Accents are stripped before lookup, because members often type Spanish without them.
FUNCTION_WORDS = {
    ENGLISH: frozenset(["the", "a", "an", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does",
                        "did", "done", "have", "has", "had", "of", "to", "in", "on", "at", "for", "from", "with",
                        "by", "about", "as", "into", "over", "after", "before", "and", "or", "but", "if", "then",
                        "than", "that", "this", "these", "those", "there", "their", "they", "them", "it", "its", "he",
                        "she", "his", "her", "we", "our", "you", "your", "i", "me", "my", "mine", "what", "when",
                        "where", "who", "whom", "whose", "which", "why", "how", "can", "could", "would", "should",
                        "will", "shall", "may", "might", "must", "not", "no", "yes", "any", "some", "many", "much",
                        "more", "most", "all", "get", "got", "so", "just", "also", "only", "still", "did", "does",
                        "doesnt", "dont", "didnt", "isnt", "wasnt", "arent", "cant", "wont", "im", "ive", "anyone",
                        "someone", "anything", "something", "happen", "happened", "mean", "means", "ever", "never",
                        "again", "here"]),
    SPANISH: frozenset(["el", "la", "los", "las", "un", "una", "unos", "unas", "lo", "al", "del", "de", "en", "y",
                        "o", "u", "pero", "si", "sino", "que", "quien", "quienes", "cual", "cuales", "cuando",
                        "cuanto", "cuantos", "cuanta", "cuantas", "como", "donde", "porque", "por", "para", "con",
                        "sin", "sobre", "entre", "hasta", "desde", "es", "son", "era", "eran", "fue", "fueron", "ser",
                        "estar", "esta", "estan", "estaba", "estuvo", "hay", "habia", "ha", "han", "he", "hemos",
                        "tiene", "tienen", "tenia", "se", "su", "sus", "mi", "mis", "me", "te", "tu", "tus", "nos",
                        "le", "les", "ya", "no", "mas", "muy", "tambien", "todo", "todos", "toda", "todas", "algo",
                        "alguien", "nada", "nadie", "otro", "otra", "otros", "otras", "este", "esta", "estos",
                        "estas", "ese", "esa", "esos", "esas", "eso", "esto", "aqui", "ahi", "alla", "asi", "puede",
                        "pueden", "pueden", "puedo", "hace", "hacen", "hizo", "dice", "dicen", "dijo", "pasa", "paso",
                        "pasaria", "sigue", "siguen", "sabe", "saben", "q", "pq", "xq", "oigan", "alguno", "alguna"]),
}
_WORD = re.compile(r"[a-z]+")
_SPANISH_LETTERS = re.compile(r"[ñáéíóúü¿¡]", re.I)


def fold_accents(text: str) -> str:
    """'¿Cuándo terminó?' -> '¿cuando termino?': lowercase, with accents taken off."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def language_scores(text: str) -> dict[str, float]:
    """How many of the text's words are function words of each language, plus Spanish-only letters."""
    words = _WORD.findall(fold_accents(text))
    scores = {language: float(sum(1 for w in words if w in vocabulary))
              for language, vocabulary in FUNCTION_WORDS.items()}
    # ñ, accents and ¿ ¡ never occur in English prose: each counts as half a Spanish word.
    scores[SPANISH] += 0.5 * len(_SPANISH_LETTERS.findall(text))
    return scores


def detect_language(text: str, fallback: str = DEFAULT_LANGUAGE) -> str:
    """The language the text is written in, or `fallback` when its words do not tell (a bare name, a number)."""
    scores = language_scores(text)
    best = max(scores.values())
    leaders = [language for language, score in scores.items() if score == best]
    if best == 0 or len(leaders) > 1:
        return fallback if fallback in LANGUAGES else DEFAULT_LANGUAGE
    return leaders[0]


def check_language(value: str) -> str | None:
    """The language code if citebot answers in it, else None."""
    code = value.strip().lower().replace("_", "-")
    code = code.split("-", 1)[0]  # "es-419", "es-ES", "en-US": the language, not the region
    return code if code in LANGUAGES else None

"""What citebot says to members, in each language it answers in: one catalog, looked up by key."""
from __future__ import annotations

from knowledge.languages import DEFAULT_LANGUAGE, ENGLISH, SPANISH

CATALOG: dict[str, dict[str, str]] = {
    # Answers (every surface)
    "abstain": {
        ENGLISH: "The sources I have don't answer this question. "
                 "The closest sources are listed below as related reading, not as an answer.",
        SPANISH: "Las fuentes que tengo no responden a esta pregunta. "
                 "Abajo están las fuentes más cercanas, como lectura relacionada, no como respuesta.",
    },
    "sources": {ENGLISH: "Sources:", SPANISH: "Fuentes:"},
    "related": {ENGLISH: "Related (not an answer):", SPANISH: "Relacionadas (no son una respuesta):"},
    "pinned_note": {
        ENGLISH: "(Pinned answer {id}, checked by {by}: chosen for the question “{question}”.)",
        SPANISH: "(Respuesta fijada {id}, revisada por {by}: elegida para la pregunta «{question}».)",
    },
    # Marks a quoted source written in another language than the answer's.
    "in_language_en": {ENGLISH: "", SPANISH: "en inglés"},
    "in_language_es": {ENGLISH: "in Spanish", SPANISH: ""},
    "kind_statistic": {ENGLISH: "statistic", SPANISH: "estadística"},
    "kind_official": {ENGLISH: "official document", SPANISH: "documento oficial"},
    "kind_law": {ENGLISH: "law", SPANISH: "ley"},
    "kind_report": {ENGLISH: "report", SPANISH: "informe"},
    "kind_article": {ENGLISH: "article", SPANISH: "artículo"},
    "kind_summary": {ENGLISH: "our summary", SPANISH: "nuestro resumen"},
    # Discord
    "discord_abstain": {
        ENGLISH: "**The sources don't answer this.**\n"
                 "The closest sources are listed below as related reading, not as an answer.",
        SPANISH: "**Las fuentes no responden a esto.**\n"
                 "Abajo están las fuentes más cercanas, como lectura relacionada, no como respuesta.",
    },
    "discord_abstain_nothing": {
        ENGLISH: "**The sources don't answer this**, and none of them comes close.",
        SPANISH: "**Las fuentes no responden a esto**, y ninguna se acerca.",
    },
    "discord_pinned_decline": {
        ENGLISH: "**The sources don't answer this.** This server's organizers checked: none of them does.",
        SPANISH: "**Las fuentes no responden a esto.** Los organizadores de este servidor lo revisaron: "
                 "ninguna lo hace.",
    },
    "discord_shortened": {
        ENGLISH: "\n\n*Shortened to fit Discord. Every source is listed below.*",
        SPANISH: "\n\n*Acortado para que quepa en Discord. Todas las fuentes están abajo.*",
    },
    "discord_answer_footer": {
        ENGLISH: "Each sentence is quoted from the numbered source. Was this helpful?",
        SPANISH: "Cada frase es una cita de la fuente con su número. ¿Te sirvió?",
    },
    "discord_abstain_footer": {
        ENGLISH: "Organizers see unanswered questions in /kb gaps.",
        SPANISH: "Los organizadores ven las preguntas sin respuesta en /kb gaps.",
    },
    "discord_pinned_footer": {
        ENGLISH: "Checked by this server's organizers: they chose this answer for this question.",
        SPANISH: "Revisada por los organizadores de este servidor: eligieron esta respuesta para esta pregunta.",
    },
    "discord_sources_field": {ENGLISH: "Sources", SPANISH: "Fuentes"},
    "discord_related_field": {ENGLISH: "Related sources (not an answer)",
                              SPANISH: "Lectura relacionada (no es una respuesta)"},
    "button_helpful": {ENGLISH: "Helpful", SPANISH: "Me sirvió"},
    "button_not_helpful": {ENGLISH: "Not helpful", SPANISH: "No me sirvió"},
    "vote_helpful": {ENGLISH: "Thanks! Noted as helpful.", SPANISH: "¡Gracias! Anotado como útil."},
    "vote_not_helpful": {
        ENGLISH: "Thanks for telling us. Organizers will see this question and can add better sources.",
        SPANISH: "Gracias por avisarnos. Los organizadores verán esta pregunta y pueden agregar mejores fuentes.",
    },
    "vote_again": {
        ENGLISH: "You already voted on this answer; your first vote counts. Thanks!",
        SPANISH: "Ya votaste por esta respuesta; cuenta tu primer voto. ¡Gracias!",
    },
    "no_text": {ENGLISH: "That message has no text to ask about.",
                SPANISH: "Ese mensaje no tiene texto sobre el que preguntar."},
    "error_question_too_long": {
        ENGLISH: "The question is {length} characters long; the limit is {limit}. Please shorten it.",
        SPANISH: "La pregunta tiene {length} caracteres; el límite es {limit}. Por favor, acórtala.",
    },
    "error_question_empty": {
        ENGLISH: "The question is empty. Ask something like: which states opted out?",
        SPANISH: "La pregunta está vacía. Pregunta algo como: ¿qué estados se retiraron del programa?",
    },
    "cooldown_one": {
        ENGLISH: "You're asking a little fast. Please wait {seconds} second before your next question; "
                 "this keeps citebot quick for everyone.",
        SPANISH: "Estás preguntando un poco rápido. Espera {seconds} segundo antes de tu próxima pregunta; "
                 "así citebot sigue siendo rápido para todos.",
    },
    "cooldown": {
        ENGLISH: "You're asking a little fast. Please wait {seconds} seconds before your next question; "
                 "this keeps citebot quick for everyone.",
        SPANISH: "Estás preguntando un poco rápido. Espera {seconds} segundos antes de tu próxima pregunta; "
                 "así citebot sigue siendo rápido para todos.",
    },
    # /kb confirmations
    "kb_added_title": {ENGLISH: "Source added", SPANISH: "Fuente agregada"},
    "kb_added": {ENGLISH: "Answers in this server can cite it now. Remove it with /kb remove.",
                 SPANISH: "Las respuestas de este servidor ya pueden citarla. Quítala con /kb remove."},
    "kb_removed_title": {ENGLISH: "Source removed", SPANISH: "Fuente quitada"},
    "kb_removed": {ENGLISH: "Removed {what}. Answers here no longer cite it.",
                   SPANISH: "Se quitó {what}. Las respuestas de aquí ya no la citan."},
    "kb_reindexed_title": {ENGLISH: "Index up to date", SPANISH: "Índice al día"},
    "kb_reindexed": {
        ENGLISH: "{sources} sources, {passages} passages; {embedded} passage(s) embedded now, {reused} reused.",
        SPANISH: "{sources} fuentes, {passages} pasajes; {embedded} pasaje(s) procesados ahora, "
                 "{reused} reutilizados.",
    },
    "kb_skipped": {ENGLISH: "Skipped {count} file(s):", SPANISH: "Se omitieron {count} archivo(s):"},
    "kb_pinned_title": {ENGLISH: "Answer pinned", SPANISH: "Respuesta fijada"},
    "kb_pins_title": {ENGLISH: "Pinned answers ({count})", SPANISH: "Respuestas fijadas ({count})"},
    "kb_no_pins": {ENGLISH: "No pinned answers yet. Use “Fix citebot's answer” on an answer, or /kb fix.",
                   SPANISH: "Todavía no hay respuestas fijadas. Usa “Fix citebot's answer” en una respuesta, "
                            "o /kb fix."},
    "kb_unpinned_title": {ENGLISH: "Pin removed", SPANISH: "Respuesta fijada quitada"},
    "kb_unpinned": {ENGLISH: "Pin {id} is removed; citebot answers “{question}” on its own again.",
                    SPANISH: "Se quitó la respuesta fijada {id}; citebot vuelve a responder «{question}» "
                             "por sí mismo."},
    "gaps_title": {ENGLISH: "Questions the sources did not answer well",
                   SPANISH: "Preguntas que las fuentes no respondieron bien"},
    "gaps_unanswered": {ENGLISH: "{count} unanswered", SPANISH: "{count} sin respuesta"},
    "gaps_not_helpful": {ENGLISH: "{count} voted not helpful", SPANISH: "{count} votos de que no sirvió"},
    "gaps_answered": {ENGLISH: "answered", SPANISH: "respuesta dada"},
    "gaps_last_asked": {ENGLISH: "last asked", SPANISH: "última vez"},
    "gaps_none": {ENGLISH: "No unanswered or down-voted questions yet.",
                  SPANISH: "Todavía no hay preguntas sin respuesta ni con votos en contra."},
    "gaps_broken": {
        ENGLISH: "**Pins not served** (a sentence is no longer in its source; pin again with /kb fix):",
        SPANISH: "**Respuestas fijadas que no se usan** (una frase ya no está en su fuente; fíjala de nuevo "
                 "con /kb fix):",
    },
    "gaps_suggested": {
        ENGLISH: "**Suggested pins** (several 👍, none 👎; confirm with /kb pins):",
        SPANISH: "**Respuestas sugeridas para fijar** (varios 👍, ningún 👎; confírmalas con /kb pins):",
    },
    "gaps_footer": {
        ENGLISH: "Add sources with /kb upload or /kb add-url; choose an answer with /kb fix.",
        SPANISH: "Agrega fuentes con /kb upload o /kb add-url; elige una respuesta con /kb fix.",
    },
    "kb_settings_title": {ENGLISH: "Settings", SPANISH: "Configuración"},
    "kb_settings_changed_title": {ENGLISH: "Settings changed", SPANISH: "Configuración cambiada"},
}


def say(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The message for key in language (English where it has no translation), with values filled in."""
    texts = CATALOG[key]
    text = texts.get(language) or texts[ENGLISH]
    return text.format(**values) if values else text


def language_mark(source_language: str, answer_language: str) -> str:
    """'en inglés' for an English source quoted in a Spanish answer; '' when the languages match."""
    if source_language == answer_language:
        return ""
    return CATALOG.get(f"in_language_{source_language}", {}).get(answer_language, "")

"""Which language a member reads, and slash commands named and described in Spanish for Spanish clients."""
# No `from __future__ import annotations`: discord.py inspects the Translator's signatures.

import discord
from discord import app_commands

from knowledge.languages import DEFAULT_LANGUAGE, check_language

# Discord's Spanish client locales: Spain, and Latin America (es-419).
SPANISH_LOCALES = (discord.Locale.spain_spanish, discord.Locale.latin_american_spanish)

# English command text -> Spanish. Names follow Discord's rule for command names (lowercase, no spaces).
SPANISH_COMMAND_TEXT = {
    "ask": "preguntar",
    "Ask a question; the answer quotes and cites its sources":
        "Haz una pregunta; la respuesta cita sus fuentes, frase por frase",
    "question": "pregunta",
    "Your question (up to 500 characters)": "Tu pregunta (hasta 500 caracteres)",
    "private": "privado",
    "Only you see the answer (default: this server's choice)":
        "Solo tú ves la respuesta (por defecto: lo que elija este servidor)",
    "Ask citebot": "Preguntar a citebot",
    "sources": "fuentes",
    "List the sources citebot answers from, with dates and links":
        "Lista las fuentes de las que citebot responde, con fechas y enlaces",
    "query": "buscar",
    "Only sources whose title or publisher has these words":
        "Solo las fuentes cuyo título o editor tiene estas palabras",
    "Only you see the list (default: this server's choice)":
        "Solo tú ves la lista (por defecto: lo que elija este servidor)",
    "stats": "cifras",
    "Show statistics with their sources and as-of dates": "Muestra cifras con sus fuentes y fechas",
    "Only figures whose text has every one of these words": "Solo las cifras que tienen todas estas palabras",
    "Only you see the figures (default: this server's choice)":
        "Solo tú ves las cifras (por defecto: lo que elija este servidor)",
    # /kb keeps its English names (organizers share them across servers); its descriptions are translated.
    "Organizers: manage the sources citebot answers from here":
        "Organizadores: administran las fuentes de las que citebot responde aquí",
    # The size limits are settings: the refusal of a file too large says the one in force.
    "Add a web page or document (http/https)": "Agrega una página web o un documento (http/https)",
    "Add a file: .md, .txt, .html, .pdf or .csv": "Agrega un archivo: .md, .txt, .html, .pdf o .csv",
    "Remove a source this server added": "Quita una fuente que agregó este servidor",
    "List this server's sources and who added each": "Lista las fuentes de este servidor y quién agregó cada una",
    "Re-read every source and bring the index up to date": "Vuelve a leer todas las fuentes y pone el índice al día",
    "Questions the sources did not answer, most frequent first":
        "Preguntas que las fuentes no respondieron, las más frecuentes primero",
    "Choose the sentences that answer a question, or a decline":
        "Elige las frases que responden una pregunta, o que citebot no responda",
    "List, show, remove or confirm pinned answers": "Lista, muestra, quita o confirma respuestas fijadas",
    "Organizer role, default answer visibility, cooldown":
        "Rol de organizador, visibilidad de las respuestas, pausa entre preguntas",
}


def member_language(interaction: discord.Interaction) -> str:
    """The member's client language if citebot answers in it, else the server's, else English."""
    for locale in (interaction.locale, interaction.guild_locale):
        if locale is not None and (language := check_language(str(locale.value))) is not None:
            return language
    return DEFAULT_LANGUAGE


class CitebotTranslator(app_commands.Translator):
    """Spanish names and descriptions for the member commands (es-ES and es-419); English elsewhere."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        """The Spanish text for a Spanish client locale, or None (Discord then shows the English)."""
        if locale not in SPANISH_LOCALES:
            return None
        return SPANISH_COMMAND_TEXT.get(string.message)


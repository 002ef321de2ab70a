"""Which language a member reads, and slash commands named and described in Spanish for Spanish clients."""
# No `from __future__ import annotations`: discord.py inspects the Translator's signatures.
from typing import Optional

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
                        context: app_commands.TranslationContextTypes) -> Optional[str]:
        """The Spanish text for a Spanish client locale, or None (Discord then shows the English)."""
        if locale not in SPANISH_LOCALES:
            return None
        return SPANISH_COMMAND_TEXT.get(string.message)


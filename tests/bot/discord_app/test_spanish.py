"""Spanish over the Discord double: /ask in Spanish answered in Spanish with valid citations, or declined."""
from __future__ import annotations

import re
import shutil

import pytest
import pytest_asyncio

from tests.conftest import make_service

pytestmark = pytest.mark.corpus  # checks what the bundled corpus says

# From the Spanish train split (example questions): what is tested here is the language, not generalization.
SPANISH_Q = "¿Qué es un detainer (orden de retención)?"
UNANSWERABLE_ES = ("necesito un abogado de inmigracion gratis en Houston, alguien conoce uno que ayude con casos "
                   "de S-Comm?")


@pytest_asyncio.fixture
async def spanish_bot(harness, bundled_service, tmp_path, encoder):
    """A bot over the bundled corpus (English sources and Spanish summaries), both indexes already built."""
    home = tmp_path / "home"
    shutil.copytree(bundled_service.settings.home, home)
    service = make_service(home, encoder, bundled=True)
    service.searchable_in("es")  # what `serve` does before connecting (prepare_index's warm-up)
    return await harness.start(service)


def sources_text(service) -> str:
    return " ".join(" ".join(s.text.split()) for s in service.all_sources().values())


async def test_a_spanish_question_is_answered_in_spanish_with_valid_citations(spanish_bot, fake):
    inter = await fake.send_slash_command("ask", {"question": SPANISH_Q}, user_id="301", locale="es-419")
    body = await fake.wait_for_followup(inter)
    [embed] = body["embeds"]
    assert embed["footer"]["text"] == "Cada frase es una cita de la fuente con su número. ¿Te sirvió?"
    assert embed["fields"][0]["name"] == "Fuentes"
    quoted = re.findall(r"(.+?) \[(\d+)\]\s*", embed["description"])
    assert quoted, embed["description"]
    everything = sources_text(spanish_bot.service)
    for sentence, _ in quoted:  # every quoted stretch stands word for word in a source
        assert " ".join(sentence.split()) in everything
    assert re.search(r"48 (horas|hours)", embed["description"])
    labels = [c["label"] for row in body["components"] for c in row["components"]]
    assert labels == ["Me sirvió", "No me sirvió"]


async def test_a_spanish_question_no_source_answers_is_declined_in_spanish(spanish_bot, fake):
    inter = await fake.send_slash_command("ask", {"question": UNANSWERABLE_ES}, user_id="302", locale="en-US")
    [embed] = (await fake.wait_for_followup(inter))["embeds"]
    # The question's own language wins over the member's English client.
    assert embed["description"].startswith("**Las fuentes no responden a esto.**")
    assert embed["footer"]["text"] == "Los organizadores ven las preguntas sin respuesta en /kb gaps."

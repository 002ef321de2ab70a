"""Discord's limits as the double checks them (pure functions, no client)."""
from __future__ import annotations

from .validation import autocomplete_errors, command_errors, component_errors, message_errors


def test_message_and_embed_limits():
    def paths(body: dict) -> set[str]:
        return {e.path for e in message_errors(body)}

    assert paths({"content": "x" * 2000}) == set()
    assert paths({"content": "x" * 2001}) == {"content"}
    assert paths({}) == {""}  # empty message
    assert paths({"embeds": [{"title": "t" * 257, "description": "d" * 4097, "footer": {"text": "f" * 2049},
                              "author": {"name": "a" * 257}}]}) == \
        {"embeds.0.title", "embeds.0.description", "embeds.0.footer.text", "embeds.0.author.name", "embeds"}
    assert paths({"embeds": [{"fields": [{"name": "n" * 257, "value": "v" * 1025}]}]}) == \
        {"embeds.0.fields.0.name", "embeds.0.fields.0.value"}
    assert paths({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}) == {"embeds.0.fields"}
    assert paths({"embeds": [{"title": "t"}] * 11}) == {"embeds"}
    assert paths({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}) == {"embeds"}  # 6001 total
    assert paths({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2000}]}) == set()


def test_component_limits():
    def button(i: int, **kw) -> dict:
        return {"type": 2, "style": 1, "label": f"b{i}", "custom_id": f"c{i}", **kw}

    def paths(rows: list[dict]) -> set[str]:
        return {e.path for e in component_errors(rows)}

    assert paths([{"type": 1, "components": [button(i) for i in range(5)]}]) == set()
    assert paths([{"type": 1, "components": [button(i)]} for i in range(6)]) == {"components"}
    assert paths([{"type": 1, "components": [button(i) for i in range(6)]}]) == {"components.0.components"}
    assert paths([{"type": 1, "components": [button(0, label="l" * 81)]}]) == {"components.0.components.0.label"}
    assert paths([{"type": 1, "components": [button(0, custom_id="c" * 101)]}]) == \
        {"components.0.components.0.custom_id"}
    dup = component_errors([{"type": 1, "components": [button(0), button(1, custom_id="c0")]}])
    assert [e.code for e in dup] == ["COMPONENT_CUSTOM_ID_DUPLICATED"]
    assert paths([{"type": 1, "components": [{"type": 2, "style": 5, "label": "docs"}]}]) == \
        {"components.0.components.0.url"}


def test_command_and_autocomplete_limits():
    bad = {"name": "Ask Me", "description": "x" * 101, "type": 1, "options": [
        {"type": 3, "name": "a", "description": "a", "required": False},
        {"type": 3, "name": "b", "description": "b", "required": True}]}
    codes = {e.code for e in command_errors(bad)}
    assert codes == {"APPLICATION_COMMAND_INVALID_NAME", "BASE_TYPE_BAD_LENGTH",
                     "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"}
    assert command_errors({"name": "Ask citebot", "type": 3}) == []
    choices = [{"name": f"c{i}", "value": f"v{i}"} for i in range(26)]
    assert [e.path for e in autocomplete_errors({"choices": choices})] == ["choices"]
    assert [e.path for e in autocomplete_errors({"choices": [{"name": "", "value": "v" * 101}]})] == \
        ["choices.0.name", "choices.0.value"]

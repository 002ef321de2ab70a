"""Assertions shared by the Discord tests."""
from __future__ import annotations

import json
import re

from tests.discord_double import DEFAULT_MEMBER_PERMISSIONS, MANAGE_GUILD, FakeDiscord

LIVE_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>")
MANAGE = DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD  # an organizer by permission


def message_bodies(fake: FakeDiscord) -> list[dict]:
    """Every message the bot sent or edited: callback data of type 4/7, follow-ups and edits."""
    bodies = []
    for r in fake.requests:
        if not isinstance(r.json, dict):
            continue
        if r.path.endswith("/callback") and r.json.get("type") in (4, 7):
            bodies.append(r.json.get("data") or {})
        elif r.path.startswith("/webhooks/") and r.method in ("POST", "PATCH"):
            bodies.append(r.json)
    return bodies


def assert_never_pings(fake: FakeDiscord) -> None:
    """allowed_mentions is none on every message, and no text carries a live mention."""
    bodies = message_bodies(fake)
    assert bodies
    for body in bodies:
        assert body.get("allowed_mentions") == {"parse": []}, body
        assert not LIVE_MENTION.search(json.dumps(body, ensure_ascii=False)), body


def ephemeral_text(body: dict) -> str:
    """The content of a private callback (type 4 with flag 64)."""
    assert body["type"] == 4 and body["data"]["flags"] == 64, body
    return body["data"]["content"]

"""What the double records and keeps: requests, uploaded files, guilds, interactions, faults, gateway sessions."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from aiohttp import web


# ---------------------------------------------------------------------------------- records
@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    field: str  # e.g. "files[0]"
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class Request:
    """One REST request the client made, and how the fake answered it."""

    method: str
    path: str  # relative to /api/v10, e.g. "/users/@me"
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # the JSON body, or the payload_json part of a multipart body
    files: list[UploadedFile] = field(default_factory=list)
    at: float = 0.0  # time.monotonic() on arrival
    status: int | None = None  # set once answered
    response: Any = None  # the JSON (or text) the fake answered
    fault: bool = False  # answered by an injected fault (fail_next), not by the route


@dataclass
class FakeGuild:
    """A guild the bot is in: one text channel, @everyone and an Organizer role."""

    id: str
    name: str
    channel_id: str
    organizer_role_id: str
    owner_id: str
    roles: list[dict] = field(default_factory=list)  # extra roles added with add_role()


@dataclass
class FakeAttachment:
    """A user's upload, served by the fake at ``url``."""

    id: str
    filename: str
    data: bytes
    content_type: str | None
    url: str
    size: int  # reported size; defaults to len(data), may be set higher to test size limits

    def payload(self) -> dict:
        """The attachment object Discord puts in ``resolved.attachments`` or ``message.attachments``."""
        out = {"id": self.id, "filename": self.filename, "size": self.size, "url": self.url,
               "proxy_url": self.url, "ephemeral": False}
        if self.content_type:
            out["content_type"] = self.content_type
        return out


@dataclass
class FakeInteraction:
    """Server-side state of one injected interaction."""

    id: str
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    payload: dict
    created_at: float
    delivered_at: float | None = None  # first time the frame went out on a gateway connection
    ack_type: int | None = None  # accepted callback type
    acked_at: float | None = None
    ephemeral: bool = False  # of the original response
    original_message_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    clicked_message_id: str | None = None  # component / modal-from-component interactions


@dataclass
class Fault:
    """An injected failure answered instead of the route, ``remaining`` more times."""

    match: Callable[[Request], bool]
    status: int
    retry_after: float
    remaining: int
    is_global: bool
    body: Any
    after_route: bool = False  # the route runs first: Discord did the work, only its answer was lost
    served: list[Request] = field(default_factory=list)


@dataclass
class GatewayConnection:
    """One websocket connection from the client."""

    path: str  # "/gateway" or "/gateway-resume"
    query: dict[str, str]
    opened_at: float
    compression: str  # what the fake actually sends
    ws: web.WebSocketResponse = field(repr=False)
    request: web.Request = field(repr=False)
    compress: Callable[[bytes], bytes] | None = field(default=None, repr=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    ready: bool = False  # dispatches flow (after READY, or after a RESUME's replay)
    resumed: bool = False
    closed_at: float | None = None
    close_code: int | None = None
    shard: int = 0  # the shard it identified or resumed as


@dataclass
class GatewaySession:
    """One shard's gateway session: its id, sequence numbers, the frames kept for RESUME, its live connection."""

    shard: int
    session_id: str | None = None
    seq: int = 0
    events: list[dict] = field(default_factory=list)
    conn: GatewayConnection | None = None


class Who(TypedDict, total=False):
    """Who invokes an injected interaction, and where."""

    guild_id: str | None  # default: the first guild; ignored with dm=True
    channel_id: str  # default: the guild's #general (a DM channel with dm=True)
    user_id: str  # default: fake.user_id, the same user every time
    username: str
    permissions: int | str  # member.permissions: what interaction.permissions reads
    roles: Sequence[str]  # member role ids
    locale: str
    dm: bool  # a DM with the bot: no guild, no member
    app_permissions: int | str
    strict: bool  # default True: refuse what Discord's client could not send (unsynced command, ...)



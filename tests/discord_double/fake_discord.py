"""A fake Discord (REST API v10, gateway websocket, attachment CDN) on 127.0.0.1 for end-to-end tests.

An unmodified discord.py 2.7.1 client logs in, syncs its command tree, connects to the gateway and
receives injected interactions (slash commands with typed options and attachments, subcommand
groups, message context menus, component clicks, modal submits, autocomplete), while every HTTP
request and gateway frame it sends is recorded for assertions. The fake answers like Discord where
bots commonly go wrong: the 3 s acknowledgement deadline (10062), single acknowledgement (40060),
follow-ups only after acknowledgement (10015), message, embed, component and command limits
(400 / 50035). Tests can inject 429 and 5xx answers and drop the gateway to exercise RESUME.

Point discord.py at it with ``fake.patch_discord(monkeypatch)`` (two class attributes, see NOTES.md),
or run it standalone: ``python -m tests.discord_double.fake_discord --port 8765``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import mimetypes
import re
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from aiohttp import WSMsgType, web

try:  # Python 3.11+
    from typing import Unpack
except ImportError:  # pragma: no cover - older Pythons only lose the precise **kwargs typing
    from typing_extensions import Unpack

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Permission bits used in payloads (https://discord.com/developers/docs/topics/permissions).
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
DEFAULT_MEMBER_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES
                              | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS)
DEFAULT_APP_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15

# Interaction types and the callback types Discord accepts for each of them.
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
_CALLBACKS_ALLOWED = {APPLICATION_COMMAND: {4, 5, 9}, MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
                      AUTOCOMPLETE: {8}, MODAL_SUBMIT: {4, 5, 6, 7}}
_SELECT_TYPES = {3, 5, 6, 7, 8}
_GATEWAY_PATHS = ("/gateway", "/gateway-resume")  # READY points resumes at the second one


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with the bare Content-Type discord.py requires."""
    # discord.py's json_or_text() parses a body only when Content-Type is *exactly* "application/json";
    # aiohttp's web.json_response() appends "; charset=utf-8" and the client would get a str.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def _now_iso() -> str:
    """The current UTC time in ISO 8601, as Discord timestamps are."""
    return datetime.now(UTC).isoformat()


def _stream_compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """The transport compressor for the client's ?compress= (None: send plain text frames)."""
    # discord.py asks for zstd-stream when `zstandard` (discord.py[speed]) or Python 3.14's
    # compression.zstd is importable, else zlib-stream. It decompresses only binary frames, so text
    # frames also work, but then its decompression path would go untested.
    if kind is None:
        return None
    if kind == "zlib-stream":  # one zlib stream per connection, each message ends in Z_SYNC_FLUSH
        z = zlib.compressobj()
        return lambda data: z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":  # one zstd stream per connection, each message block-flushed
        try:
            import zstandard
            zc = zstandard.ZstdCompressor().compressobj()
            return lambda data: zc.compress(data) + zc.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        except ImportError:
            pass
        try:
            from compression.zstd import ZstdCompressor  # type: ignore[import-not-found]  # Python >= 3.14
        except ImportError:
            # The bot (another process, another venv) can decompress zstd but this Python cannot
            # compress it: plain text frames, which discord.py parses as they are.
            return None
        zc2 = ZstdCompressor()
        return lambda data: zc2.compress(data, mode=ZstdCompressor.FLUSH_BLOCK)
    raise ValueError(f"fake gateway: unsupported compress={kind}")


# ---------------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class FormError:
    """One violated rule, in the shape Discord nests under "errors" of a 50035 answer."""

    path: str  # dotted path in the request body, e.g. "embeds.0.title" ("" = the whole body)
    code: str  # Discord's error code string, e.g. "BASE_TYPE_MAX_LENGTH"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def __contains__(self, text: str) -> bool:
        """``"1-100" in error`` searches the text, as with the reference double's string errors."""
        return text in f"{self} {self.code}"


def _too_long(errs: list[FormError], path: str, text: Any, limit: int) -> None:
    """Record a BASE_TYPE_MAX_LENGTH error when text (or a list) is longer than limit."""
    if text is not None and len(text if isinstance(text, (list, tuple)) else str(text)) > limit:
        errs.append(FormError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


def _bad_length(errs: list[FormError], path: str, value: Any, low: int, high: int) -> None:
    """Record a BASE_TYPE_BAD_LENGTH error when len(value) is outside [low, high]."""
    if not low <= len(value if value is not None else "") <= high:
        errs.append(FormError(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."))


def _nest_errors(errs: Sequence[FormError]) -> dict:
    """Discord's nested "errors" object; discord.py flattens it into "In embeds.0.title: ..."."""
    root: dict = {}
    for e in errs:
        node = root
        for part in e.path.split(".") if e.path else []:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": e.code, "message": e.message})
    return root


_CMD_NAME = re.compile(r"[-_'\w]{1,32}")  # approximates ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$


def command_errors(cmd: dict) -> list[FormError]:
    """Documented limits of one application command object (paths relative to the command)."""
    errs: list[FormError] = []
    if cmd.get("type", 1) != 1:  # user/message context menus: mixed case and spaces allowed, no options
        _bad_length(errs, "name", cmd.get("name"), 1, 32)
        if cmd.get("description"):
            errs.append(FormError("description", "APPLICATION_COMMAND_INVALID", "Context menus have no description."))
        if cmd.get("options"):
            errs.append(FormError("options", "APPLICATION_COMMAND_INVALID", "Context menus have no options."))
        return errs
    total = 0

    def walk(node: dict, where: str, depth: int) -> None:
        nonlocal total
        prefix = f"{where}." if where else ""
        name, desc = node.get("name") or "", node.get("description") or ""
        total += len(name) + len(desc)
        if not _CMD_NAME.fullmatch(name) or name != name.lower():
            errs.append(FormError(f"{prefix}name", "APPLICATION_COMMAND_INVALID_NAME",
                                  f"Command name is invalid: {name!r}"))
        _bad_length(errs, f"{prefix}description", desc, 1, 100)
        opts = node.get("options") or []
        _too_long(errs, f"{prefix}options", opts, 25)
        if len({o.get("name") for o in opts}) != len(opts):
            errs.append(FormError(f"{prefix}options", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                                  "Option names must be unique"))
        nested = [o for o in opts if o.get("type") in (1, 2)]
        if nested and len(nested) != len(opts):
            errs.append(FormError(f"{prefix}options", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                                  "Subcommands and groups cannot be mixed with other options"))
        optional_seen = False
        for i, o in enumerate(opts):
            where_o = f"{prefix}options.{i}"
            otype = o.get("type")
            if (otype == 2 and depth != 0) or (otype == 1 and depth > 1):
                errs.append(FormError(f"{where_o}.type", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                                      "Subcommands nest at most: command > group > subcommand"))
            if depth == 1 and node.get("type") == 2 and otype != 1:
                errs.append(FormError(f"{where_o}.type", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                                      "Groups may contain only subcommands"))
            if otype not in (1, 2):
                if o.get("required") and optional_seen:
                    errs.append(FormError(f"{where_o}.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                          "Required options must be placed before non-required options"))
                optional_seen |= not o.get("required")
                choices = o.get("choices") or []
                _too_long(errs, f"{where_o}.choices", choices, 25)
                if choices and o.get("autocomplete"):
                    errs.append(FormError(f"{where_o}.autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                                          "Autocomplete cannot be set with choices"))
                for j, c in enumerate(choices):
                    _bad_length(errs, f"{where_o}.choices.{j}.name", c.get("name"), 1, 100)
                    if isinstance(c.get("value"), str):
                        _too_long(errs, f"{where_o}.choices.{j}.value", c["value"], 100)
                    total += len(c.get("name") or "") + len(str(c.get("value")))
                for key, low, high in (("min_length", 0, 6000), ("max_length", 1, 6000)):
                    if key in o and o[key] is not None and not low <= o[key] <= high:
                        errs.append(FormError(f"{where_o}.{key}", "NUMBER_TYPE_OUT_OF_RANGE",
                                              f"Must be between {low} and {high}."))
            walk(o, where_o, depth + 1)

    walk(cmd, "", 0)
    if total > 4000:
        errs.append(FormError("", "APPLICATION_COMMAND_TOO_LARGE",
                              f"Command exceeds maximum size (4000): combined length {total}"))
    return errs


def component_errors(rows: Sequence[dict], path: str = "components") -> list[FormError]:
    """Limits of legacy (non-V2) message components: action rows, buttons, selects."""
    errs: list[FormError] = []
    _too_long(errs, path, rows, 5)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        p = f"{path}.{i}"
        if row.get("type") != 1:
            errs.append(FormError(f"{p}.type", "COMPONENT_TYPE_INVALID", "Top-level components must be action rows"))
            continue
        children = row.get("components") or []
        _bad_length(errs, f"{p}.components", children, 1, 5)
        if any(c.get("type") in _SELECT_TYPES for c in children) and len(children) > 1:
            errs.append(FormError(f"{p}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                                  "The specified component exceeds the maximum width"))
        for j, c in enumerate(children):
            q = f"{p}.components.{j}"
            ctype, cid = c.get("type"), c.get("custom_id")
            if ctype == 2:
                _too_long(errs, f"{q}.label", c.get("label"), 80)
                style = c.get("style")
                if style == 5:
                    if not c.get("url"):
                        errs.append(FormError(f"{q}.url", "BUTTON_COMPONENT_URL_REQUIRED", "A url is required"))
                    if cid is not None:
                        errs.append(FormError(f"{q}.custom_id", "BUTTON_COMPONENT_INVALID_FIELD",
                                              "Link buttons cannot have a custom_id"))
                elif style != 6 and not cid:
                    errs.append(FormError(f"{q}.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                                          "A custom id is required"))
                if style != 6 and not c.get("label") and not c.get("emoji"):
                    errs.append(FormError(f"{q}.label", "BUTTON_COMPONENT_LABEL_REQUIRED",
                                          "A label or emoji is required"))
            elif ctype in _SELECT_TYPES:
                if not cid:
                    errs.append(FormError(f"{q}.custom_id", "BASE_TYPE_REQUIRED", "This field is required"))
                _too_long(errs, f"{q}.placeholder", c.get("placeholder"), 150)
                if ctype == 3:
                    options = c.get("options") or []
                    _bad_length(errs, f"{q}.options", options, 1, 25)
                    for k, o in enumerate(options):
                        for key in ("label", "value", "description"):
                            _too_long(errs, f"{q}.options.{k}.{key}", o.get(key), 100)
            elif ctype == 4:
                errs.append(FormError(f"{q}.type", "COMPONENT_TYPE_INVALID", "Text inputs are only allowed in modals"))
            else:
                errs.append(FormError(f"{q}.type", "COMPONENT_TYPE_INVALID", f"Unknown component type {ctype!r}"))
            if cid is not None:
                _bad_length(errs, f"{q}.custom_id", cid, 1, 100)
                if cid in seen:
                    errs.append(FormError(f"{q}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED",
                                          "Component custom id cannot be duplicated"))
                seen.add(cid)
    return errs


def message_errors(body: dict, *, partial: bool = False) -> list[FormError]:
    """Limits of a message body (create; ``partial`` for edits, where an absent field is unchanged)."""
    errs: list[FormError] = []
    embeds = body.get("embeds") or []
    if not partial and not any(body.get(k) for k in ("content", "embeds", "components", "attachments",
                                                      "poll", "sticker_ids")):
        errs.append(FormError("", "EMPTY_MESSAGE", "Cannot send an empty message"))
    _too_long(errs, "content", body.get("content"), 2000)
    _too_long(errs, "embeds", embeds, 10)
    total = 0
    for i, e in enumerate(embeds):
        parts = {"title": (e.get("title"), 256), "description": (e.get("description"), 4096),
                 "footer.text": ((e.get("footer") or {}).get("text"), 2048),
                 "author.name": ((e.get("author") or {}).get("name"), 256)}
        fields = e.get("fields") or []
        _too_long(errs, f"embeds.{i}.fields", fields, 25)
        for j, f in enumerate(fields):
            parts[f"fields.{j}.name"] = (f.get("name"), 256)
            parts[f"fields.{j}.value"] = (f.get("value"), 1024)
            for key in ("name", "value"):
                if not f.get(key):
                    errs.append(FormError(f"embeds.{i}.fields.{j}.{key}", "BASE_TYPE_REQUIRED",
                                          "This field is required"))
        for key, (text, limit) in parts.items():
            total += len(text or "")
            _too_long(errs, f"embeds.{i}.{key}", text, limit)
    if total > 6000:  # across all embeds of the message
        errs.append(FormError("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
    if not (body.get("flags") or 0) & IS_COMPONENTS_V2:  # V2 layouts have other rules, not modelled
        errs += component_errors(body.get("components") or [])
    return errs


def autocomplete_errors(data: dict) -> list[FormError]:
    """Limits of an autocomplete result (callback type 8)."""
    errs: list[FormError] = []
    choices = data.get("choices")
    if choices is None:
        return [FormError("choices", "BASE_TYPE_REQUIRED", "This field is required")]
    _too_long(errs, "choices", choices, 25)
    for i, c in enumerate(choices):
        _bad_length(errs, f"choices.{i}.name", c.get("name"), 1, 100)
        if isinstance(c.get("value"), str):
            _too_long(errs, f"choices.{i}.value", c["value"], 100)
    return errs


def modal_errors(data: dict) -> list[FormError]:
    """Limits of a modal (callback type 9)."""
    errs: list[FormError] = []
    _bad_length(errs, "title", data.get("title"), 1, 45)
    _bad_length(errs, "custom_id", data.get("custom_id"), 1, 100)
    _bad_length(errs, "components", data.get("components") or [], 1, 5)
    return errs


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


# ---------------------------------------------------------------------------------- the fake
Handler = Callable[..., Awaitable[web.StreamResponse]]


class FakeDiscord:
    """A fake Discord: REST, gateway and CDN on 127.0.0.1, with recordings and fault injection."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        guilds: int | Sequence[str] = 1,
        heartbeat_interval_ms: int = 45_000,
        ack_deadline_s: float = 3.0,
        token_ttl_s: float = 15 * 60,
        app_name: str = "citebot",
        attachment_size_limit: int = 10 * 1024 * 1024,
        shards: int = 1,
    ) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_deadline_s = ack_deadline_s
        self.token_ttl_s = token_ttl_s
        self.attachment_size_limit = attachment_size_limit
        self._last_snowflake = 0
        self.app_id = self.snowflake()
        self.owner_id = self.snowflake()
        self.user_id = self.snowflake()  # the default invoking user
        self.bot_user = {"id": self.app_id, "username": app_name, "discriminator": "0",
                         "global_name": None, "avatar": None, "bot": True, "flags": 0}
        self.app_name = app_name
        # Guild i gets an id on shard i % shards, as Discord places it: (guild_id >> 22) % shard_count.
        self.recommended_shards = shards  # what GET /gateway/bot answers
        self.shard_count = 1  # of the client's IDENTIFY: how dispatches are routed to shards
        names = [f"Guild {i + 1}" for i in range(guilds)] if isinstance(guilds, int) else list(guilds)
        self.guilds: list[FakeGuild] = []
        for i, name in enumerate(names):
            self._new_guild(name, shard=i % shards, shard_count=shards)
        # recordings
        self.requests: list[Request] = []
        self.unhandled: list[Request] = []
        self.errors: list[dict] = []  # every 4xx/5xx the fake answered on its own (not injected faults)
        self.faults: list[Fault] = []
        self.cdn_requests: list[tuple[str, float]] = []  # (path, time) of attachment downloads
        self.gateway_connections: list[GatewayConnection] = []
        self.gateway_query: dict[str, str] = {}  # of the latest connection
        self.gateway_compression: str | None = None
        self.gateway_received: list[dict] = []  # every frame the client sent, all connections
        self.gateway_received_at: list[float] = []
        self.gateway_closed: dict | None = None  # {"code", "at"} of the latest closed connection
        self.identifies: list[dict] = []  # IDENTIFY payloads (d)
        self.resumes: list[dict] = []  # {"session_id", "seq", "accepted", "replayed", "at", "path"}
        self.heartbeats: list[tuple[float, int | None]] = []  # (time, d) of every HEARTBEAT received
        self.heartbeats_acked: list[float] = []  # time of every HEARTBEAT_ACK sent
        self.ack_heartbeats = True  # False: stop acking, to test zombie-connection handling
        self.accept_resumes = True  # False: answer RESUME with INVALID_SESSION(false)
        self.commands: dict[str | None, list[dict]] = {}  # scope (None = global | guild id) -> commands
        self.interactions: dict[str, FakeInteraction] = {}
        self.messages: dict[str, dict] = {}  # every message the fake holds (bot replies, injected user messages)
        self.attachments: dict[str, FakeAttachment] = {}
        # gateway session
        self._shard_sessions: dict[int, GatewaySession] = {0: GatewaySession(0)}
        self._sessions = itertools.count(1)
        self._tokens = itertools.count(1)
        self._message_guild: dict[str, str | None] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._routes = self._route_table()
        self.port = 0

    # ------------------------------------------------------------------ ids and guilds
    def snowflake(self) -> str:
        """A fresh, increasing snowflake id."""
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_snowflake = max(self._last_snowflake + 1, now)
        return str(self._last_snowflake)

    # ------------------------------------------------------------------ shards
    @property
    def session_id(self) -> str | None:
        """Shard 0's session id (the only shard of an unsharded client)."""
        return self._shard_sessions[0].session_id

    @property
    def seq(self) -> int:
        """Shard 0's latest sequence number."""
        return self._shard_sessions[0].seq

    @property
    def _session_events(self) -> list[dict]:
        """Shard 0's dispatch frames of the current session, for RESUME replay."""
        return self._shard_sessions[0].events

    @property
    def _conn(self) -> GatewayConnection | None:
        """Shard 0's live connection."""
        return self._shard_sessions[0].conn

    @_conn.setter
    def _conn(self, conn: GatewayConnection | None) -> None:
        self._shard_sessions[0].conn = conn

    def shard_of(self, guild_id: str | None) -> int:
        """The shard a guild's events go to (DMs: shard 0)."""
        return (int(guild_id) >> 22) % self.shard_count if guild_id else 0

    def session(self, shard: int = 0) -> GatewaySession:
        """A shard's gateway session."""
        return self._shard_sessions.setdefault(shard, GatewaySession(shard))

    def connected(self, shard: int = 0) -> bool:
        """True when that shard's connection is up and receiving dispatches."""
        conn = self.session(shard).conn
        return conn is not None and conn.ready

    def _session_for(self, event: str, data: Any) -> GatewaySession:
        """The session a dispatch belongs to, by the guild it is about."""
        guild_id = None
        if isinstance(data, dict):
            guild_id = data.get("id") if event == "GUILD_CREATE" else data.get("guild_id")
        return self.session(self.shard_of(guild_id))

    @property
    def identify(self) -> dict | None:
        """The latest IDENTIFY payload (d)."""
        return self.identifies[-1] if self.identifies else None

    @property
    def guild_id(self) -> str:
        """The first guild's id (the default for injected interactions)."""
        return self.guilds[0].id

    @property
    def channel_id(self) -> str:
        """The first guild's text channel id."""
        return self.guilds[0].channel_id

    @property
    def organizer_role_id(self) -> str:
        """The first guild's Organizer role id."""
        return self.guilds[0].organizer_role_id

    def guild(self, guild_id: str | None = None) -> FakeGuild:
        """The guild with this id (default: the first one)."""
        if guild_id is None:
            return self.guilds[0]
        for g in self.guilds:
            if g.id == str(guild_id):
                return g
        raise LookupError(f"the bot is not in guild {guild_id}; configured: {[g.id for g in self.guilds]}")

    def _new_guild(self, name: str, shard: int = 0, shard_count: int = 1) -> FakeGuild:
        """Create and remember a guild, with an id that lands on that shard of shard_count."""
        guild_id = int(self.snowflake())
        while (guild_id >> 22) % shard_count != shard:
            guild_id += 1 << 22
        self._last_snowflake = guild_id
        g = FakeGuild(id=str(guild_id), name=name, channel_id=self.snowflake(),
                      organizer_role_id=self.snowflake(), owner_id=self.owner_id)
        self.guilds.append(g)
        return g

    async def add_guild(self, name: str) -> FakeGuild:
        """Add a guild; when the bot is connected it receives GUILD_CREATE (it joined)."""
        g = self._new_guild(name)
        if self.connected(self.shard_of(g.id)):
            # without "unavailable" discord.py dispatches on_guild_join (with False: on_guild_available)
            payload = {k: v for k, v in self.guild_payload(g).items() if k != "unavailable"}
            await self.dispatch("GUILD_CREATE", payload)
        return g

    async def add_role(self, name: str, *, permissions: int = 0, guild_id: str | None = None) -> str:
        """Add a role to a guild (GUILD_ROLE_CREATE when connected); returns its id."""
        g = self.guild(guild_id)
        role = self._role(self.snowflake(), name, permissions, position=len(g.roles) + 2)
        g.roles.append(role)
        if self.connected(self.shard_of(g.id)):
            await self.dispatch("GUILD_ROLE_CREATE", {"guild_id": g.id, "role": role})
        return role["id"]

    # ------------------------------------------------------------------ lifecycle
    async def start(self, port: int = 0) -> FakeDiscord:
        """Serve on 127.0.0.1 (port 0: a free one)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)  # aiohttp's 1 MiB default would reject uploads
        for path in _GATEWAY_PATHS:
            app.router.add_get(path, self._gateway)
        app.router.add_get("/attachments/{id}/{filename}", self._cdn)
        app.router.add_route("*", "/_fake/{action}", self._control)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        """Close gateway connections and stop serving."""
        for conn in self.gateway_connections:
            if not conn.ws.closed:
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The value for discord.http.Route.BASE."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The value for DiscordWebSocket.DEFAULT_GATEWAY."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The resume_gateway_url sent in READY (a separate path, to see that the client uses it)."""
        return f"ws://127.0.0.1:{self.port}/gateway-resume"

    def patch_discord(self, monkeypatch: Any = None) -> Callable[[], None]:
        """Point discord.py at this server (via pytest's monkeypatch if given); returns an undo function."""
        import discord.gateway
        import discord.http
        import yarl

        targets = [(discord.http.Route, "BASE", self.api_base),
                   (discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))]
        if monkeypatch is not None:
            for obj, name, value in targets:
                monkeypatch.setattr(obj, name, value)
            return lambda: None
        saved = [(obj, name, getattr(obj, name)) for obj, name, _ in targets]
        for obj, name, value in targets:
            setattr(obj, name, value)

        def undo() -> None:
            """Restore discord.py's real endpoints."""
            for obj, name, value in saved:
                setattr(obj, name, value)
        return undo

    # ------------------------------------------------------------------ waiting
    async def _notify(self) -> None:
        """Wake every wait_for() to re-check its predicate."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        """Wait until predicate() is truthy and return its value; AssertionError on timeout."""
        async def _wait() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    # woken by the fake's own events; the short timeout re-checks predicates on client state
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.01)
                return result
        try:
            return await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            seen = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-15:]]
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last requests: {seen}; "
                                 f"error responses: {self.errors[-5:]}") from None

    async def wait_for_request(
        self, match: Callable[[Request], Any] | str, path: str | float | None = None, *,
        timeout: float = 5.0, after: int = 0,
    ) -> Request:
        """The first answered request (from index ``after``) matching a predicate, or a method and a path regex."""
        if isinstance(path, (int, float)):  # wait_for_request(predicate, 2.0)
            path, timeout = None, float(path)
        if callable(match):
            pred = match
            what = getattr(match, "__name__", "a matching request")
        else:
            if path is None:
                raise TypeError("wait_for_request(method, path_regex) or wait_for_request(predicate)")
            pat, method = re.compile(path), match
            pred = lambda r: r.method == method and pat.fullmatch(r.path)  # noqa: E731
            what = f"{method} {path}"
        return await self.wait_for(
            lambda: next((r for r in self.requests[after:] if r.status is not None and pred(r)), None),
            timeout, what=what)

    def requests_for(self, interaction: str | dict) -> list[Request]:
        """Callback and webhook requests made with one interaction's token, in order."""
        token = self._token_of(interaction)
        return [r for r in self.requests if token in r.path.split("/")]

    async def wait_for_callback(self, interaction: str | dict, *, timeout: float = 5.0,
                                accepted: bool = True) -> dict:
        """The body of the interaction's callback (only an accepted one unless accepted=False)."""
        token = self._token_of(interaction)
        rec = await self.wait_for(lambda: next(
            (r for r in self.requests_for(token) if r.path.endswith("/callback") and r.status is not None
             and (not accepted or r.status < 300)), None), timeout, what=f"the callback of {token}")
        return rec.json

    async def wait_for_followup(self, interaction: str | dict, timeout: float = 5.0, *,
                                index: int = 0, accepted: bool = True) -> dict:
        """The body of the interaction's index-th follow-up POST (only accepted ones unless accepted=False)."""
        token = self._token_of(interaction)
        path = f"/webhooks/{self.app_id}/{token}"

        def find() -> Request | None:
            found = [r for r in self.requests if r.method == "POST" and r.path == path and r.status is not None
                     and (not accepted or r.status < 300)]
            return found[index] if len(found) > index else None
        return (await self.wait_for(find, timeout, what=f"follow-up #{index} of {token}")).json

    async def wait_for_reply(self, interaction: str | dict, timeout: float = 5.0) -> dict:
        """The first visible answer: callback 4/7 data, a follow-up, or an edit of @original after a defer."""
        token = self._token_of(interaction)

        def find() -> dict | None:
            for r in self.requests_for(token):
                if r.status is None or r.status >= 300:
                    continue
                if r.path.endswith("/callback") and (r.json or {}).get("type") in (4, 7):
                    return {"body": r.json.get("data") or {}}
                if (r.method == "POST" and r.path.startswith("/webhooks/")) or r.method == "PATCH":
                    return {"body": r.json or {}}
            return None
        return (await self.wait_for(find, timeout, what=f"a reply to {token}"))["body"]

    async def wait_for_resume(self, count: int = 1, timeout: float = 5.0) -> dict:
        """The count-th RESUME the client sent (after the fake answered it)."""
        return await self.wait_for(lambda: len(self.resumes) >= count and self.resumes[count - 1].get("answered")
                                   and self.resumes[count - 1], timeout, what=f"RESUME #{count}")

    def max_heartbeat_gap(self, since: float | None = None) -> float:
        """The longest wait between heartbeats received after ``since`` (up to now)."""
        times = [t for t, _ in self.heartbeats if since is None or t >= since]
        points = ([since] if since is not None else []) + times + [time.monotonic()]
        return max((b - a for a, b in itertools.pairwise(points)), default=0.0)

    def assert_clean(self) -> None:
        """Fail if the client called a route the fake lacks or the fake answered an error of its own."""
        assert not self.unhandled, f"routes the fake does not serve: {[(r.method, r.path) for r in self.unhandled]}"
        assert not self.errors, f"the fake answered with errors: {self.errors}"

    # ------------------------------------------------------------------ fault injection
    def fail_next(
        self, route: Callable[[Request], Any] | str, status: int = 429, *, retry_after: float = 0.2,
        count: int = 1, is_global: bool = False, body: Any = None, after_route: bool = False,
    ) -> Fault:
        """Answer the next ``count`` matching requests with ``status`` (429 shaped as Discord's, 5xx as Cloudflare's).

        ``route`` is a predicate on Request or a regex searched in "METHOD /path", e.g. r"POST /webhooks/".
        With ``after_route`` the request is handled first and only its answer replaced (a 5xx from a proxy
        after Discord acted): a client that retries then meets the consequences, e.g. 40060 on a callback.
        """
        if isinstance(route, str):
            pat = re.compile(route)
            match: Callable[[Request], Any] = lambda r: pat.search(f"{r.method} {r.path}")  # noqa: E731
        else:
            match = route
        fault = Fault(match, status, retry_after, count, is_global, body, after_route)
        self.faults.append(fault)
        return fault

    async def _serve_fault(self, rec: Request) -> web.Response | None:
        """The injected answer for this request, if a pending fault matches it."""
        fault = next((f for f in self.faults if f.remaining > 0 and f.match(rec)), None)
        if fault is None:
            return None
        fault.remaining -= 1  # before any await: a concurrent request must not take the same fault
        fault.served.append(rec)
        rec.fault = True
        if fault.after_route:
            await self._route(rec)
        if fault.status == 429:
            data = fault.body if fault.body is not None else {
                "message": "You are being rate limited.", "retry_after": fault.retry_after, "global": fault.is_global}
            headers = {
                # discord.py treats a 429 without Via as a Cloudflare ban and raises instead of retrying.
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(fault.retry_after))),  # whole seconds, as in Discord's docs
                "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Bucket": "fake-" + re.sub(r"\d+", "id", rec.path.split("?")[0])[:60],
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
            }
            if fault.is_global:
                headers["X-RateLimit-Global"] = "true"
            return _json(data, 429, headers)
        if fault.status in (502, 503, 504) and fault.body is None:  # Cloudflare answers these in HTML
            return web.Response(text=f"<html><body>{fault.status} Bad Gateway</body></html>", status=fault.status,
                                content_type="text/html")
        data = fault.body if fault.body is not None else {"message": f"{fault.status}: Internal Server Error",
                                                          "code": 0}
        return _json(data, fault.status)

    # ------------------------------------------------------------------ payload factories
    @staticmethod
    def _user(user_id: str, username: str | None = None) -> dict:
        """A user object."""
        return {"id": user_id, "username": username or f"user{user_id[-4:]}", "discriminator": "0",
                "global_name": None, "avatar": None}

    def member(self, user_id: str, *, permissions: int | str = DEFAULT_MEMBER_PERMISSIONS,
               roles: Sequence[str] = (), username: str | None = None) -> dict:
        """A guild member object as sent in interactions (with the computed ``permissions`` string)."""
        return {"user": self._user(user_id, username), "roles": [str(r) for r in roles], "joined_at": _now_iso(),
                "deaf": False, "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
                "premium_since": None, "permissions": str(permissions)}

    @staticmethod
    def _role(role_id: str, name: str, permissions: int, position: int) -> dict:
        """A role object."""
        return {"id": role_id, "name": name, "permissions": str(permissions), "position": position, "color": 0,
                "hoist": False, "managed": False, "mentionable": False, "flags": 0}

    def _channel(self, g: FakeGuild) -> dict:
        """The guild's text channel object."""
        return {"id": g.channel_id, "type": 0, "name": "general", "position": 0, "guild_id": g.id,
                "permission_overwrites": [], "nsfw": False, "topic": None, "last_message_id": None,
                "rate_limit_per_user": 0, "parent_id": None}

    def guild_payload(self, g: FakeGuild) -> dict:
        """The GUILD_CREATE payload of a guild."""
        return {
            "id": g.id, "name": g.name, "icon": None, "owner_id": g.owner_id,
            "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0,
            "mfa_level": 0, "premium_tier": 0, "nsfw_level": 0, "preferred_locale": "en-US",
            "features": [], "emojis": [], "stickers": [], "system_channel_flags": 0,
            "joined_at": _now_iso(), "large": False, "unavailable": False, "member_count": 2,
            "roles": [self._role(g.id, "@everyone", VIEW_CHANNEL | SEND_MESSAGES | USE_APPLICATION_COMMANDS, 0),
                      self._role(g.organizer_role_id, "Organizer", MANAGE_GUILD, 1), *g.roles],
            "channels": [self._channel(g)],
            "members": [self.member(self.app_id, permissions=0) | {"user": self.bot_user}],
            "threads": [], "presences": [], "voice_states": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [],
        }

    def attachment(self, filename: str, data: bytes, content_type: str | None = None, *,
                   size: int | None = None) -> FakeAttachment:
        """Register a user upload served at /attachments/<id>/<filename>; pass it as an option value."""
        aid = self.snowflake()
        att = FakeAttachment(id=aid, filename=filename, data=data,
                             content_type=content_type or mimetypes.guess_type(filename)[0],
                             url=f"{self.base_url}/attachments/{aid}/{filename}",
                             size=len(data) if size is None else size)
        self.attachments[aid] = att
        return att

    def make_message(self, content: str, *, author_id: str | None = None, guild_id: str | None = None,
                     embeds: Sequence[dict] = (), username: str | None = None) -> dict:
        """A message written by a user in a guild's channel (e.g. the target of a context menu)."""
        g = self.guild(guild_id)
        author = self._user(author_id or self.user_id, username)
        msg = {"id": self.snowflake(), "channel_id": g.channel_id, "guild_id": g.id, "type": 0, "author": author,
               "content": content, "embeds": list(embeds), "components": [], "attachments": [], "mentions": [],
               "mention_roles": [], "mention_everyone": False, "pinned": False, "tts": False,
               "timestamp": _now_iso(), "edited_timestamp": None, "flags": 0,
               "member": {k: v for k, v in self.member(author["id"]).items() if k != "user"}}
        self.messages[msg["id"]] = msg
        self._message_guild[msg["id"]] = g.id
        return msg

    def _bot_message(self, inter: FakeInteraction, body: dict, files: Sequence[UploadedFile], *,
                     flags: int, mtype: int, message_id: str | None = None) -> dict:
        """Store and return a message the bot sent through an interaction."""
        mid = message_id or self.snowflake()
        user = inter.payload.get("member", {}).get("user") or inter.payload.get("user")
        msg = {
            "id": mid, "channel_id": inter.payload["channel_id"], "type": mtype, "author": self.bot_user,
            "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "attachments": self._uploads(files),
            "mentions": [], "mention_roles": [], "mention_everyone": False, "pinned": False,
            "tts": bool(body.get("tts")), "timestamp": _now_iso(), "edited_timestamp": None, "flags": flags,
            "webhook_id": self.app_id, "application_id": self.app_id,
            "interaction_metadata": {"id": inter.id, "type": inter.type, "user": user,
                                     "authorizing_integration_owners": inter.payload["authorizing_integration_owners"]},
        }
        if body.get("poll"):
            msg["poll"] = body["poll"]
        self.messages[mid] = msg
        self._message_guild[mid] = inter.payload.get("guild_id")
        return msg

    def _uploads(self, files: Sequence[UploadedFile]) -> list[dict]:
        """Attachment objects for the bot's uploads (served by the fake like users' ones)."""
        return [self.attachment(f.filename, f.data, f.content_type).payload() for f in files]

    # ------------------------------------------------------------------ injecting events
    def _frame(self, event: str, data: Any, session: GatewaySession | None = None) -> dict:
        """A new dispatch frame of its shard's session (sequence number assigned, kept for replay)."""
        session = session or self._session_for(event, data)
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(frame)
        return frame

    async def dispatch(self, event: str, data: Any) -> int:
        """Send a DISPATCH event to its guild's shard; while that shard is disconnected it is kept for RESUME."""
        session = self._session_for(event, data)
        frame = self._frame(event, data, session)
        conn = session.conn
        if conn is not None and conn.ready:
            await self._send(conn, frame)
        return frame["s"]

    def _token_of(self, interaction: str | dict) -> str:
        """The token of an interaction given as its payload or its token."""
        return interaction["token"] if isinstance(interaction, dict) else interaction

    def find_command(self, name: str, ctype: int = 1, guild_id: str | None = None) -> dict | None:
        """The synced command of this name and type visible in a guild (guild scope first) or in DMs."""
        scopes = ([guild_id] if guild_id else []) + [None]
        for scope in scopes:
            for c in self.commands.get(scope, []):
                if c["name"] == name and c.get("type", 1) == ctype:
                    return c
        return None

    def _registered(self, name: str, ctype: int, guild_id: str | None, strict: bool) -> dict | None:
        """The synced command an interaction refers to; LookupError when Discord could not show it."""
        cmd = self.find_command(name, ctype, guild_id)
        if strict and self.commands:  # nothing synced at all: the bot may not sync; nothing to check
            if cmd is None:
                where = f"guild {guild_id}" if guild_id else "DMs"
                raise LookupError(f"command {name!r} (type {ctype}) is not synced globally or for {where}; "
                                  f"Discord would not offer it. Synced: "
                                  f"{ {k: [c['name'] for c in v] for k, v in self.commands.items()} }")
            if guild_id is None and (cmd.get("dm_permission") is False
                                     or (cmd.get("contexts") is not None and 1 not in cmd["contexts"])):
                raise LookupError(f"command {name!r} is guild-only; Discord would not offer it in DMs")
        return cmd

    def _interaction_payload(self, itype: int, data: dict, who: Who, *, message: dict | None = None) -> dict:
        """A complete INTERACTION_CREATE payload."""
        iid, token = self.snowflake(), f"itoken-{next(self._tokens)}-{secrets.token_hex(4)}"
        user_id = who.get("user_id") or self.user_id
        payload: dict[str, Any] = {
            "id": iid, "application_id": self.app_id, "type": itype, "token": token, "version": 1,
            "locale": who.get("locale", "en-US"), "data": data,
            "app_permissions": str(who.get("app_permissions", DEFAULT_APP_PERMISSIONS)),
            "entitlements": [], "attachment_size_limit": self.attachment_size_limit,
        }
        if who.get("dm"):
            channel_id = who.get("channel_id") or self.snowflake()
            payload |= {"channel_id": channel_id, "user": self._user(user_id, who.get("username")),
                        "channel": {"id": channel_id, "type": 1, "recipients": [self._user(user_id)],
                                    "last_message_id": None, "flags": 0},
                        "context": 1, "authorizing_integration_owners": {"0": self.owner_id}}
        else:
            g = self.guild(who.get("guild_id"))
            channel_id = who.get("channel_id") or g.channel_id
            payload |= {
                "guild_id": g.id, "guild_locale": "en-US", "guild": {"id": g.id, "locale": "en-US", "features": []},
                "channel_id": channel_id, "channel": self._channel(g) | {"id": channel_id},
                "member": self.member(user_id, permissions=who.get("permissions", DEFAULT_MEMBER_PERMISSIONS),
                                      roles=who.get("roles", ()), username=who.get("username")),
                "context": 0, "authorizing_integration_owners": {"0": g.id},
            }
        if message is not None:
            payload["message"] = message
        self.interactions[iid] = FakeInteraction(id=iid, token=token, type=itype, payload=payload,
                                                 created_at=time.monotonic())
        return payload

    def _build_options(self, node: dict | None, values: dict[str, Any], focused: str | None,
                       resolved: dict, strict: bool, where: str) -> list[dict]:
        """Typed leaf options (types from the synced schema when known, else from the Python values)."""
        schema = {o["name"]: o for o in (node or {}).get("options") or [] if o.get("type") not in (1, 2)}
        if strict and node is not None:
            unknown = set(values) - set(schema)
            if unknown:
                raise LookupError(f"/{where} has no option(s) {sorted(unknown)}; it has {sorted(schema)}")
            missing = [n for n, o in schema.items() if o.get("required") and n not in values and n != focused]
            if missing and focused is None:
                raise ValueError(f"/{where}: Discord's client requires option(s) {missing}")
        out = []
        for name, value in values.items():
            spec = schema.get(name)
            otype = spec["type"] if spec else self._infer_type(value)
            opt: dict[str, Any] = {"type": otype, "name": name}
            if name == focused:  # the user is still typing: Discord sends the raw text
                opt |= {"value": value, "focused": True}
            elif otype == 11:
                if not isinstance(value, FakeAttachment):
                    raise TypeError(f"option {name!r} is an attachment: pass fake.attachment(filename, data)")
                opt["value"] = value.id
                resolved.setdefault("attachments", {})[value.id] = value.payload()
            else:
                opt["value"] = self._coerce(otype, value, name)
                choices = [c["value"] for c in (spec or {}).get("choices") or []]
                if strict and choices and opt["value"] not in choices:
                    raise ValueError(f"/{where} {name}: {value!r} is not one of the option's choices")
            out.append(opt)
        return out

    @staticmethod
    def _infer_type(value: Any) -> int:
        """The option type of a Python value (when the command's schema is unknown)."""
        if isinstance(value, FakeAttachment):
            return 11
        if isinstance(value, bool):  # before int: bool is an int subclass
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        return 3

    @staticmethod
    def _coerce(otype: int, value: Any, name: str) -> Any:
        """The JSON value Discord sends for an option of this type."""
        if otype == 5:
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} is a boolean, got {value!r}")
            return value
        if otype == 4:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"option {name!r} is an integer, got {value!r}")
            return value
        if otype == 10:
            return float(value)
        if otype in (6, 7, 8, 9):  # user/channel/role/mentionable: a snowflake (unresolved: discord.Object)
            return str(value)
        return str(value)

    def _command_data(self, command: str, options: dict[str, Any] | None, who: Who,
                      focused: str | None = None) -> dict:
        """The ``data`` of a chat-input command, wrapping the leaf in its subcommand and group."""
        strict = who.get("strict", True)
        guild_id = None if who.get("dm") else self.guild(who.get("guild_id")).id
        top, *path = command.split()
        registered = self._registered(top, 1, guild_id, strict)
        node = registered
        for depth, name in enumerate(path):  # walk group / subcommand in the synced schema
            if node is None:
                break
            node = next((o for o in node.get("options") or [] if o["name"] == name and o.get("type") in (1, 2)), None)
            if node is None and strict:
                raise LookupError(f"/{top} has no subcommand or group {name!r} at level {depth + 1}")
        if strict and node is not None and any(o.get("type") in (1, 2) for o in node.get("options") or []):
            raise LookupError(f"/{command} is a group: Discord only invokes its subcommands")
        resolved: dict[str, dict] = {}
        opts = self._build_options(node, options or {}, focused, resolved, strict and registered is not None, command)
        if len(path) == 2:
            opts = [{"type": 2, "name": path[0], "options": [{"type": 1, "name": path[1], "options": opts}]}]
        elif len(path) == 1:
            opts = [{"type": 1, "name": path[0], "options": opts}]
        elif len(path) > 2:
            raise ValueError(f"{command!r}: Discord nests at most command > group > subcommand")
        data: dict[str, Any] = {"id": registered["id"] if registered else self.snowflake(), "name": top, "type": 1,
                                "options": opts}
        if resolved:
            data["resolved"] = resolved
        if registered and registered.get("guild_id"):
            data["guild_id"] = registered["guild_id"]
        return data

    async def send_slash_command(self, command: str, options: dict[str, Any] | None = None,
                                 **who: Unpack[Who]) -> dict:
        """Dispatch a chat-input command ("ask", "kb upload", "admin kb purge") and return its payload.

        Option values: str, bool, int, float, or fake.attachment(...) (types follow the synced schema).
        """
        payload = self._interaction_payload(APPLICATION_COMMAND, self._command_data(command, options, who), who)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def send_autocomplete(self, command: str, options: dict[str, Any] | None = None, *, focused: str,
                                timeout: float = 5.0, **who: Unpack[Who]) -> list[dict]:
        """Dispatch an autocomplete interaction for the ``focused`` option; return the bot's choices."""
        options = dict(options or {})
        options.setdefault(focused, "")
        payload = self._interaction_payload(AUTOCOMPLETE, self._command_data(command, options, who, focused), who)
        await self.dispatch("INTERACTION_CREATE", payload)
        body = await self.wait_for_callback(payload, timeout=timeout, accepted=False)
        return (body.get("data") or {}).get("choices") or []

    async def send_message_command(self, name: str, message: dict | str, **who: Unpack[Who]) -> dict:
        """Dispatch a message context-menu command on ``message`` (a message dict, or content for a new one)."""
        guild_id = None if who.get("dm") else self.guild(who.get("guild_id")).id
        target = self.make_message(message, guild_id=guild_id) if isinstance(message, str) else message
        registered = self._registered(name, 3, guild_id, who.get("strict", True))
        data: dict[str, Any] = {"id": registered["id"] if registered else self.snowflake(), "name": name, "type": 3,
                                "target_id": target["id"], "resolved": {"messages": {target["id"]: target}}}
        if registered and registered.get("guild_id"):
            data["guild_id"] = registered["guild_id"]
        payload = self._interaction_payload(APPLICATION_COMMAND, data, who)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def _component_message(self, custom_id: str, message: dict | str | None, component_type: int,
                           strict: bool) -> dict:
        """The message carrying the component (given, by id, or the newest one holding custom_id)."""
        if isinstance(message, dict):
            return message
        if isinstance(message, str):
            msg = self.messages.get(message)
            if msg is None:
                raise LookupError(f"no message {message}")
            candidates = [msg]
        else:
            candidates = list(reversed(self.messages.values()))
        for msg in candidates:
            for row in msg.get("components") or []:
                for comp in row.get("components") or []:
                    if comp.get("custom_id") == custom_id:
                        if strict and comp.get("type") != component_type:
                            raise ValueError(f"component {custom_id!r} has type {comp.get('type')}, "
                                             f"not {component_type}")
                        if strict and comp.get("disabled"):
                            raise ValueError(f"component {custom_id!r} is disabled; Discord's client cannot use it")
                        return msg
        raise LookupError(f"no message holds a component with custom_id {custom_id!r}")

    async def send_component(self, custom_id: str, *, message: dict | str | None = None,
                             component_type: int = 2, values: Sequence[str] | None = None,
                             **who: Unpack[Who]) -> dict:
        """Dispatch a component interaction (button click, or select with ``values``) on a stored message."""
        msg = self._component_message(custom_id, message, component_type, who.get("strict", True))
        if "guild_id" not in who and not who.get("dm"):
            who = {**who, "guild_id": self._message_guild.get(msg["id"]) or msg.get("guild_id")}
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        payload = self._interaction_payload(MESSAGE_COMPONENT, data, who, message=msg)
        self.interactions[payload["id"]].clicked_message_id = msg["id"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def click_button(self, custom_id: str, *, message: dict | str | None = None,
                           **who: Unpack[Who]) -> dict:
        """Click the button ``custom_id`` (on ``message``, or the newest message holding it)."""
        return await self.send_component(custom_id, message=message, component_type=2, **who)

    async def send_modal_submit(self, custom_id: str, values: dict[str, str], *,
                                message: dict | str | None = None, **who: Unpack[Who]) -> dict:
        """Dispatch a modal submit with text input values (custom_id -> value)."""
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()]
        msg = self.messages.get(message) if isinstance(message, str) else message
        payload = self._interaction_payload(MODAL_SUBMIT, {"custom_id": custom_id, "components": rows}, who,
                                            message=msg)
        if msg is not None:
            self.interactions[payload["id"]].clicked_message_id = msg["id"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # ------------------------------------------------------------------ gateway
    async def _send(self, conn: GatewayConnection, payload: dict) -> bool:
        """Send one frame on a connection; False when it is gone (the event stays for replay)."""
        text = json.dumps(payload)
        async with conn.lock:  # one compression stream per connection: frames must go out in order
            if conn.ws.closed:
                return False
            try:
                if conn.compress is not None:
                    await conn.ws.send_bytes(conn.compress(text.encode()))
                else:
                    await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        if payload.get("t") == "INTERACTION_CREATE":
            inter = self.interactions.get(payload["d"]["id"])
            if inter is not None and inter.delivered_at is None:  # the 3 s deadline starts on delivery
                inter.delivered_at = time.monotonic()
        return True

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        """One gateway connection: HELLO, then the client's ops until it closes."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        asked = request.query.get("compress")
        try:
            compress = _stream_compressor(asked)
        except ValueError as exc:
            await ws.close(code=4000, message=str(exc).encode())
            return ws
        conn = GatewayConnection(path=request.path, query=dict(request.query), opened_at=time.monotonic(),
                                 compression=asked if compress else f"none (text frames; client asked for {asked})",
                                 ws=ws, request=request, compress=compress)
        self.gateway_connections.append(conn)
        if self.shard_count == 1:  # unsharded: the connection is shard 0's before it says so
            self._conn = conn
        self.gateway_query, self.gateway_compression = conn.query, conn.compression
        hello = {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
        await self._send(conn, hello)
        await self._notify()
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_received.append(frame)
                self.gateway_received_at.append(time.monotonic())
                await self._on_op(conn, frame)
                await self._notify()
        finally:
            conn.ready = False
            conn.closed_at = time.monotonic()
            conn.close_code = conn.close_code or ws.close_code
            for session in self._shard_sessions.values():
                if session.conn is conn:
                    session.conn = None
            self.gateway_closed = {"code": conn.close_code, "at": conn.closed_at}
            await self._notify()
        return ws

    async def _on_op(self, conn: GatewayConnection, frame: dict) -> None:
        """Answer one client frame."""
        op, d = frame.get("op"), frame.get("d")
        if op == 1:  # HEARTBEAT -> HEARTBEAT_ACK
            self.heartbeats.append((time.monotonic(), d))
            if self.ack_heartbeats and await self._send(conn, {"op": 11, "s": None, "t": None, "d": None}):
                self.heartbeats_acked.append(time.monotonic())
        elif op == 2:  # IDENTIFY: a new session
            self.identifies.append(d)
            if d.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            shard, self.shard_count = d.get("shard") or [0, 1]
            session = GatewaySession(shard, f"fake-session-{next(self._sessions)}", conn=conn)
            self._shard_sessions[shard], conn.shard = session, shard
            guilds = [g for g in self.guilds if self.shard_of(g.id) == shard]
            ready = self._frame("READY", {
                "v": 10, "user": self.bot_user, "session_id": session.session_id,
                "resume_gateway_url": self.resume_gateway_url, "session_type": "normal",
                "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
                "application": {"id": self.app_id, "flags": 0}, "private_channels": [],
                "relationships": [], "shard": [shard, self.shard_count],
            }, session)
            await self._send(conn, ready)
            conn.ready = True
            for g in guilds:
                await self.dispatch("GUILD_CREATE", self.guild_payload(g))
        elif op == 6:  # RESUME: replay what the client missed, then RESUMED
            await self._resume(conn, d)
        elif op == 8:  # REQUEST_GUILD_MEMBERS (members intent with chunk_guilds_at_startup)
            ids = d["guild_id"] if isinstance(d["guild_id"], list) else [d["guild_id"]]
            for gid in ids:
                g = self.guild(str(gid))
                await self.dispatch("GUILD_MEMBERS_CHUNK", {
                    "guild_id": g.id, "members": self.guild_payload(g)["members"],
                    "chunk_index": 0, "chunk_count": 1, "nonce": d.get("nonce")})

    async def _resume(self, conn: GatewayConnection, d: dict) -> None:
        """Resume the session: replay dispatches after the client's seq, then RESUMED."""
        record = {"session_id": d.get("session_id"), "seq": d.get("seq"), "path": conn.path,
                  "at": time.monotonic(), "accepted": False, "replayed": []}
        self.resumes.append(record)
        if d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            record["answered"] = True
            return
        session = next((s for s in self._shard_sessions.values() if s.session_id == d.get("session_id")), None)
        if not self.accept_resumes or session is None or d.get("seq") is None:
            await self._send(conn, {"op": 9, "s": None, "t": None, "d": False})  # INVALID_SESSION, not resumable
            record["answered"] = True
            return
        session.conn, conn.shard = conn, session.shard
        sent_upto = d["seq"]
        while pending := [f for f in session.events if f["s"] > sent_upto and f["t"] not in ("READY", "RESUMED")]:
            for f in pending:  # events dispatched during these awaits are picked up by the next pass
                await self._send(conn, f)
                sent_upto = f["s"]
                record["replayed"].append(f["s"])
        resumed = self._frame("RESUMED", {"_trace": ["fake-discord"]}, session)
        conn.ready = conn.resumed = True  # no await since the last check: nothing can slip in between
        await self._send(conn, resumed)
        record |= {"accepted": True, "answered": True}

    async def drop_gateway(self, code: int | None = 4000, *, wait: bool = True,
                           timeout: float = 5.0) -> GatewayConnection | None:
        """Close the live gateway connection (code None: drop TCP without a close frame).

        Events dispatched meanwhile are replayed on RESUME. With ``wait``, returns the next
        connection once it is ready again (resumed, or re-identified).
        """
        conn = self._conn
        if conn is None:
            raise RuntimeError("no live gateway connection to drop")
        before = len(self.gateway_connections)
        conn.ready = False
        conn.close_code = 1006 if code is None else code  # ours; the client's reply code would hide it
        self._conn = None
        if code is None:
            if conn.request.transport is not None:
                conn.request.transport.abort()
        else:
            await conn.ws.close(code=code, message=b"fake: connection dropped")
        if not wait:
            return None
        return await self.wait_for(lambda: next((c for c in self.gateway_connections[before:] if c.ready), None),
                                   timeout, what="the client to reconnect and resume")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and resumes on resume_gateway_url."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("no live gateway connection")
        conn.ready = False
        await self._send(conn, {"op": 7, "s": None, "t": None, "d": None})

    # ------------------------------------------------------------------ CDN and control
    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        """Serve an attachment's bytes (what discord.Attachment.read() fetches)."""
        self.cdn_requests.append((request.path, time.monotonic()))
        att = self.attachments.get(request.match_info["id"])
        await self._notify()
        if att is None or att.filename != request.match_info["filename"]:
            return web.Response(status=404, text="404: Not Found")
        return web.Response(body=att.data, content_type=att.content_type or "application/octet-stream")

    async def _control(self, request: web.Request) -> web.StreamResponse:
        """A small HTTP API to inject interactions when the fake runs standalone (not recorded)."""
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        who = {k: body[k] for k in Who.__annotations__ if k in body}
        try:
            if action == "slash":
                return _json(await self.send_slash_command(body["command"], body.get("options"), **who))
            if action == "click":
                return _json(await self.click_button(body["custom_id"], message=body.get("message_id"), **who))
            if action == "autocomplete":
                return _json(await self.send_autocomplete(body["command"], body.get("options"),
                                                          focused=body["focused"], **who))
            if action == "state":
                return _json({"requests": [f"{r.method} {r.path} -> {r.status}" for r in self.requests],
                              "errors": self.errors, "unhandled": [f"{r.method} {r.path}" for r in self.unhandled],
                              "guilds": [g.id for g in self.guilds], "resumes": self.resumes,
                              "heartbeats_acked": len(self.heartbeats_acked)})
        except (LookupError, ValueError, TypeError, AssertionError) as exc:  # AssertionError: no answer in time
            return _json({"error": str(exc)}, 400)
        return _json({"error": f"unknown action {action}"}, 404)

    # ------------------------------------------------------------------ REST
    def _error(self, status: int, code: int, message: str) -> web.Response:
        """Discord's plain error shape."""
        return _json({"message": message, "code": code}, status=status)

    def _reject(self, errs: Sequence[FormError], prefix: str = "") -> web.Response:
        """Answer validation failures as Discord does (50006 for an empty message, else 50035)."""
        if any(e.code == "EMPTY_MESSAGE" for e in errs):
            return self._error(400, 50006, "Cannot send an empty message")
        if prefix:  # callback bodies nest the message under "data"
            errs = [FormError(f"{prefix}.{e.path}" if e.path else prefix, e.code, e.message) for e in errs]
        return _json({"message": "Invalid Form Body", "code": 50035, "errors": _nest_errors(errs)}, status=400)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """The JSON body (or payload_json of a multipart body) and the uploaded files."""
        if request.content_type == "application/json":
            raw = await request.read()
            return (json.loads(raw) if raw else None), []
        if request.content_type == "multipart/form-data":  # discord.py's upload format
            form = await request.post()
            files = [UploadedFile(k, v.filename, v.content_type, v.file.read())
                     for k, v in form.items() if isinstance(v, web.FileField)]
            payload = form.get("payload_json")
            return (json.loads(payload) if isinstance(payload, str) else None), files
        return None, []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        """Record a REST request, then answer it with a pending fault or its route."""
        path = "/" + request.match_info["tail"]
        rec = Request(request.method, path, dict(request.query), dict(request.headers), None, [], time.monotonic())
        self.requests.append(rec)
        try:
            try:
                rec.json, rec.files = await self._read_body(request)
            except ValueError:
                resp = self._error(400, 50109, "The request body contains invalid JSON.")
            else:
                resp = await self._serve_fault(rec) or await self._route(rec)
            rec.status = resp.status
            if isinstance(resp, web.Response) and resp.body is not None:
                text = resp.body.decode() if isinstance(resp.body, bytes) else str(resp.body)
                rec.response = json.loads(text) if resp.content_type == "application/json" else text
            if resp.status >= 400 and not rec.fault:
                self.errors.append({"request": f"{rec.method} {path}", "status": resp.status, "body": rec.response})
            return resp
        finally:
            await self._notify()

    async def _route(self, rec: Request) -> web.StreamResponse:
        """Dispatch to the handler whose method and path pattern match."""
        for method, pattern, handler in self._routes:
            m = pattern.fullmatch(rec.path)
            if m and method == rec.method:
                return await handler(rec, *m.groups())
        self.unhandled.append(rec)
        return self._error(404, 0, f"404: Not Found (the fake has no {rec.method} {rec.path})")

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        """(method, path pattern, handler) of every route the fake serves."""
        app = re.escape(self.app_id)
        msg = rf"/webhooks/{app}/([^/]+)/messages/(@original|\d+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/users/@me", self._authed(self._get_me)),
            ("GET", r"/oauth2/applications/@me", self._authed(self._app_info)),
            ("GET", r"/applications/@me", self._authed(self._app_info)),
            ("GET", r"/gateway", self._get_gateway),
            ("GET", r"/gateway/bot", self._authed(self._get_gateway_bot)),
            ("PUT", rf"/applications/{app}/commands", self._authed(self._put_commands)),
            ("GET", rf"/applications/{app}/commands", self._authed(self._get_commands)),
            ("PUT", rf"/applications/{app}/guilds/(\d+)/commands", self._authed(self._put_commands)),
            ("GET", rf"/applications/{app}/guilds/(\d+)/commands", self._authed(self._get_commands)),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("POST", rf"/webhooks/{app}/([^/]+)", self._followup),
            ("GET", msg, self._get_message),
            ("PATCH", msg, self._edit_message),
            ("DELETE", msg, self._delete_message),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    def _authed(self, handler: Callable[..., Any]) -> Handler:
        """Require the bot token, as every non-webhook route does."""
        async def wrapper(rec: Request, *groups: str) -> web.StreamResponse:
            if rec.headers.get("Authorization") != f"Bot {self.token}":
                return self._error(401, 0, "401: Unauthorized")
            result = handler(rec, *groups)
            return await result if asyncio.iscoroutine(result) else result
        return wrapper

    def _get_me(self, rec: Request) -> web.Response:
        return _json(self.bot_user)

    async def _get_gateway(self, rec: Request) -> web.Response:
        return _json({"url": self.gateway_url})

    def _get_gateway_bot(self, rec: Request) -> web.Response:
        return _json({"url": self.gateway_url, "shards": self.recommended_shards, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    def _app_info(self, rec: Request) -> web.Response:
        # interactions_endpoint_url must be null, or discord.py warns that gateway interactions are off
        return _json({
            "id": self.app_id, "name": self.app_name, "description": "", "icon": None, "bot_public": False,
            "bot_require_code_grant": False, "verify_key": "00" * 32, "flags": 0, "team": None,
            "owner": {"id": self.owner_id, "username": "owner", "discriminator": "0", "avatar": None},
            "interactions_endpoint_url": None, "bot": self.bot_user,
        })

    def _get_commands(self, rec: Request, guild_id: str | None = None) -> web.Response:
        return _json(self.commands.get(guild_id, []))

    def _put_commands(self, rec: Request, guild_id: str | None = None) -> web.Response:
        """Bulk overwrite of global or guild commands, validated like Discord."""
        if guild_id is not None and guild_id not in {g.id for g in self.guilds}:
            return self._error(403, 50001, "Missing Access")
        if not isinstance(rec.json, list):
            return self._reject([FormError("", "BASE_TYPE_ARRAY", "Must be an array")])
        errs = [FormError(f"{i}.{e.path}".rstrip("."), e.code, e.message)
                for i, c in enumerate(rec.json) for e in command_errors(c)]
        if len({(c.get("name"), c.get("type", 1)) for c in rec.json}) != len(rec.json):
            errs.append(FormError("", "APPLICATION_COMMANDS_DUPLICATE_NAME",
                                  "Application command names must be unique"))
        for ctype, limit in ((1, 100), (2, 5), (3, 5)):
            if sum(1 for c in rec.json if c.get("type", 1) == ctype) > limit:
                errs.append(FormError("", "BASE_TYPE_MAX_LENGTH", f"More than {limit} commands of type {ctype}"))
        if errs:
            return self._reject(errs)
        # Discord always returns "description" ("" for context menus, whose payload has none)
        stored = [dict(c, id=self.snowflake(), application_id=self.app_id, version=self.snowflake(),
                       description=c.get("description") or "", type=c.get("type", 1),
                       **({"guild_id": guild_id} if guild_id else {})) for c in rec.json]
        self.commands[guild_id] = stored
        return _json(stored)

    def _by_token(self, token: str) -> FakeInteraction | None:
        """The interaction a webhook token belongs to."""
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _file_check(self, rec: Request) -> web.Response | None:
        """413 / 40005 when uploads exceed Discord's limits."""
        if len(rec.files) > 10:
            return self._reject([FormError("files", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")])
        if sum(len(f.data) for f in rec.files) > self.attachment_size_limit:
            return self._error(413, 40005, "Request entity too large")
        return None

    async def _callback(self, rec: Request, iid: str, token: str) -> web.Response:
        """POST /interactions/{id}/{token}/callback: the single acknowledgement, within the deadline."""
        inter = self.interactions.get(iid)
        now = time.monotonic()
        if inter is None or inter.token != token or inter.delivered_at is None \
                or now - inter.delivered_at > self.ack_deadline_s:
            return self._error(404, 10062, "Unknown interaction")
        if inter.ack_type is not None:
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        body = rec.json if isinstance(rec.json, dict) else {}
        ctype, data = body.get("type"), body.get("data") or {}
        if ctype not in _CALLBACKS_ALLOWED[inter.type]:
            return self._reject([FormError("type", "INTERACTION_CALLBACK_TYPE_INVALID",
                                           f"Callback type {ctype} is not valid for interaction type {inter.type}")])
        errs = {4: lambda: message_errors(data), 7: lambda: message_errors(data, partial=True),
                8: lambda: autocomplete_errors(data), 9: lambda: modal_errors(data)}.get(ctype, list)()
        if errs:
            return self._reject(errs, prefix="data")
        if (too_big := self._file_check(rec)) is not None:
            return too_big
        inter.ack_type, inter.acked_at = ctype, now
        inter.ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        out: dict[str, Any] = {"interaction": {"id": iid, "type": inter.type,
                                               "response_message_loading": ctype == 5,
                                               "response_message_ephemeral": inter.ephemeral}}
        msg: dict | None = None
        if ctype == 4:
            msg = self._bot_message(inter, data, rec.files, flags=data.get("flags") or 0, mtype=20)
        elif ctype == 5:  # a "thinking..." placeholder; the first follow-up replaces it (see _followup)
            msg = self._bot_message(inter, {}, [], flags=LOADING | (data.get("flags") or 0), mtype=20)
        elif ctype in (6, 7) and inter.clicked_message_id:
            inter.original_message_id = inter.clicked_message_id
            if ctype == 7:
                msg = self._apply_edit(self.messages[inter.clicked_message_id], data, rec.files)
        if msg is not None:
            inter.original_message_id = msg["id"]
            out["interaction"]["response_message_id"] = msg["id"]
            out["resource"] = {"type": ctype, "message": msg}
        elif ctype in (5, 6, 8, 9):
            out["resource"] = {"type": ctype}
        return _json(out)

    def _token_gate(self, token: str) -> tuple[FakeInteraction | None, web.Response | None]:
        """The interaction behind a webhook token, or the error Discord answers for that token."""
        inter = self._by_token(token)
        if inter is None or inter.ack_type is None or inter.ack_type == 8:  # usable only once acknowledged
            return None, self._error(404, 10015, "Unknown Webhook")
        if time.monotonic() - (inter.delivered_at or inter.created_at) > self.token_ttl_s:
            return None, self._error(401, 50027, "Invalid Webhook Token")
        return inter, None

    async def _followup(self, rec: Request, token: str) -> web.StreamResponse:
        """POST /webhooks/{app}/{token}: a follow-up message (the first one after a defer replaces it)."""
        inter, error = self._token_gate(token)
        if inter is None:
            return error  # type: ignore[return-value]
        body = rec.json if isinstance(rec.json, dict) else {}
        if errs := message_errors(body):
            return self._reject(errs)
        if (too_big := self._file_check(rec)) is not None:
            return too_big
        original = self.messages.get(inter.original_message_id or "")
        if original is not None and original["flags"] & LOADING:
            # Discord turns the deferred "thinking..." message into this follow-up (ephemerality from the defer)
            msg = self._bot_message(inter, body, rec.files, flags=original["flags"] & ~LOADING, mtype=20,
                                    message_id=original["id"])
        else:
            msg = self._bot_message(inter, body, rec.files, flags=body.get("flags") or 0, mtype=0)
            inter.followup_ids.append(msg["id"])
        if rec.query.get("wait") in ("true", "1", "True"):
            return _json(msg)
        return web.Response(status=204)

    def _webhook_message(self, token: str, message_id: str) -> tuple[dict | None, web.Response | None]:
        """The stored message @original or a follow-up id points to, or Discord's error."""
        inter, error = self._token_gate(token)
        if inter is None:
            return None, error
        mid = inter.original_message_id if message_id == "@original" else message_id
        if mid is None or mid not in self.messages or \
                (mid != inter.original_message_id and mid not in inter.followup_ids):
            return None, self._error(404, 10008, "Unknown Message")
        return self.messages[mid], None

    async def _get_message(self, rec: Request, token: str, message_id: str) -> web.Response:
        msg, error = self._webhook_message(token, message_id)
        return error if msg is None else _json(msg)  # type: ignore[return-value]

    async def _delete_message(self, rec: Request, token: str, message_id: str) -> web.Response:
        msg, error = self._webhook_message(token, message_id)
        if msg is None:
            return error  # type: ignore[return-value]
        del self.messages[msg["id"]]
        return web.Response(status=204)

    def _apply_edit(self, msg: dict, body: dict, files: Sequence[UploadedFile]) -> dict:
        """Merge an edit into a stored message (absent fields stay as they were)."""
        for key in ("content", "embeds", "components", "poll"):
            if key in body:
                msg[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        if "attachments" in body:  # the kept attachments are listed by id; new uploads are added
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            msg["attachments"] = [a for a in msg["attachments"] if a["id"] in kept]
        msg["attachments"] += self._uploads(files)
        if body.get("flags") is not None:
            msg["flags"] = (msg["flags"] & (EPHEMERAL | LOADING)) | body["flags"]
        msg["flags"] &= ~LOADING
        msg["edited_timestamp"] = _now_iso()
        return msg

    async def _edit_message(self, rec: Request, token: str, message_id: str) -> web.Response:
        """PATCH @original or a follow-up: validated, merged, must not become empty."""
        msg, error = self._webhook_message(token, message_id)
        if msg is None:
            return error  # type: ignore[return-value]
        body = rec.json if isinstance(rec.json, dict) else {}
        if errs := message_errors(body, partial=True):
            return self._reject(errs)
        if (too_big := self._file_check(rec)) is not None:
            return too_big
        after = {k: body[k] if k in body else msg.get(k) for k in ("content", "embeds", "components", "poll")}
        kept = msg["attachments"] if "attachments" not in body else body["attachments"] or []
        if not (any(after.values()) or kept or rec.files):  # an edit may not leave the message empty
            return self._error(400, 50006, "Cannot send an empty message")
        return _json(self._apply_edit(msg, body, rec.files))


# ---------------------------------------------------------------------------------- helpers for tests
@contextlib.asynccontextmanager
async def running(client: Any, fake: FakeDiscord, *, timeout: float = 5.0, reconnect: bool = False,
                  fast_reidentify: bool = True) -> AsyncIterator[Any]:
    """Start a discord.py client against the fake, wait for on_ready, and close it afterwards.

    Construct the client with ``guild_ready_timeout=0.05`` (else on_ready waits 2 s) and patch
    discord.py first (``fake.patch_discord(monkeypatch)``).
    """
    if fast_reidentify:
        async def _no_wait(shard_id: int | None, *, initial: bool = False) -> None:
            """Skip the 5 s sleep discord.py makes before every non-initial IDENTIFY."""
        client.before_identify_hook = _no_wait
    run = asyncio.create_task(client.start(fake.token, reconnect=reconnect))
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({run, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await client.close()
        if run.done():
            run.result()  # login or connect failed: raise the real error
        run.cancel()
        raise AssertionError(f"the client did not become ready within {timeout}s; requests: "
                             f"{[(r.method, r.path, r.status) for r in fake.requests]}")
    try:
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(run, timeout)


async def serve(token: str | None = None, port: int = 0, **options: Any) -> FakeDiscord:
    """Start a fake for a bot in another process; give it token, api_base and gateway_url."""
    return await FakeDiscord(token=token or f"fake-token-{secrets.token_hex(8)}", **options).start(port)


async def _serve_forever(args: argparse.Namespace) -> None:
    """Serve until interrupted, printing what the bot needs."""
    fake = await serve(args.token, args.port, heartbeat_interval_ms=args.heartbeat_ms, guilds=args.guilds,
                       ack_deadline_s=args.ack_deadline)
    print(f"DISCORD_TOKEN={fake.token}\nCITEBOT_DISCORD_API_BASE={fake.api_base}\n"
          f"CITEBOT_DISCORD_GATEWAY={fake.gateway_url}\nFAKE_DISCORD_CONTROL={fake.base_url}/_fake/\n"
          f"FAKE_DISCORD_GUILDS={','.join(g.id for g in fake.guilds)}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()
        print(f"{len(fake.requests)} requests, {len(fake.errors)} error responses, "
              f"{len(fake.unhandled)} unhandled", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: serve a fake Discord on 127.0.0.1 for manual runs of the bot."""
    ap = argparse.ArgumentParser(description="Serve a fake Discord on 127.0.0.1 until interrupted. "
                                             "Inject interactions with POST /_fake/slash {command, options}, "
                                             "/_fake/click {custom_id}; GET /_fake/state.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=None)
    ap.add_argument("--heartbeat-ms", type=int, default=45_000)
    ap.add_argument("--guilds", type=int, default=1)
    ap.add_argument("--ack-deadline", type=float, default=3.0)
    args = ap.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args))


if __name__ == "__main__":
    main()

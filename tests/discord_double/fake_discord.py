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
import math
import mimetypes
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiohttp import web

from ._cdn import CdnAndControl
from ._driving import Driving
from ._gateway import Gateway
from ._protocol import (
    _GATEWAY_PATHS,
    API_PREFIX,
    DEFAULT_MEMBER_PERMISSIONS,
    DISCORD_EPOCH_MS,
    MANAGE_GUILD,
    SEND_MESSAGES,
    USE_APPLICATION_COMMANDS,
    VIEW_CHANNEL,
    _json,
    _now_iso,
)
from ._rest import Rest
from .records import (
    FakeAttachment,
    FakeGuild,
    FakeInteraction,
    Fault,
    GatewayConnection,
    GatewaySession,
    Request,
    UploadedFile,
)

# ---------------------------------------------------------------------------------- the fake


class FakeDiscord(Driving, Gateway, Rest, CdnAndControl):
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

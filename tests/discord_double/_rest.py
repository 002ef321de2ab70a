"""The REST API v10 routes the bot uses: commands, interaction callbacks, follow-ups, webhook messages."""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from ._protocol import _CALLBACKS_ALLOWED, EPHEMERAL, LOADING, Handler, _json, _now_iso
from .records import FakeInteraction, Request, UploadedFile
from .validation import FormError, _nest_errors, autocomplete_errors, command_errors, message_errors, modal_errors


class Rest:
    """The REST routes, checked against Discord's limits and recorded."""

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



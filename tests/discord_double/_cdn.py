"""The attachment CDN and the control endpoint of the standalone double."""
from __future__ import annotations

import time

from aiohttp import web

from ._protocol import _json
from .records import Who


class CdnAndControl:
    """Attachment downloads and the standalone double's control requests."""

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

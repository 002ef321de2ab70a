"""The gateway websocket: HELLO, IDENTIFY, heartbeats, RESUME, dispatch, and dropping the connection on request."""
from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import WSMsgType, web

from ._protocol import _stream_compressor
from .records import GatewayConnection, GatewaySession


class Gateway:
    """One gateway session per shard, served over aiohttp websockets."""

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

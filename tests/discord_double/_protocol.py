"""What the double shares with Discord's wire protocol: API version, permission bits, flags, JSON replies."""
from __future__ import annotations

import json
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

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


Handler = Callable[..., Awaitable[web.StreamResponse]]  # a REST route's handler

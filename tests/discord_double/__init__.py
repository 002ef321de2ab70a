"""A local Discord API double for end-to-end tests with the real discord.py client (see NOTES.md).

`fake_discord.FakeDiscord` is assembled from one part per concern: the REST routes (`_rest`), the gateway
websocket (`_gateway`), the attachment CDN and control endpoint (`_cdn`), and the test-facing calls that
inject interactions (`_driving`); Discord's limits are in `validation`, the recorded data in `records`.
"""
from ._protocol import ADMINISTRATOR, DEFAULT_MEMBER_PERMISSIONS, EPHEMERAL, MANAGE_GUILD, SEND_MESSAGES, VIEW_CHANNEL
from .fake_discord import FakeDiscord, running, serve
from .records import FakeAttachment, FakeGuild, FakeInteraction, Fault, GatewayConnection, Request, UploadedFile, Who
from .validation import (
    FormError,
    autocomplete_errors,
    command_errors,
    component_errors,
    message_errors,
    modal_errors,
)

__all__ = [
    "ADMINISTRATOR", "DEFAULT_MEMBER_PERMISSIONS", "EPHEMERAL", "MANAGE_GUILD", "SEND_MESSAGES", "VIEW_CHANNEL",
    "FakeAttachment", "FakeDiscord", "FakeGuild", "FakeInteraction", "Fault", "FormError", "GatewayConnection",
    "Request", "UploadedFile", "Who", "autocomplete_errors", "command_errors", "component_errors",
    "message_errors", "modal_errors", "running", "serve",
]

"""A local Discord API double for end-to-end tests with the real discord.py client (see NOTES.md)."""
from .fake_discord import (
    ADMINISTRATOR,
    DEFAULT_MEMBER_PERMISSIONS,
    EPHEMERAL,
    MANAGE_GUILD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeAttachment,
    FakeDiscord,
    FakeGuild,
    FakeInteraction,
    Fault,
    FormError,
    GatewayConnection,
    Request,
    UploadedFile,
    Who,
    autocomplete_errors,
    command_errors,
    component_errors,
    message_errors,
    modal_errors,
    running,
    serve,
)

__all__ = [
    "ADMINISTRATOR", "DEFAULT_MEMBER_PERMISSIONS", "EPHEMERAL", "MANAGE_GUILD", "SEND_MESSAGES", "VIEW_CHANNEL",
    "FakeAttachment", "FakeDiscord", "FakeGuild", "FakeInteraction", "Fault", "FormError", "GatewayConnection",
    "Request", "UploadedFile", "Who", "autocomplete_errors", "command_errors", "component_errors",
    "message_errors", "modal_errors", "running", "serve",
]

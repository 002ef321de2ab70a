"""How tests drive the double: slash commands, autocomplete, context menus, components and modals sent as a member."""
from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

try:  # Python 3.11+
    from typing import Unpack
except ImportError:  # pragma: no cover - older Pythons only lose the precise **kwargs typing
    from typing_extensions import Unpack

from ._protocol import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    DEFAULT_APP_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
)
from .records import FakeAttachment, FakeInteraction, Who


class Driving:
    """Injecting interactions the way Discord delivers them to the bot."""

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

"""Discord's limits on commands, messages, components, autocomplete and modals, as 400 / 50035 form errors."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._protocol import _SELECT_TYPES, IS_COMPONENTS_V2


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



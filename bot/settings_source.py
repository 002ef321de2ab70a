"""Where settings come from (the environment and a .env file) and how their text becomes typed values."""
from __future__ import annotations

import json
import os
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

# The standard library only: settings are read first in every command, so what they import every command
# waits for (pydantic-settings cost a cold `citebot ask` 0.3 s of its 1.1 s; bench/RESULTS.md, issue 11).

ENV_FILE = Path(".env")
_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})


class Problem(ValueError):
    """A value that does not fit its setting; the message says what was expected."""


@dataclass(frozen=True)
class Secret:
    """A value kept out of reprs and logs (a token, a database URL with its password)."""

    value: str = field(repr=False)

    def get_secret_value(self) -> str:
        """The value in clear."""
        return self.value

    def __str__(self) -> str:
        return "**********"


@dataclass(frozen=True)
class Bounds:
    """The range a number setting must fall in (None: no limit on that side)."""

    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None

    def check(self, value: object) -> None:
        """Raise Problem if value is a number outside the range."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        if self.at_least is not None and value < self.at_least:
            raise Problem(f"should be at least {self.at_least:g}, not {value}")
        if self.at_most is not None and value > self.at_most:
            raise Problem(f"should be at most {self.at_most:g}, not {value}")
        if self.above is not None and value <= self.above:
            raise Problem(f"should be more than {self.above:g}, not {value}")


def _unquote(text: str) -> str:
    """A .env value without its quotes, or without a trailing ` # comment` when it has none."""
    if len(text) >= 2 and text[0] in "\"'" and text[0] in text[1:]:
        inner = text[1:text.index(text[0], 1)]
        return inner.replace("\\n", "\n").replace('\\"', '"') if text[0] == '"' else inner
    return text.split(" #", 1)[0].strip()


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """The KEY=value lines of a .env file (blank lines, # comments and `export` allowed); {} if there is none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, IsADirectoryError):
        return {}
    values = {}
    for line in lines:
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = _unquote(value.strip())
    return values


def environment(env_file: Path = ENV_FILE) -> dict[str, str]:
    """Every variable by upper-cased name: the .env file's, with the process environment taking precedence."""
    values = {key.upper(): value for key, value in read_env_file(env_file).items()}
    values.update((key.upper(), value) for key, value in os.environ.items())
    return values


def _choice(choices: tuple, value: object) -> object:
    """The value, if it is one of the choices."""
    if value not in choices:
        raise Problem(f"should be one of {', '.join(map(str, choices))}, not {value!r}")
    return value


def _items(item_type: Any, value: object) -> list:
    """A list (JSON text from the environment, or a Python sequence) with each item made item_type."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Problem(f"should be a JSON list, like '[\"a\", \"b\"]', not {value!r}") from None
    if not isinstance(value, (list, tuple)):
        raise Problem(f"should be a list, not {value!r}")
    return [coerce(item_type, item) for item in value]


def _number(kind: type, value: object) -> int | float:
    """The value as an int or a float."""
    if isinstance(value, bool):
        raise Problem(f"should be a number, not {value!r}")
    if isinstance(value, (int, float)) and (kind is float or isinstance(value, int)):
        return kind(value)
    try:
        return kind(str(value).strip())
    except ValueError:
        raise Problem(f"should be {'a whole number' if kind is int else 'a number'}, not {value!r}") from None


def _flag(value: object) -> bool:
    """The value as a bool (true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise Problem(f"should be true or false, not {value!r}")


def coerce(hint: Any, value: object) -> Any:
    """A value (environment text, or a Python value) as the type hint says; raises Problem if it cannot."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None or value == "":
            return None
        (kind,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return coerce(kind, value)
    if origin is Literal:
        return _choice(get_args(hint), value)
    if origin is list:
        return _items(get_args(hint)[0], value)
    if hint is bool:
        return _flag(value)
    if hint in (int, float):
        return _number(hint, value)
    if hint is Secret:
        return value if isinstance(value, Secret) else Secret(str(value))
    if hint in (str, Path) and isinstance(value, (str, Path)):
        return hint(value)
    if hint in (str, Path):
        raise Problem(f"should be {'a path' if hint is Path else 'text'}, not {value!r}")
    raise TypeError(f"settings of type {hint} have no reader")  # a programming error, not a user's

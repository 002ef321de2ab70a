"""YAML front matter: the metadata block at the top of a Markdown or text source."""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any


@functools.cache
def _text_dates_loader() -> type:
    """A SafeLoader that leaves dates as the text that was written, so our own check can name the field."""
    import yaml  # imported on first use: answering a question reads no front matter

    class TextDatesLoader(yaml.SafeLoader):
        pass

    TextDatesLoader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return TextDatesLoader

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class FrontMatterError(ValueError):
    """The front matter block exists but is not a valid YAML mapping."""


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return (metadata, body); metadata is empty when the text has no front matter."""
    import yaml

    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text.lstrip("\ufeff")
    try:
        data = yaml.load(match.group(1), Loader=_text_dates_loader())
    except ValueError as exc:  # YAML parses 2011-02-30 as a date and fails on it
        raise FrontMatterError(f"front matter holds an impossible value ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise FrontMatterError(f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be a mapping of 'key: value' lines")
    return {str(k): _as_text(v) for k, v in data.items()}, text[match.end():]


def _as_text(value: Any) -> Any:
    """YAML turns 2011-06-06 into a date; keep every field as text the way it was written."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value

"""Reading a JSON request body so that no shape of it can reach the parser's own limits.

Python's json module recurses once per nesting level (10,000 `[` raise RecursionError) and
converts integer literals with int(), which refuses more than 4,300 digits (ValueError); both
would escape as a 500. So the depth is measured on the raw text before parsing, integer literals
far beyond any bound of the domain never reach int(), and duplicate keys, of which json would
silently keep the last, are refused: a proxy or log that keeps the first would read another
request than the one served.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import accumulate

from shop.errors import FieldProblem, Invalid, MalformedRequest, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"
# The deepest body the API takes is three levels (an order, its items, one item); 32 leaves room
# for every model to grow without letting a body near the interpreter's recursion limit.
MAX_DEPTH = 32
# Far longer than any integer bound of the domain, and far below int()'s 4,300-digit ceiling.
MAX_INTEGER_DIGITS = 64

# The closing quote is optional, so an unterminated string is consumed once, to the end of the
# body: the scan stays linear in the body's length whatever its quotes and backslashes.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_UTF8 = ("utf-8", "utf8")


class _OversizedInteger:
    """Stands in for an integer literal too long to convert, until its location is reported."""


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def require_json(content_type: str | None) -> None:
    """Refuse a body that is not application/json (UTF-8).

    A web page can send text/plain, form and multipart bodies to any origin without a CORS
    preflight; application/json needs one, which the API never grants. Taking only JSON keeps
    cross-site forms from registering accounts or spending someone's login attempts.
    """
    media_type, _, parameters = (content_type or "").partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(f"the request body must be {JSON_MEDIA_TYPE}")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            raise UnsupportedMediaType(f"the request body must be {JSON_MEDIA_TYPE} in UTF-8")


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in `text`, brackets inside strings aside."""
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if bracket in "[{" else -1 for bracket in brackets), default=0)


def parse_json(raw: bytes, location: str) -> object:
    """The body's JSON value; 400 when it is not JSON or breaks a limit, 422 naming an oversized integer."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("the request body is not valid UTF-8") from exc
    if nesting_depth(text) > MAX_DEPTH:
        raise MalformedRequest(f"the request body nests arrays and objects deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_integer, parse_constant=_no_constant)
    except _DuplicateKey as duplicate:
        raise MalformedRequest(f"the request body repeats the key {json.dumps(duplicate.key[:64])}") from None
    except ValueError as exc:
        raise MalformedRequest("the request body is not valid JSON") from exc
    oversized = [
        FieldProblem(location=".".join([location, *path]), message=f"Integer longer than {MAX_INTEGER_DIGITS} digits")
        for path in _oversized_paths(data, ())
    ]
    if oversized:
        raise Invalid(f"the request {location} holds integers beyond every bound", oversized)
    return data


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _integer(literal: str) -> int | _OversizedInteger:
    return int(literal) if len(literal.lstrip("-")) <= MAX_INTEGER_DIGITS else _OversizedInteger()


def _no_constant(name: str) -> object:
    # json takes NaN and Infinity by default; they are not JSON (RFC 8259).
    raise ValueError(f"{name} is not JSON")


def _oversized_paths(value: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, _OversizedInteger):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _oversized_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _oversized_paths(item, (*path, str(index)))

"""Decoding of Stripe's form encoding, where `metadata[order_id]=42` nests into `{"metadata": {"order_id": "42"}}`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from localcloud.payments.errors import ApiError, invalid_request

# Arrays arrive as `name[0]=a&name[1]=b` and stay dicts keyed by index here: only the endpoint knows
# whether a parameter is an array, and `metadata[0]` is a legitimate metadata key.
type FormValue = str | dict[str, FormValue]
type FormParams = dict[str, FormValue]

_KEY = re.compile(r"(?P<name>[^\[\]]+)(?P<subscripts>(?:\[[^\[\]]*\])*)")
_SUBSCRIPT = re.compile(r"\[([^\[\]]*)\]")


def decode_form(body: bytes) -> FormParams:
    """Parse an `application/x-www-form-urlencoded` body (or query string) into nested dicts."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid_request("The request body is not valid UTF-8.") from error
    return decode_pairs(parse_qsl(text, keep_blank_values=True))


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> FormParams:
    """Nest already split `(key, value)` pairs by their bracketed keys."""
    root: FormParams = {}
    for key, value in pairs:
        _assign(root, _key_path(key), value, key)
    return root


def _key_path(key: str) -> list[str]:
    match = _KEY.fullmatch(key)
    if match is None:
        raise invalid_request(f"Invalid parameter name: {key}", param=key)
    return [match["name"], *_SUBSCRIPT.findall(match["subscripts"])]


def _assign(root: FormParams, path: list[str], value: str, key: str) -> None:
    node = root
    for segment in path[:-1]:
        child = node.setdefault(_index(node, segment), {})
        if not isinstance(child, dict):
            raise _conflict(key)
        node = child
    last = _index(node, path[-1])
    if isinstance(node.get(last), dict):
        raise _conflict(key)
    node[last] = value


def _index(node: FormParams, segment: str) -> str:
    # `name[]=a&name[]=b` appends, as Rack-style encoders send arrays.
    return str(len(node)) if segment == "" else segment


def _conflict(key: str) -> ApiError:
    return invalid_request(f"Invalid parameter: {key} is given both as a value and as an object.", param=key)

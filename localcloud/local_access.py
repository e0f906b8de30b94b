"""Who may talk to localcloud's servers: local callers only, and never a web page behind their back.

Three rules, shared by the AWS emulator, the API gateway, the payment provider and the console:
- `Host` must name this machine (loopback names and addresses) or a host the user allowed on
  purpose; a page of another site whose name was rebound to 127.0.0.1 sends its own name.
- Cross-origin reads are granted only to origins the user configures (`--cors-origin` or
  LOCALCLOUD_CORS_ORIGINS, as LocalStack's EXTRA_CORS_ALLOWED_ORIGINS); nothing is reflected.
- A request that changes local state must carry what a page cannot send cross-site without a
  preflight (which only configured origins get): the tool header plus a JSON body type.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# Sent by the console's page and by localcloud's own clients on every tool request: a form cannot
# set a header, and a script of another origin cannot without a CORS preflight.
TOOL_HEADER = "X-Localcloud-Console"
TOOL_HEADER_VALUE = "1"
TOOL_HEADERS: Mapping[str, str] = {TOOL_HEADER: TOOL_HEADER_VALUE, "Content-Type": "application/json"}
CORS_ORIGINS_VARIABLE = "LOCALCLOUD_CORS_ORIGINS"
_LOOPBACK_NAME = "localhost"


@dataclass(frozen=True)
class HostAllowList:
    """The names a request's `Host` may carry: loopback ones, plus those allowed on purpose."""

    extra_hosts: frozenset[str] = frozenset()

    def allows(self, host_header: str | None) -> bool:
        """Whether a `Host` header value (name or address, optional port) names an allowed host."""
        hostname = _hostname(host_header)
        if hostname is None:
            return False
        return _is_loopback(hostname) or hostname in self.extra_hosts


LOOPBACK_ONLY = HostAllowList()


def allowed_hosts(extra_hosts: Iterable[str] = ()) -> HostAllowList:
    """The allow-list every server of one `localcloud up` checks: loopback plus `extra_hosts` (names or addresses)."""
    return HostAllowList(frozenset(_normalise_host(host) for host in extra_hosts))


@dataclass(frozen=True)
class CorsOrigins:
    """The origins granted cross-origin access; none unless the user configures them."""

    origins: frozenset[str] = frozenset()

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.lower().rstrip("/") in self.origins


def cors_origins(configured: Iterable[str] = (), environ: Mapping[str, str] = os.environ) -> CorsOrigins:
    """Origins from the command line plus the comma-separated LOCALCLOUD_CORS_ORIGINS."""
    from_environment = environ.get(CORS_ORIGINS_VARIABLE, "").split(",")
    origins = {origin.strip().lower().rstrip("/") for origin in [*configured, *from_environment]}
    return CorsOrigins(frozenset(origin for origin in origins if origin))


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and the status that says so."""

    status: int
    message: str


def tool_request_refusal(method: str, headers: Mapping[str, str]) -> Refusal | None:
    """Why a request to a local tool endpoint is refused (None when it may proceed); headers keyed in lower case."""
    if headers.get(TOOL_HEADER.lower()) != TOOL_HEADER_VALUE:
        return Refusal(403, f"this endpoint needs the {TOOL_HEADER}: {TOOL_HEADER_VALUE} header")
    if method not in ("GET", "HEAD") and _media_type(headers.get("content-type")) != "application/json":
        return Refusal(415, "this action takes a JSON body (Content-Type: application/json)")
    return None


def is_cross_origin(origin: str | None, host_header: str | None) -> bool:
    """Whether a request's `Origin` is another site than the one it is addressed to (`Host`)."""
    if origin is None:
        return False
    try:
        return (urlsplit(origin).netloc or origin).lower() != (host_header or "").lower()
    except ValueError:
        return True


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _hostname(host_header: str | None) -> str | None:
    if not host_header:
        return None
    try:
        hostname = urlsplit(f"//{host_header.strip()}").hostname
    except ValueError:
        return None
    return None if hostname is None else _normalise_host(hostname)


def _normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _is_loopback(hostname: str) -> bool:
    # RFC 6761: localhost and its subdomains resolve to loopback, and browsers never ask DNS for them.
    if hostname == _LOOPBACK_NAME or hostname.endswith(f".{_LOOPBACK_NAME}"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False

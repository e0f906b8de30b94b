"""Where containers (`sam local`) reach the local cloud: the Docker bridge on Linux, host.docker.internal elsewhere."""

from __future__ import annotations

import fcntl
import socket
import struct
from dataclasses import dataclass
from typing import Final

# Docker Desktop's name for the machine it runs on; it forwards it to the machine's loopback.
DOCKER_DESKTOP_HOST: Final = "host.docker.internal"
DOCKER_BRIDGE: Final = "docker0"
# Linux's ioctl that reads an interface's IPv4 address.
_SIOCGIFADDR: Final = 0x8915


@dataclass(frozen=True)
class ContainerAccess:
    """How containers reach the emulator and the payment provider."""

    # The address they listen on besides 127.0.0.1; None where Docker forwards DOCKER_DESKTOP_HOST to
    # the loopback itself.
    bind_address: str | None
    # The host in the URLs a container uses: what `env-vars` writes, and a Host the servers accept.
    host: str


def interface_address(name: str) -> str | None:
    """The IPv4 address of a network interface of this machine; None when it has no such interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


def container_access(given_host: str | None = None) -> ContainerAccess:
    """The given host (listened on, and used by containers), else the Docker bridge, else Docker Desktop's name."""
    if given_host is not None:
        return ContainerAccess(given_host, given_host)
    bridge = interface_address(DOCKER_BRIDGE)
    if bridge is not None:
        return ContainerAccess(bridge, bridge)
    return ContainerAccess(None, DOCKER_DESKTOP_HOST)

"""boto3 clients of a running Emulator, for the tests that inspect what it holds."""

from __future__ import annotations

from typing import Any

from localcloud.emulator import Emulator, emulator_session


class Clients:
    """boto3 clients of one emulator, made once each (a client costs tens of milliseconds)."""

    def __init__(self, emulator: Emulator, region: str) -> None:
        # Any: the service name is only known at run time, past boto3-stubs' per-service overloads.
        self._session: Any = emulator_session(region)
        self._url = emulator.url
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._url)
        return self._clients[service]

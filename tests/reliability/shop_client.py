"""A Shop API client for one thread of a reliability test: keep-alive HTTP, JSON in and out."""

from __future__ import annotations

import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str]


class ShopClient:
    """One customer's connection; not shared between threads, as http.client connections are not thread-safe."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._connection = self._connect()
        self.token: str | None = None
        self.email = f"{uuid.uuid4().hex[:12]}@example.com"

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Response:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        try:
            status, payload, answered = self._exchange(method, path, body, sent)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closes keep-alive connections left idle (the chaos test waits minutes for
            # the pipeline); a GET changes nothing, so it is sent once more on a fresh connection.
            if method != "GET":
                raise
            status, payload, answered = self._exchange(method, path, body, sent)
        return Response(status, json.loads(payload) if payload else None, answered)

    def _exchange(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            self._connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = self._connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            # The next call gets a fresh connection; this one's outcome is the caller's to judge.
            self._connection.close()
            self._connection = self._connect()
            raise
        return response.status, payload, dict(response.getheaders())

    def sign_up(self) -> None:
        """Register and log in; the token stays on the client."""
        registered = self.call("POST", "/auth/register", {"email": self.email, "password": PASSWORD, "name": "Ada"})
        assert registered.status == 201, registered
        logged_in = self.call("POST", "/auth/login", {"email": self.email, "password": PASSWORD})
        assert logged_in.status == 200, logged_in
        self.token = logged_in.body["access_token"]

    def all_orders(self) -> list[dict[str, Any]]:
        """Every order of this customer, page by page."""
        orders: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": "100"} if cursor is None else {"limit": "100", "cursor": cursor}
            page = self.call("GET", f"/orders?{urlencode(query)}")
            assert page.status == 200, page
            orders.extend(page.body["items"])
            cursor = page.body["next_cursor"]
            if cursor is None:
                return orders

    def close(self) -> None:
        self._connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=60)


def order_body(payment_method: str = "pm_card_visa", sku: str = "BOOK-1") -> dict[str, Any]:
    return {
        "items": [{"sku": sku, "quantity": 2}],
        "currency": "EUR",
        "payment_method": payment_method,
    }

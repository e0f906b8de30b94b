"""`PaymentProvider`: the payment API served over HTTP on localcloud's HTTP server, from background threads."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from localcloud import http_server
from localcloud.http_server import HttpLimits, HttpServer
from localcloud.local_access import LOOPBACK_ONLY, CorsOrigins, HostAllowList, is_cross_origin, tool_request_refusal
from localcloud.payments.api import HttpRequest, HttpResponse, PaymentApi
from localcloud.payments.errors import api_error
from localcloud.payments.faults import FaultConfig, FaultInjector
from localcloud.payments.store import PaymentStore

logger = logging.getLogger(__name__)

# Stripe refuses bodies over 1 MB; a payment intent is a few hundred bytes.
MAX_REQUEST_BODY_BYTES = 1024 * 1024
_JSON = (("Content-Type", "application/json"),)


class _PaymentHttpAdapter:
    """Turns wire requests into `PaymentApi` calls, after the local-access rules."""

    def __init__(self, api: PaymentApi, cors: CorsOrigins) -> None:
        self._api = api
        self._cors = cors

    def __call__(self, request: http_server.HttpRequest) -> http_server.HttpResponse:
        headers = {name.lower(): value for name, value in request.headers}
        origin = headers.get("origin")
        if is_cross_origin(origin, headers.get("host")) and not self._cors.allows(origin):
            return _error(403, f"requests from the origin {origin} are not allowed")
        if not request.path.startswith("/v1/"):
            refusal = tool_request_refusal(request.method, headers)
            if refusal is not None:
                return _error(refusal.status, refusal.message)
        try:
            response = self._api.handle(
                HttpRequest(request.method, request.path, request.query_string, headers, request.body)
            )
        except Exception:
            # The outermost edge: one failing request must not take the server down.
            logger.exception("payments: %s %s failed", request.method, request.path)
            error = api_error("An unexpected error occurred on the payment provider.")
            response = HttpResponse(error.status, error.body())
        return _wire_response(response)


def _wire_response(response: HttpResponse) -> http_server.HttpResponse:
    return http_server.HttpResponse(
        response.status, (*_JSON, *response.headers.items()), json.dumps(response.body).encode()
    )


def _error(status: int, message: str) -> http_server.HttpResponse:
    # Stripe's error shape, for the refusals of the HTTP layer too.
    return _wire_response(HttpResponse(status, {"error": {"type": "invalid_request_error", "message": message}}))


class PaymentProvider:
    """A fake Stripe-compatible payment provider served over HTTP on a background thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        also_listen_on: str | None = None,
        api_key: str | None = None,
        state_file: Path | None = None,
        faults: FaultConfig | None = None,
        seed: int | None = None,
        hosts: HostAllowList = LOOPBACK_ONLY,
        cors: CorsOrigins | None = None,
    ) -> None:
        if api_key == "":
            raise ValueError("api_key must not be empty; pass None to accept any key")
        self._host = host
        # A second address on the same port (the Docker bridge's), for functions running in containers.
        self._also_listen_on = also_listen_on
        self._extra: HttpServer | None = None
        self._store = PaymentStore(state_file)
        self._faults = FaultInjector(faults or FaultConfig(), seed)
        self._stopping = threading.Event()
        self._adapter = _PaymentHttpAdapter(
            PaymentApi(self._store, self._faults, api_key, self._stopping), cors or CorsOrigins()
        )
        self._hosts = hosts
        self._server = self._server_on(host, port)
        self._bound_port: int | None = None
        self._running = False

    def _server_on(self, host: str, port: int) -> HttpServer:
        return HttpServer(
            self._adapter,
            error_response=_error,
            allowed_hosts=self._hosts,
            host=host,
            port=port,
            limits=HttpLimits(max_body_bytes=MAX_REQUEST_BODY_BYTES),
            name="payments",
        )

    def start(self) -> Self:
        """Bind and serve; raises OSError when the address cannot be bound."""
        if self._running:
            raise RuntimeError("the payment provider is already running")
        self._stopping.clear()
        self._server.start()
        if self._also_listen_on is not None:
            extra = self._server_on(self._also_listen_on, self._server.port)
            try:
                extra.start()
            except BaseException:
                self._server.stop()
                raise
            self._extra = extra
        self._running = True
        self._bound_port = self._server.port
        return self

    def stop(self) -> None:
        """Stop serving and wake hung responses; safe to call when not running."""
        if not self._running:
            return
        self._stopping.set()
        for server in (*([self._extra] if self._extra else []), self._server):
            server.stop()
        self._extra = None
        self._running = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("the payment provider has not been started")
        return self._bound_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def faults(self) -> FaultConfig:
        return self._faults.config

    def set_faults(self, config: FaultConfig) -> None:
        self._faults.configure(config)

    def injected_faults(self) -> dict[str, int]:
        """Counts of injected faults by name (server_error, rate_limit, hang); a hang counts when it starts."""
        return self._faults.injected()

    def intents(self) -> list[dict[str, object]]:
        """Every stored payment intent, declined ones included, newest first."""
        return self._store.intents()

    def refunds(self) -> list[dict[str, object]]:
        """Every stored refund, newest first."""
        return self._store.refunds()

    def reset(self) -> None:
        """Forget all intents and idempotency keys."""
        self._store.reset()

"""The threaded HTTP server and `PaymentProvider`, its in-process handle."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from localcloud.payments.api import HttpRequest, HttpResponse, PaymentApi
from localcloud.payments.errors import api_error
from localcloud.payments.faults import FaultConfig, FaultInjector
from localcloud.payments.store import PaymentStore

logger = logging.getLogger(__name__)


class _PaymentHttpServer(ThreadingHTTPServer):
    # Handler threads must not keep the process alive: a hung response may still be sleeping at exit.
    daemon_threads = True
    # socketserver's backlog of 5 resets connections when a burst of workers calls at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: PaymentApi) -> None:
        super().__init__(address, _PaymentRequestHandler)
        self.api = api


class _PaymentRequestHandler(BaseHTTPRequestHandler):
    server: _PaymentHttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(
                HttpResponse(400, {"error": {"type": "invalid_request_error", "message": "Bad Content-Length."}})
            )
            return
        request = HttpRequest(
            method=self.command,
            path=path,
            query=query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length > 0 else b"",
        )
        try:
            response = self.server.api.handle(request)
        except Exception:
            # The outermost edge: one failing request must not take the server down.
            logger.exception("payments: %s %s failed", request.method, request.path)
            error = api_error("An unexpected error occurred on the payment provider.")
            response = HttpResponse(error.status, error.body())
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        body = json.dumps(response.body).encode()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # A client that gave up waiting, typically on a hung response.
            logger.debug("payments: client went away before the %s response", response.status)

    def log_message(self, format: str, *args: object) -> None:
        logger.info("payments: %s", format % args)


class PaymentProvider:
    """A fake Stripe-compatible payment provider served over HTTP on a background thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        state_file: Path | None = None,
        faults: FaultConfig | None = None,
        seed: int | None = None,
    ) -> None:
        if api_key == "":
            raise ValueError("api_key must not be empty; pass None to accept any key")
        self._host = host
        self._requested_port = port
        self._store = PaymentStore(state_file)
        self._faults = FaultInjector(faults or FaultConfig(), seed)
        self._stopping = threading.Event()
        self._api = PaymentApi(self._store, self._faults, api_key, self._stopping)
        self._server: _PaymentHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None

    def start(self) -> Self:
        """Bind and serve; raises OSError when the address cannot be bound."""
        if self._server is not None:
            raise RuntimeError("the payment provider is already running")
        self._stopping.clear()
        self._server = _PaymentHttpServer((self._host, self._requested_port), self._api)
        self._bound_port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="payments-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake hung responses; safe to call when not running."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = self._thread = None

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

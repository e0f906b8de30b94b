"""The HTTP/1.1 server of localcloud's own servers (the API gateway, the payment provider); it knows no service.

Parsing is h11's, made stricter where h11 is lenient: a bare LF in the request head, and a
Content-Length beside a Transfer-Encoding, are refused (both are request-smuggling vectors
between a proxy and a server that read the framing differently). Framing errors answer 400, a
request head over the limit 431, a body over the limit 413, counted as it arrives so that nothing
past the limit is kept. A connection serves one request at a time and is closed after any error,
so a response can never be read as the answer to another request. Each connection has its own
thread, behind a listen backlog deep enough for bursts of hundreds of clients.
"""

from __future__ import annotations

import contextlib
import errno
import http
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

import h11

from localcloud.local_access import HostAllowList

logger = logging.getLogger(__name__)

LISTEN_BACKLOG = 1024
_RECEIVE_BYTES = 65536
# The end of a request head; with a bare LF too, so that such a head is refused rather than awaited.
_BLANK_LINE = re.compile(rb"\n\r?\n")
_BARE_LF = re.compile(rb"(?<!\r)\n")
# How often the accept loop checks for stop().
_ACCEPT_POLL_S = 0.1
# After refusing a request, how long the rest of it is read and dropped before the connection
# closes: closing with unread bytes makes the kernel reset the connection, which can destroy the
# refusal before the client reads it.
_DRAIN_S = 1.0


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as a server received it."""

    method: str
    # As sent, percent-encoded, without the query string.
    path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP response; Content-Length and Date are added when it is sent."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class HttpLimits:
    """What one request may hold."""

    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 10 * 1024 * 1024
    # An idle keep-alive connection is closed after this long.
    idle_timeout_s: float = 60.0


@dataclass(frozen=True)
class Reply:
    """A response, and work that the client need not wait for: it runs once the response is sent."""

    response: HttpResponse
    after_sent: Callable[[], None]


RequestHandler = Callable[[HttpRequest], HttpResponse | Reply]
# The service's own shape for the server's refusals: (status, message) -> response.
ErrorResponder = Callable[[int, str], HttpResponse]


class PortInUseError(OSError):
    """A server's port is taken by another program."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is already in use by another program; stop it or choose another port")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HttpServer:
    """Serves `handler` on host:port from background threads, one per connection."""

    def __init__(
        self,
        handler: RequestHandler,
        *,
        error_response: ErrorResponder,
        allowed_hosts: HostAllowList,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: HttpLimits | None = None,
        name: str = "http",
    ) -> None:
        self._handler = handler
        self._error_response = error_response
        self._allowed_hosts = allowed_hosts
        self._host = host
        self._port = port
        self._limits = limits or HttpLimits()
        self._name = name
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def limits(self) -> HttpLimits:
        return self._limits

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError(f"the {self._name} server is not started")
        return int(self._listener.getsockname()[1])

    @property
    def host(self) -> str:
        return self._host

    def start(self) -> None:
        """Bind and listen; PortInUseError when another program holds the port."""
        if self._listener is not None:
            raise RuntimeError(f"the {self._name} server is already started")
        try:
            listener = socket.create_server((self._host, self._port), backlog=LISTEN_BACKLOG)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(self._host, self._port) from None
            raise
        listener.settimeout(_ACCEPT_POLL_S)
        self._stopping.clear()
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, name=f"{self._name}-accept", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close every open connection and release the port; a no-op when not started."""
        listener, thread = self._listener, self._thread
        if listener is None or thread is None:
            return
        self._stopping.set()
        thread.join()
        listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._listener = self._thread = None

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as error:
                # Out of descriptors or a connection reset before accept: the next accept may work.
                logger.warning("%s: accept failed: %s", self._name, error)
                self._stopping.wait(_ACCEPT_POLL_S)
                continue
            with self._lock:
                self._connections.add(connection)
            threading.Thread(
                target=self._serve_connection,
                args=(connection, str(address[0])),
                name=f"{self._name}-conn",
                daemon=True,
            ).start()

    def _serve_connection(self, connection: socket.socket, client_ip: str) -> None:
        connection.settimeout(self._limits.idle_timeout_s)
        # Headers and body leave in one write, but a keep-alive client's delayed ACK still holds
        # small writes back with Nagle's algorithm on.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            pending = b""
            while not self._stopping.is_set():
                served = self._serve_one(connection, client_ip, pending)
                if served is None:
                    break
                pending = served
        except (OSError, TimeoutError) as error:
            logger.debug("%s: connection from %s ended: %s", self._name, client_ip, error)
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def _serve_one(self, connection: socket.socket, client_ip: str, pending: bytes) -> bytes | None:
        """Serves one request; the bytes received past it when the connection stays open, else None."""
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.max_head_bytes)
        try:
            head = self._receive_head(connection, pending)
            if head is None:
                return None
            parser.receive_data(head)
            request, keep_alive = self._receive_request(connection, parser, client_ip)
        except _Refused as refusal:
            self._refuse(connection, refusal.status, str(refusal))
            return None
        except h11.RemoteProtocolError as error:
            status = 431 if error.error_status_hint == 431 else 400
            self._refuse(connection, status, f"{_reason(status)}: {error}")
            return None
        answer = self._answer(request)
        response = answer.response if isinstance(answer, Reply) else answer
        self._send_raw(connection, response, keep_alive=keep_alive, head_only=request.method == "HEAD")
        if isinstance(answer, Reply):
            self._run_after_sent(answer, request)
        if not keep_alive:
            return None
        return parser.trailing_data[0]

    def _receive_head(self, connection: socket.socket, pending: bytes) -> bytes | None:
        """Everything received up to the end of the next request head, and what came after it."""
        buffer = pending
        while (blank_line := _BLANK_LINE.search(buffer)) is None:
            if len(buffer) > self._limits.max_head_bytes:
                raise _Refused(431, _reason(431))
            data = connection.recv(_RECEIVE_BYTES)
            if not data:
                if buffer.strip():
                    raise _Refused(400, "Bad Request: the connection closed inside the request head")
                return None
            buffer += data
        if blank_line.end() > self._limits.max_head_bytes:
            raise _Refused(431, _reason(431))
        if _BARE_LF.search(buffer, 0, blank_line.end()):
            raise _Refused(400, "Bad Request: a line of the request head ends in LF without CR")
        return buffer

    def _receive_request(
        self, connection: socket.socket, parser: h11.Connection, client_ip: str
    ) -> tuple[HttpRequest, bool]:
        event = self._next_event(connection, parser)
        if not isinstance(event, h11.Request):
            raise _Refused(400, _reason(400))
        raw_headers = event.headers.raw_items()
        # h11 has refused conflicting Content-Lengths and repeated Transfer-Encodings.
        lowered = {name.lower(): value for name, value in raw_headers}
        if b"transfer-encoding" in lowered and b"content-length" in lowered:
            raise _Refused(400, "Bad Request: Content-Length and Transfer-Encoding together")
        if sum(1 for name, _ in raw_headers if name.lower() == b"host") > 1:
            raise _Refused(400, "Bad Request: more than one Host header")
        target = event.target.decode("ascii", "replace")
        if not target.startswith("/"):
            raise _Refused(400, "Bad Request: the request target must be a path")
        headers = tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers)
        host = lowered[b"host"].decode("latin-1") if b"host" in lowered else None
        if not self._allowed_hosts.allows(host):
            raise _Refused(403, f"Forbidden: {host!r} is not a name of this local server")
        length = int(lowered.get(b"content-length", b"0"))
        if length > self._limits.max_body_bytes:
            raise _Refused(413, _reason(413))
        if parser.they_are_waiting_for_100_continue:
            connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._receive_body(connection, parser)
        path, _, query = target.partition("?")
        request = HttpRequest(
            method=event.method.decode("ascii"),
            path=path,
            query_string=query,
            headers=headers,
            body=body,
            client_ip=client_ip,
            protocol=f"HTTP/{event.http_version.decode('ascii')}",
        )
        return request, _keeps_alive(event.http_version, lowered.get(b"connection", b""))

    def _receive_body(self, connection: socket.socket, parser: h11.Connection) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            event = self._next_event(connection, parser)
            if isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            if not isinstance(event, h11.Data):
                raise _Refused(400, "Bad Request: the connection closed inside the request body")
            size += len(event.data)
            if size > self._limits.max_body_bytes:
                raise _Refused(413, _reason(413))
            chunks.append(event.data)

    @staticmethod
    def _next_event(connection: socket.socket, parser: h11.Connection) -> object:
        while True:
            event = parser.next_event()
            if event is not h11.NEED_DATA:
                return event
            parser.receive_data(connection.recv(_RECEIVE_BYTES))

    def _refuse(self, connection: socket.socket, status: int, message: str) -> None:
        self._send_raw(connection, self._error_response(status, message), keep_alive=False)
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(_DRAIN_S)
        deadline = time.monotonic() + _DRAIN_S
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline and connection.recv(_RECEIVE_BYTES):
                continue

    def _run_after_sent(self, reply: Reply, request: HttpRequest) -> None:
        try:
            reply.after_sent()
        except Exception:
            logger.exception("%s: after answering %s %s", self._name, request.method, request.path)

    def _answer(self, request: HttpRequest) -> HttpResponse | Reply:
        try:
            return self._handler(request)
        except Exception:
            # The edge of the request loop: one broken request must not take the server down.
            logger.exception("%s: %s %s failed", self._name, request.method, request.path)
            return self._error_response(500, "Internal server error")

    @staticmethod
    def _send_raw(
        connection: socket.socket, response: HttpResponse, *, keep_alive: bool, head_only: bool = False
    ) -> None:
        reason = http.HTTPStatus(response.status).phrase if response.status in http.HTTPStatus else ""
        lines = [f"HTTP/1.1 {response.status} {reason}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in response.headers if name.lower() not in _FRAMING_HEADERS]
        lines.append(f"Content-Length: {len(response.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        connection.sendall(head if head_only else head + response.body)


_FRAMING_HEADERS = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive", "date"})


def _keeps_alive(http_version: bytes, connection_header: bytes) -> bool:
    tokens = {token.strip().lower() for token in connection_header.split(b",")}
    if http_version == b"1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


def _reason(status: int) -> str:
    return http.HTTPStatus(status).phrase

"""The AWS data services (moto) served over HTTP from a thread of this process."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self
from urllib.parse import parse_qs

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from localcloud.dynamodb_acceleration import accelerate_backends, check_moto_version
from localcloud.dynamodb_transactions import (
    TRANSACT_WRITE_ITEMS_TARGET,
    StoredAnswer,
    TransactionTokens,
    request_token,
)
from localcloud.http_server import PortInUseError
from localcloud.local_access import (
    LOOPBACK_ONLY,
    TOOL_HEADERS,
    CorsOrigins,
    HostAllowList,
    Refusal,
    is_cross_origin,
    tool_request_refusal,
)
from localcloud.mailbox import (
    MailDetails,
    MailLog,
    collect_sent_mail,
    is_form_post,
    is_ses_v2_send,
    parse_ses_send,
    sent_email_to_json,
)
from localcloud.metric_summary import metric_summary_to_json, summarize_metrics

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

DEFAULT_PORT = 4566
HOST = "127.0.0.1"
LOCALCLOUD_ROUTES = "/_localcloud/"
# moto's own endpoints: reset, the data dump, the recorder, the dashboard.
MOTO_API_ROUTES = "/moto-api/"
MAIL_ROUTE = "/_localcloud/mail"
METRICS_ROUTE = "/_localcloud/metrics"
CONTAINERS_ROUTE = "/_localcloud/containers"
# Credentials are required by boto3 and ignored by moto (any key maps to moto's default account).
EMULATOR_ACCESS_KEY_ID = "localcloud"
EMULATOR_SECRET_ACCESS_KEY = "localcloud"
# The shape of a Signature Version 4 Authorization header, as every AWS SDK and the aws CLI send it.
# The signature itself is not checked: moto accepts any key, and the header is what a web page
# cannot send cross-site without a preflight, which the emulator grants only to configured origins.
_SIGV4_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/\s]+/\d{8}/[a-z0-9-]+/[a-z0-9-]+/aws4_request,\s*"
    r"SignedHeaders=[a-z0-9-]+(;[a-z0-9-]+)*,\s*Signature=[0-9a-f]{64}"
)
# A presigned URL carries the same signature in its query string.
_PRESIGNED_QUERY = ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=", "X-Amz-Signature=")
_PREFLIGHT_MAX_AGE_S = "600"
# How often the server thread checks for stop(); the upper bound of how long stop() waits.
_SHUTDOWN_POLL_S = 0.05


class QuietMotoRequestHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's one-line-per-request access log on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Write no access line; a request that fails inside moto is still logged by werkzeug."""


def emulator_session(region: str) -> boto3.Session:
    """A boto3 session whose clients, given the emulator URL as endpoint, reach the emulator."""
    return boto3.Session(
        aws_access_key_id=EMULATOR_ACCESS_KEY_ID,
        aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY,
        region_name=region,
    )


def emulator_account_id() -> str:
    """The account moto files the requests of `emulator_session` clients under."""
    # moto's rule for an access key it did not issue itself: MOTO_ACCOUNT_ID, else its default.
    return os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)


class ServiceApplication(Protocol):
    """A service localcloud serves itself on the emulator's endpoint rather than moto (the Lambda API)."""

    def handles(self, method: str, path: str) -> bool: ...

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]: ...


class LocalCallersOnly:
    """The emulator's door: local Hosts, configured origins, signed AWS calls and tool requests only.

    moto reflects every Origin in its CORS headers; those are dropped, and only configured origins
    get CORS answers (preflights included) from here.
    """

    def __init__(self, application: WSGIApplication, hosts: HostAllowList, cors: CorsOrigins) -> None:
        self._application = application
        self._hosts = hosts
        self._cors = cors

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Refuse what a local client would not send; pass the rest on."""
        host = environ.get("HTTP_HOST")
        origin = environ.get("HTTP_ORIGIN")
        granted = self._cors.allows(origin)
        if not self._hosts.allows(host):
            return _refuse(start_response, f"{host!r} is not a name of this local emulator")
        if is_cross_origin(origin, host) and not granted:
            return _refuse(start_response, f"requests from the origin {origin} are not allowed (see --cors-origin)")
        method = str(environ.get("REQUEST_METHOD", ""))
        if granted and method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return _preflight(environ, start_response, str(origin))
        refusal = _request_refusal(environ, method)
        if refusal is not None:
            return _refuse(start_response, refusal.message, refusal.status)

        def without_reflected_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            if granted:
                kept += [("Access-Control-Allow-Origin", str(origin)), ("Vary", "Origin")]
            return start_response(status, kept, exc_info)

        return self._application(environ, without_reflected_cors)


def _request_refusal(environ: WSGIEnvironment, method: str) -> Refusal | None:
    path = str(environ.get("PATH_INFO", ""))
    if path.startswith((MOTO_API_ROUTES, LOCALCLOUD_ROUTES)):
        headers = {
            name[5:].replace("_", "-").lower(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return tool_request_refusal(method, headers)
    if _SIGV4_AUTHORIZATION.match(str(environ.get("HTTP_AUTHORIZATION", ""))):
        return None
    query = str(environ.get("QUERY_STRING", ""))
    if all(part in query for part in _PRESIGNED_QUERY):
        return None
    return Refusal(403, "AWS API calls must be signed (an Authorization header of Signature Version 4)")


def _refuse(start_response: StartResponse, message: str, status: int = 403) -> Iterable[bytes]:
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _preflight(environ: WSGIEnvironment, start_response: StartResponse, origin: str) -> Iterable[bytes]:
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", str(environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"])),
        ("Access-Control-Max-Age", _PREFLIGHT_MAX_AGE_S),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]
    requested_headers = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
    if requested_headers:
        headers.append(("Access-Control-Allow-Headers", str(requested_headers)))
    start_response("200 OK", headers)
    return [b""]


class EmulatorApplication:
    """moto's WSGI application, plus the mail route, the recording of SES sends and idempotent DynamoDB transactions."""

    def __init__(
        self,
        moto_app: WSGIApplication,
        mail_log: MailLog,
        transactions: TransactionTokens,
        container_host: str | None = None,
    ) -> None:
        self._moto_app = moto_app
        self._mail_log = mail_log
        self._transactions = transactions
        self._container_host = container_host
        self._dynamodb_lock = threading.Lock()
        self.lambda_api: ServiceApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        path = str(environ.get("PATH_INFO", ""))
        lambda_api = self.lambda_api
        if lambda_api is not None and lambda_api.handles(str(environ.get("REQUEST_METHOD", "")), path):
            return lambda_api(environ, start_response)
        if path.startswith(LOCALCLOUD_ROUTES):
            status, document = self._serve_localcloud_route(environ, path)
            body = json.dumps(document).encode("utf-8")
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if is_form_post(environ) or is_ses_v2_send(environ):
            return self._observe_ses_send(environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith("DynamoDB_"):
            # moto's tables are plain dicts that a transaction deep-copies while other threads
            # write: concurrent requests fail with "dictionary changed size". DynamoDB applies each
            # request atomically, so serialising them changes nothing a client can observe.
            with self._dynamodb_lock:
                accelerate_backends()
                if target == TRANSACT_WRITE_ITEMS_TARGET:
                    return self._transact_write_items(environ, start_response)
                return list(self._moto_app(environ, start_response))
        return self._moto_app(environ, start_response)

    def _transact_write_items(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        token = request_token(_read_body(environ))
        if token is None:
            return list(self._moto_app(environ, start_response))
        replayed = self._transactions.answer_for(*token)
        if replayed is None:
            replayed = _answer_of(self._moto_app, environ)
            self._transactions.remember(*token, replayed)
        start_response(replayed.status, replayed.headers)
        return [replayed.body]

    def _serve_localcloud_route(self, environ: WSGIEnvironment, path: str) -> tuple[str, dict[str, Any]]:
        if environ.get("REQUEST_METHOD") != "GET":
            return "405 Method Not Allowed", {"error": f"{path} only answers GET"}
        query = {key: values[-1] for key, values in parse_qs(str(environ.get("QUERY_STRING", ""))).items()}
        if path == MAIL_ROUTE:
            return "200 OK", {"mail": [sent_email_to_json(mail) for mail in collect_sent_mail(self._mail_log)]}
        if path == METRICS_ROUTE:
            return self._serve_metrics(query)
        if path == CONTAINERS_ROUTE:
            # None: the emulator was not started for containers, and they cannot reach it.
            return "200 OK", {"container_host": self._container_host}
        return "404 Not Found", {"error": f"no such localcloud route: {path}"}

    def _serve_metrics(self, query: dict[str, str]) -> tuple[str, dict[str, Any]]:
        region = query.get("region")
        window = query.get("window_s", "3600")
        if not region:
            return "400 Bad Request", {"error": "the region query parameter is required"}
        if not window.isdigit() or int(window) == 0:
            return "400 Bad Request", {"error": f"window_s must be a positive number of seconds, got {window!r}"}
        summaries = summarize_metrics(
            emulator_account_id(), region, query.get("namespace"), timedelta(seconds=int(window))
        )
        return "200 OK", {"metrics": [metric_summary_to_json(summary) for summary in summaries]}

    def _observe_ses_send(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_body = _read_body(environ)
        send = parse_ses_send(environ, request_body)
        if send is None:
            return self._moto_app(environ, start_response)
        sent_at = datetime.now(UTC)
        statuses: list[str] = []

        def remember_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        chunks = self._moto_app(environ, remember_status)
        try:
            response_body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        message_id = send.message_id_from(response_body) if statuses and statuses[0].startswith("200") else None
        if message_id is not None:
            self._mail_log.record(message_id, MailDetails(sent_at=sent_at, text=send.text, html=send.html))
        return [response_body]


def _answer_of(application: WSGIApplication, environ: WSGIEnvironment) -> StoredAnswer:
    answered: list[tuple[str, list[tuple[str, str]]]] = []

    def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered.append((status, headers))
        return lambda _: None

    chunks = application(environ, keep)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    status, headers = answered[-1]
    return StoredAnswer(status, list(headers), body)


def _read_body(environ: WSGIEnvironment) -> bytes:
    # moto reads the body again, so it gets a fresh stream over the same bytes.
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class Emulator:
    """moto's AWS services on 127.0.0.1:<port>, served by a thread of this process.

    With `also_listen_on`, the same services answer on that address too (the Docker bridge's, so that
    containers reach them), and `container_host` is the name or address containers use for it. Only
    `hosts` may be named in a request's Host, and only `cors` origins get cross-origin answers.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        also_listen_on: str | None = None,
        container_host: str | None = None,
        hosts: HostAllowList = LOOPBACK_ONLY,
        cors: CorsOrigins | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"emulator port must be between 0 and 65535, got {port}")
        self._requested_port = port
        self._also_listen_on = also_listen_on
        self._container_host = container_host
        self._hosts = hosts
        self._cors = cors or CorsOrigins()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._extra: tuple[BaseWSGIServer, threading.Thread] | None = None
        self._application: EmulatorApplication | None = None
        self._lambda_api: ServiceApplication | None = None
        self.mail_log = MailLog()
        self._transactions = TransactionTokens()
        # Seconds from start() to accepting connections; set by start().
        self.startup_s: float | None = None

    @property
    def running(self) -> bool:
        """Whether the emulator accepts requests."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (the free port chosen when the emulator was created with port 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The endpoint URL that boto3 clients use."""
        return f"http://{HOST}:{self.port}"

    def serve_lambda(self, lambda_api: ServiceApplication | None) -> None:
        """Answer the Lambda API with this application from now on (None: leave it to moto again)."""
        self._lambda_api = lambda_api
        if self._application is not None:
            self._application.lambda_api = lambda_api

    def start(self) -> None:
        """Bind the port and serve; PortInUseError when another program holds the port."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        started = time.perf_counter()
        check_moto_version()
        application = EmulatorApplication(
            DomainDispatcherApplication(create_backend_app), self.mail_log, self._transactions, self._container_host
        )
        application.lambda_api = self._lambda_api
        door = LocalCallersOnly(application, self._hosts, self._cors)
        server, thread = _serve(door, HOST, self._requested_port)
        if self._also_listen_on is not None:
            try:
                self._extra = _serve(door, self._also_listen_on, int(server.server_address[1]))
            except BaseException:
                server.shutdown()
                thread.join()
                server.server_close()
                raise
        self._server, self._thread, self._application = server, thread, application
        self.startup_s = time.perf_counter() - started

    def stop(self) -> None:
        """Stop serving and release the port; a no-op when not running."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        for running, serving in [*([self._extra] if self._extra else []), (server, thread)]:
            running.shutdown()
            serving.join()
            running.server_close()
        self._server = self._thread = self._extra = self._application = None

    def reset(self) -> None:
        """Empty every moto service and the mail log (moto's data is shared by the whole process)."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset", data=b"{}", headers=dict(TOOL_HEADERS), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        self.mail_log.clear()
        self._transactions.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _serve(application: WSGIApplication, host: str, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    listening_socket = _listen(host, port)
    # moto's ThreadedMotoServer binds inside its thread, where werkzeug turns a taken port into
    # SystemExit, and start() then waits forever; binding here makes that a plain exception.
    try:
        server = make_server(
            host,
            port,
            application,
            threaded=True,
            request_handler=QuietMotoRequestHandler,
            fd=listening_socket.fileno(),
        )
    finally:
        # werkzeug serves a duplicate of this descriptor.
        listening_socket.close()
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _SHUTDOWN_POLL_S},
        name=f"localcloud-emulator-{host}-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return server, thread


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        raise

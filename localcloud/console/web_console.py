"""The web console: a page at /_localcloud/ on the API's port, and what feeds it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from importlib.resources import files
from typing import Protocol

from localcloud.console.json_api import API_PREFIX, ConsoleApi, ConsoleSources, IntentSource, LogSource
from localcloud.console.request_log import InvocationLinks, RequestLog
from localcloud.console.sampler import DEFAULT_INTERVAL_S, StackSampler
from localcloud.gateway import RESERVED_PATH_PREFIX, GatewayExchange
from localcloud.http_server import HttpRequest, HttpResponse
from localcloud.operations import MetricSummary, list_metrics, queue_overview
from localcloud.runtime import FunctionStats
from localcloud.spec import Invocation, StackSpec

CONSOLE_PATH = RESERVED_PATH_PREFIX
STATIC_PREFIX = f"{CONSOLE_PATH}static/"
_PAGE = "index.html"
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
# The page runs its own script only and talks to its own origin only. Inline styles are allowed
# for the mail bodies shown in sandboxed frames, which inherit this policy.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ConsoleRuntime(Protocol):
    """What the console needs of the Lambda runtime (`LambdaRuntime`)."""

    def invoke(self, function_logical_id: str, event: object) -> Invocation: ...

    def stats(self) -> dict[str, FunctionStats]: ...


class WebConsole:
    """Serves the console under /_localcloud/ and records the API traffic it shows."""

    def __init__(
        self,
        *,
        stack: StackSpec,
        runtime: ConsoleRuntime,
        logs: LogSource,
        emulator_url: str,
        stack_name: str | None = None,
        payments: IntentSource | None = None,
        payments_url: str | None = None,
        sample_interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        region = stack.region
        self.requests = RequestLog(clock=clock)
        # The invoker to give the gateway: it links each API request to the invocations that served it.
        self.invoker = InvocationLinks(runtime)
        self.sampler = StackSampler(
            function_stats=runtime.stats,
            queues=partial(queue_overview, emulator_url, region=region),
            metrics=partial(_metrics_within, emulator_url, region),
            interval_s=sample_interval_s,
            clock=clock,
        )
        sources = ConsoleSources(
            stack=stack,
            stack_name=stack_name,
            emulator_url=emulator_url,
            requests=self.requests,
            invocations=self.invoker,
            sampler=self.sampler,
            function_stats=runtime.stats,
            logs=logs,
            payments=payments,
            payments_url=payments_url,
        )
        self._api = ConsoleApi(sources, clock=clock)

    def start(self) -> None:
        """Start sampling the stack."""
        self.sampler.start()

    def stop(self) -> None:
        """Stop sampling; idempotent."""
        self.sampler.stop()

    def observe(self, exchange: GatewayExchange) -> None:
        """The gateway's observer hook: record one answered API request."""
        self.invoker.claim(exchange.request_id)
        self.requests.record(exchange)

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        """The gateway's reserved path handler: the page, its assets and its JSON API; None for other paths.

        The gateway's HTTP server has already refused requests whose Host is not local.
        """
        if request.path == CONSOLE_PATH.rstrip("/"):
            return HttpResponse(308, (("Location", CONSOLE_PATH),), b"")
        if request.path.startswith(API_PREFIX):
            return self._api.handle(request)
        if request.path == CONSOLE_PATH:
            return _asset(request, _PAGE)
        if request.path.startswith(STATIC_PREFIX):
            return _asset(request, request.path.removeprefix(STATIC_PREFIX))
        return None


def _metrics_within(emulator_url: str, region: str, window: timedelta) -> list[MetricSummary]:
    return list_metrics(emulator_url, region=region, window=window)


def _asset(request: HttpRequest, name: str) -> HttpResponse | None:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _CONTENT_TYPES:
        return None
    resource = files("localcloud.console").joinpath("static", name)
    if not resource.is_file():
        return None
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(405, (("Allow", "GET, HEAD"), ("Content-Type", "text/plain")), b"GET or HEAD only\n")
    headers: Mapping[str, str] = {
        "Content-Type": _CONTENT_TYPES[suffix],
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": PAGE_POLICY,
        "Referrer-Policy": "no-referrer",
    }
    return HttpResponse(200, tuple(headers.items()), resource.read_bytes())

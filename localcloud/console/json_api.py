"""The console's JSON endpoints under /_localcloud/api/, built on the operations the CLI uses."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from localcloud.console.dead_letters import WaitingMessage, peek_messages
from localcloud.console.request_log import CappedText, InvocationLinks, RecordedRequest, RequestLog, redacted_body
from localcloud.console.sampler import Sample, StackSampler, metric_key
from localcloud.console.series import Buckets, FunctionWindow, function_buckets, function_window, metric_buckets
from localcloud.function_logs import LogLine
from localcloud.http_server import HttpRequest, HttpResponse
from localcloud.local_access import tool_request_refusal
from localcloud.mailbox import sent_email_to_json
from localcloud.operations import (
    EmulatorUnreachableError,
    MetricSummary,
    NotADeadLetterQueueError,
    OperationError,
    QueueNotFoundError,
    QueueStatus,
    SentEmail,
    list_mail,
    list_metrics,
    queue_overview,
    redrive_dlq,
)
from localcloud.runtime import FunctionStats
from localcloud.spec import FunctionSpec, StackSpec
from secret_redaction import redact

API_PREFIX = "/_localcloud/api/"
CHART_SPAN_S = 600.0
CHART_BUCKET_S = 10.0
# The span of the p50/p95 and the counts shown beside each function's charts.
FUNCTION_WINDOW_S = 300.0
METRICS_WINDOW = timedelta(hours=1)
MAIL_LIST_LIMIT = 200
_JSON_HEADERS = (
    ("Content-Type", "application/json; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
)


class LogSource(Protocol):
    """Where the console reads an invocation's log lines (`FunctionLogs`)."""

    def recent(self, function_logical_id: str, *, request_id: str | None = None) -> list[LogLine]: ...


class IntentSource(Protocol):
    """Where the console reads payment intents (`PaymentProvider`)."""

    def intents(self) -> list[dict[str, object]]: ...


class ApiError(Exception):
    """An answer other than 200, with a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


type Handler = Callable[[HttpRequest, Mapping[str, str]], object]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass(frozen=True)
class ConsoleSources:
    """Everything the console reads or acts on."""

    stack: StackSpec
    stack_name: str | None
    emulator_url: str
    requests: RequestLog
    invocations: InvocationLinks
    sampler: StackSampler
    function_stats: Callable[[], Mapping[str, FunctionStats]]
    logs: LogSource
    payments: IntentSource | None
    payments_url: str | None = None


class ConsoleApi:
    """Answers /_localcloud/api/... requests with JSON."""

    def __init__(self, sources: ConsoleSources, *, clock: Callable[[], float] = time.time) -> None:
        self._sources = sources
        self._clock = clock
        routes: list[tuple[str, str, Handler]] = [
            ("GET", r"overview", self._overview),
            ("GET", r"summary", self._summary),
            ("GET", r"requests", self._requests),
            ("GET", r"requests/(?P<request_id>[^/]+)", self._request_detail),
            ("GET", r"functions", self._functions),
            ("GET", r"queues", self._queues),
            ("GET", r"queues/(?P<queue>[^/]+)/messages", self._queue_messages),
            ("POST", r"queues/(?P<queue>[^/]+)/redrive", self._redrive),
            ("GET", r"mail", self._mail),
            ("GET", r"mail/(?P<mail_id>[^/]+)", self._mail_detail),
            ("GET", r"payments", self._payments),
            ("GET", r"metrics", self._metrics),
        ]
        self._routes = [_Route(method, re.compile(pattern), handler) for method, pattern, handler in routes]

    def handle(self, request: HttpRequest) -> HttpResponse:
        """The answer to one request whose path starts with API_PREFIX."""
        subpath = request.path.removeprefix(API_PREFIX)
        matching = [(route, found) for route in self._routes if (found := route.pattern.fullmatch(subpath))]
        if not matching:
            return json_response(404, {"error": f"no console endpoint {request.path}"})
        allowed = sorted({route.method for route, _ in matching})
        chosen = next(((route, found) for route, found in matching if route.method == request.method), None)
        if chosen is None:
            response = json_response(405, {"error": f"{request.path} answers {', '.join(allowed)} only"})
            return HttpResponse(response.status, (*response.headers, ("Allow", ", ".join(allowed))), response.body)
        route, found = chosen
        try:
            if route.method == "POST":
                _check_mutation(request)
            document = route.handler(request, {name: unquote(value) for name, value in found.groupdict().items()})
        except ApiError as error:
            return json_response(error.status, {"error": str(error)})
        except EmulatorUnreachableError as error:
            return json_response(503, {"error": str(error)})
        except OperationError as error:
            return json_response(502, {"error": str(error)})
        return json_response(200, document)

    def _overview(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        sources = self._sources
        return {
            "stack_name": sources.stack_name,
            "region": sources.stack.region,
            "emulator_url": sources.emulator_url,
            "payments_url": sources.payments_url,
            "sample_interval_s": sources.sampler.interval_s,
            "functions": [_function_json(function) for function in sources.stack.functions.values()],
        }

    def _summary(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        sources = self._sources
        stats = sources.function_stats().values()
        queues = sources.sampler.latest_queues() or ()
        try:
            mail_count: int | None = len(list_mail(sources.emulator_url))
        except OperationError:
            mail_count = None
        return {
            "now": _ms(self._clock()),
            "requests": sources.requests.latest_sequence,
            "invocations": sum(stat.invocations for stat in stats),
            "errors": sum(stat.errors for stat in stats),
            "queued": sum(queue.visible + queue.in_flight for queue in queues if not queue.is_dead_letter_queue),
            "dead_letters": sum(queue.visible for queue in queues if queue.is_dead_letter_queue),
            "mail": mail_count,
            "payments": None if sources.payments is None else len(sources.payments.intents()),
        }

    def _requests(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        query = _query(request)
        after = _int_parameter(query, "after", 0)
        limit = _int_parameter(query, "limit", 200)
        log = self._sources.requests
        return {
            "now": _ms(self._clock()),
            "latest": log.latest_sequence,
            "requests": [_request_summary(recorded) for recorded in log.latest(after=after, limit=limit)],
        }

    def _request_detail(self, request: HttpRequest, parameters: Mapping[str, str]) -> object:
        request_id = parameters["request_id"]
        recorded = self._sources.requests.find(request_id)
        if recorded is None:
            raise ApiError(404, f"no request {request_id} in the console's log (it keeps the latest ones only)")
        invocations = []
        for link in self._sources.invocations.of(request_id):
            lines = self._sources.logs.recent(link.function_logical_id, request_id=link.request_id)
            invocations.append(
                {
                    "function": link.function_logical_id,
                    "request_id": link.request_id,
                    "duration_ms": link.duration_ms,
                    "cold_start": link.cold_start,
                    "error": link.error,
                    "log": [{"time": line.timestamp_ms, "message": redact(line.message)} for line in lines],
                }
            )
        details = recorded.details
        return {
            **_request_summary(recorded),
            "event": details.event,
            "event_body": _capped_json(details.event_body),
            "response": {
                "status": recorded.status,
                "headers": [list(header) for header in details.response_headers],
                "body": _capped_json(details.response_body),
            },
            "function_payload": details.function_payload,
            "invocations": invocations,
        }

    def _functions(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        now = self._clock()
        history = self._sources.sampler.history()
        buckets = Buckets.ending_at(now, CHART_SPAN_S, CHART_BUCKET_S)
        starts = [_ms(start) for start in buckets.starts()]
        totals = self._sources.function_stats()
        functions = []
        for logical_id, function in self._sources.stack.functions.items():
            total = totals.get(logical_id)
            functions.append(
                {
                    **_function_json(function),
                    "invocations": total.invocations if total else 0,
                    "errors": total.errors if total else 0,
                    "cold_starts": total.cold_starts if total else 0,
                    "recent": _window_json(function_window(history, logical_id, since=now - FUNCTION_WINDOW_S)),
                    "series": [
                        {"t": start, **_window_json(window)}
                        for start, window in zip(starts, function_buckets(history, logical_id, buckets), strict=True)
                    ],
                }
            )
        return {
            "now": _ms(now),
            "window_s": FUNCTION_WINDOW_S,
            "span_s": CHART_SPAN_S,
            "bucket_s": CHART_BUCKET_S,
            "functions": functions,
        }

    def _queues(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        history = self._sources.sampler.history()
        sampled = [sample for sample in history if sample.queues is not None]
        latest = sampled[-1] if sampled else None
        return {
            "now": _ms(self._clock()),
            "sampled_at": None if latest is None else _ms(latest.at),
            "span_s": CHART_SPAN_S,
            "queues": [] if latest is None else [_queue_json(queue, sampled) for queue in latest.queues or ()],
        }

    def _queue_messages(self, request: HttpRequest, parameters: Mapping[str, str]) -> object:
        queue = self._dead_letter_queue(parameters["queue"])
        messages = peek_messages(self._sources.emulator_url, queue.url, region=self._sources.stack.region)
        return {
            "queue": queue.name,
            "visible": queue.visible,
            "in_flight": queue.in_flight,
            "destinations": list(queue.dead_letter_sources),
            "messages": [_message_json(message) for message in messages],
        }

    def _redrive(self, request: HttpRequest, parameters: Mapping[str, str]) -> object:
        body = _json_object(request)
        destination = body.get("destination")
        if destination is not None and not isinstance(destination, str):
            raise ApiError(400, "destination must be a queue name")
        queue = self._dead_letter_queue(parameters["queue"])
        try:
            moved = redrive_dlq(
                self._sources.emulator_url, queue.url, region=self._sources.stack.region, destination=destination
            )
        except (NotADeadLetterQueueError, QueueNotFoundError) as error:
            raise ApiError(409, str(error)) from error
        # The page shows the queues as sampled: a fresh sample shows the move at once.
        self._sources.sampler.sample()
        return {"queue": queue.name, "moved": moved, "destination": destination or queue.dead_letter_sources[0]}

    def _mail(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        messages = list_mail(self._sources.emulator_url)[::-1]
        return {"total": len(messages), "mail": [_mail_summary(mail) for mail in messages[:MAIL_LIST_LIMIT]]}

    def _mail_detail(self, request: HttpRequest, parameters: Mapping[str, str]) -> object:
        mail = next((mail for mail in list_mail(self._sources.emulator_url) if mail.id == parameters["mail_id"]), None)
        if mail is None:
            raise ApiError(404, f"no sent mail {parameters['mail_id']}")
        return sent_email_to_json(mail)

    def _payments(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        payments = self._sources.payments
        if payments is None:
            return {"enabled": False, "intents": []}
        return {"enabled": True, "intents": [_intent_json(intent) for intent in payments.intents()]}

    def _metrics(self, request: HttpRequest, _: Mapping[str, str]) -> object:
        now = self._clock()
        summaries = list_metrics(self._sources.emulator_url, region=self._sources.stack.region, window=METRICS_WINDOW)
        history = self._sources.sampler.history()
        buckets = Buckets.ending_at(now, CHART_SPAN_S, CHART_BUCKET_S)
        starts = [_ms(start) for start in buckets.starts()]
        return {
            "now": _ms(now),
            "window_s": METRICS_WINDOW.total_seconds(),
            "span_s": CHART_SPAN_S,
            "bucket_s": CHART_BUCKET_S,
            "metrics": [
                {
                    **_metric_json(summary),
                    "series": [
                        [start, total]
                        for start, total in zip(
                            starts, metric_buckets(history, metric_key(summary), buckets), strict=True
                        )
                    ],
                }
                for summary in summaries
            ],
        }

    def _dead_letter_queue(self, name: str) -> QueueStatus:
        queues = queue_overview(self._sources.emulator_url, region=self._sources.stack.region)
        queue = next((queue for queue in queues if queue.name == name), None)
        if queue is None:
            raise ApiError(404, f"no queue named {name}")
        if not queue.is_dead_letter_queue:
            raise ApiError(409, f"queue {name} is not the dead-letter queue of any queue")
        return queue


def json_response(status: int, document: object) -> HttpResponse:
    """A JSON answer that no browser caches or sniffs."""
    return HttpResponse(status, _JSON_HEADERS, json.dumps(document, default=str).encode())


def _check_mutation(request: HttpRequest) -> None:
    # The console never grants a CORS preflight, so a page of another site cannot send what this needs.
    refusal = tool_request_refusal(request.method, {name.lower(): value for name, value in request.headers})
    if refusal is not None:
        raise ApiError(refusal.status, refusal.message)


def _json_object(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as error:
        raise ApiError(400, f"the body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _query(request: HttpRequest) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(request.query_string).items()}


def _int_parameter(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ApiError(400, f"{name} must be a whole number, not {value!r}")
    return int(value)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _function_json(function: FunctionSpec) -> dict[str, object]:
    triggers = [f"{event.method.upper()} {event.path}" for event in function.api_events]
    triggers += [f"SQS {event.queue_url.rstrip('/').rsplit('/', 1)[-1]}" for event in function.sqs_events]
    triggers += [event.expression for event in function.schedule_events]
    return {"logical_id": function.logical_id, "name": function.function_name, "triggers": triggers}


def _window_json(window: FunctionWindow) -> dict[str, object]:
    return {
        "invocations": window.invocations,
        "errors": window.errors,
        "cold_starts": window.cold_starts,
        "p50_ms": window.p50_ms,
        "p95_ms": window.p95_ms,
    }


def _request_summary(recorded: RecordedRequest) -> dict[str, object]:
    return {
        "sequence": recorded.sequence,
        "time": _ms(recorded.answered_at),
        "method": recorded.method,
        "path": recorded.path,
        "status": recorded.status,
        "duration_ms": recorded.duration_ms,
        "request_id": recorded.request_id,
        "function": recorded.function_logical_id,
    }


def _capped_json(capped: CappedText | None) -> dict[str, object] | None:
    if capped is None:
        return None
    return {"text": capped.text, "size": capped.size_bytes, "truncated": capped.truncated, "binary": capped.binary}


def _queue_json(queue: QueueStatus, sampled: Sequence[Sample]) -> dict[str, object]:
    series = [
        [_ms(sample.at), status.visible, status.in_flight, status.delayed]
        for sample in sampled
        for status in sample.queues or ()
        if status.name == queue.name
    ]
    return {
        "name": queue.name,
        "url": queue.url,
        "visible": queue.visible,
        "in_flight": queue.in_flight,
        "delayed": queue.delayed,
        "fifo": queue.fifo,
        "is_dead_letter_queue": queue.is_dead_letter_queue,
        "dead_letter_sources": list(queue.dead_letter_sources),
        "dead_letter_target": queue.dead_letter_target,
        "max_receive_count": queue.max_receive_count,
        "series": series,
    }


def _message_json(message: WaitingMessage) -> dict[str, object]:
    return {
        "id": message.message_id,
        "body": redacted_body(message.body, "application/json"),
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "receive_count": message.receive_count,
        "attributes": message.attributes,
    }


def _mail_summary(mail: SentEmail) -> dict[str, object]:
    return {
        "id": mail.id,
        "timestamp": mail.timestamp.isoformat() if mail.timestamp else None,
        "source": mail.source,
        "to": list(mail.to),
        "subject": mail.subject,
        "has_html": mail.html is not None,
    }


_INTENT_FIELDS = ("id", "status", "amount", "currency", "created", "description", "metadata", "receipt_email")


def _intent_json(intent: Mapping[str, object]) -> dict[str, object]:
    document = {field: intent.get(field) for field in _INTENT_FIELDS}
    error = intent.get("last_payment_error")
    document["last_payment_error"] = error.get("message") if isinstance(error, Mapping) else None
    return document


def _metric_json(summary: MetricSummary) -> dict[str, object]:
    return {
        "namespace": summary.namespace,
        "name": summary.name,
        "dimensions": [list(dimension) for dimension in summary.dimensions],
        "sum": summary.sum,
        "count": summary.count,
        "minimum": summary.minimum,
        "maximum": summary.maximum,
        "unit": summary.unit,
    }

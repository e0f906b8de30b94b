"""The Stripe-compatible HTTP API and the fault-control endpoints, independent of the HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from localcloud.payments.errors import (
    ApiError,
    api_error,
    idempotency_mismatch,
    invalid_request,
    rate_limited,
    resource_missing,
    unrecognized_url,
)
from localcloud.payments.faults import Fault, FaultConfig, FaultInjector
from localcloud.payments.formdata import FormParams, decode_form, decode_pairs
from localcloud.payments.intents import create_payment_intent, new_id
from localcloud.payments.refunds import create_refund, refunded_intent_id
from localcloud.payments.store import IdempotencyRecord, PaymentStore

_INTENTS_PATH = "/v1/payment_intents"
_REFUNDS_PATH = "/v1/refunds"
_MAX_IDEMPOTENCY_KEY_LENGTH = 255
_DEFAULT_PAGE_SIZE = 10
_MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class HttpRequest:
    """A request as the server read it off the wire."""

    method: str
    path: str
    query: str
    # Header names lowercased.
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class HttpResponse:
    """A status, a JSON-serialisable body and extra headers."""

    status: int
    body: object
    headers: Mapping[str, str] = field(default_factory=dict)


class PaymentApi:
    """Answers one request at a time from any number of threads; hangs and latency wait on `stopping`."""

    def __init__(
        self, store: PaymentStore, faults: FaultInjector, api_key: str | None, stopping: threading.Event
    ) -> None:
        self._store = store
        self._faults = faults
        self._api_key = api_key
        self._stopping = stopping

    def handle(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/v1/"):
            return self._handle_control(request)
        try:
            response = self._handle_stripe(request)
        except ApiError as error:
            response = HttpResponse(error.status, error.body())
        return HttpResponse(response.status, response.body, {**response.headers, "Request-Id": new_id("req_", 14)})

    def _handle_control(self, request: HttpRequest) -> HttpResponse:
        route = (request.method, request.path)
        if route == ("GET", "/_faults"):
            return HttpResponse(200, self._faults.config.to_json())
        if route == ("PUT", "/_faults"):
            try:
                config = FaultConfig.from_json(json.loads(request.body or b"null"))
            except ValueError as error:
                return HttpResponse(400, {"error": {"message": f"invalid fault configuration: {error}"}})
            self._faults.configure(config)
            return HttpResponse(200, config.to_json())
        if route == ("POST", "/_reset"):
            self._store.reset()
            return HttpResponse(200, {"reset": True})
        return HttpResponse(404, {"error": {"message": f"no route for {request.method} {request.path}"}})

    def _handle_stripe(self, request: HttpRequest) -> HttpResponse:
        # Faults strike before authentication and execution, as a failing network or front end would.
        self._inject_fault()
        self._authenticate(request.headers.get("authorization", ""))
        route = (request.method, request.path)
        if route == ("POST", _INTENTS_PATH):
            return self._idempotent(request, self._execute_create)
        if route == ("GET", _INTENTS_PATH):
            return HttpResponse(200, self._list_intents(_query_params(request.query)))
        if route == ("POST", _REFUNDS_PATH):
            return self._idempotent(request, self._execute_refund)
        if route == ("GET", _REFUNDS_PATH):
            return HttpResponse(200, self._list_refunds(_query_params(request.query)))
        if request.method == "GET" and (intent_id := _object_id(request.path, _INTENTS_PATH)):
            intent = self._store.intent(intent_id)
            if intent is None:
                raise resource_missing("payment_intent", intent_id, param="intent", status=404)
            return HttpResponse(200, intent)
        if request.method == "GET" and (refund_id := _object_id(request.path, _REFUNDS_PATH)):
            refund = self._store.refund(refund_id)
            if refund is None:
                raise resource_missing("refund", refund_id, param="refund", status=404)
            return HttpResponse(200, refund)
        raise unrecognized_url(request.method, request.path)

    def _inject_fault(self) -> None:
        fault, config = self._faults.next_fault()
        if config.latency_ms:
            self._stopping.wait(config.latency_ms / 1000)
        if fault is Fault.SERVER_ERROR:
            raise api_error("An unexpected error occurred on the payment provider (injected fault).")
        if fault is Fault.RATE_LIMIT:
            raise rate_limited()
        if fault is Fault.HANG:
            self._stopping.wait(config.hang_seconds)
            raise api_error("The payment provider did not answer in time (injected hang).")

    def _authenticate(self, authorization: str) -> None:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise invalid_request(
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                status=401,
            )
        key = key.strip()
        if self._api_key is not None and key != self._api_key:
            raise invalid_request(f"Invalid API Key provided: {_mask(key)}", status=401)

    def _idempotent(
        self, request: HttpRequest, execute: Callable[[FormParams, str | None, str | None], HttpResponse]
    ) -> HttpResponse:
        """Execute a create once per idempotency key; replay its first answer to every later request with it."""
        params = decode_form(request.body)
        key = request.headers.get("idempotency-key")
        if key is None:
            return execute(params, None, None)
        if len(key) > _MAX_IDEMPOTENCY_KEY_LENGTH:
            raise invalid_request(
                f"Idempotency-Key must be at most {_MAX_IDEMPOTENCY_KEY_LENGTH} characters.", param="Idempotency-Key"
            )
        fingerprint = json.dumps([request.method, request.path, params], sort_keys=True)
        with self._store.idempotency_lock(key):
            record = self._store.idempotency_record(key)
            if record is None:
                return execute(params, key, fingerprint)
            if record.fingerprint != fingerprint:
                raise idempotency_mismatch(key)
            return HttpResponse(record.status, record.body, {"Idempotency-Key": key, "Idempotent-Replayed": "true"})

    def _execute_create(self, params: FormParams, key: str | None, fingerprint: str | None) -> HttpResponse:
        # Invalid parameters raise before anything is stored, so, as at Stripe, they are not replayed.
        created = create_payment_intent(params, now=int(time.time()))
        record = None if fingerprint is None else IdempotencyRecord(fingerprint, created.status, created.body)
        self._store.add_intent(created.intent, key, record)
        headers = {} if key is None else {"Idempotency-Key": key}
        return HttpResponse(created.status, created.body, headers)

    def _execute_refund(self, params: FormParams, key: str | None, fingerprint: str | None) -> HttpResponse:
        intent_id = refunded_intent_id(params)
        now = int(time.time())
        # Refusals (nothing captured, more than the remainder) raise before anything is stored, so,
        # as for invalid parameters, they are not replayed: a retry is judged on the state it finds.
        refund = self._store.add_refund(
            intent_id,
            lambda intent, refunded: create_refund(params, intent, refunded, now=now),
            key,
            None if fingerprint is None else lambda created: IdempotencyRecord(fingerprint, 200, created),
        )
        if refund is None:
            raise resource_missing("payment_intent", intent_id, param="payment_intent")
        return HttpResponse(200, refund, {} if key is None else {"Idempotency-Key": key})

    def _list_intents(self, params: FormParams) -> dict[str, object]:
        _refuse_unknown(params, set())
        return _page(self._store.intents(), params, _INTENTS_PATH, "payment_intent")

    def _list_refunds(self, params: FormParams) -> dict[str, object]:
        _refuse_unknown(params, {"payment_intent"})
        refunds = self._store.refunds()
        intent_id = params.get("payment_intent")
        if intent_id is not None:
            refunds = [refund for refund in refunds if refund["payment_intent"] == intent_id]
        return _page(refunds, params, _REFUNDS_PATH, "refund")


def _refuse_unknown(params: FormParams, filters: set[str]) -> None:
    unknown = sorted(set(params) - {"limit", "starting_after", "ending_before", *filters})
    if unknown:
        raise invalid_request(f"Received unknown parameter: {unknown[0]}", param=unknown[0], code="parameter_unknown")


def _page(objects: list[dict[str, object]], params: FormParams, url: str, kind: str) -> dict[str, object]:
    """One page of a newest-first list, by Stripe's `limit`, `starting_after` and `ending_before`."""
    limit = _limit(params.get("limit"))
    ids = [str(found["id"]) for found in objects]
    starting_after, ending_before = params.get("starting_after"), params.get("ending_before")
    if starting_after is not None and ending_before is not None:
        raise invalid_request("You may only specify one of these parameters: ending_before, starting_after.")
    if ending_before is not None:
        end = _cursor_index(ids, ending_before, "ending_before", kind)
        page, has_more = objects[max(0, end - limit) : end], end - limit > 0
    else:
        start = 0 if starting_after is None else _cursor_index(ids, starting_after, "starting_after", kind) + 1
        page, has_more = objects[start : start + limit], start + limit < len(objects)
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def _object_id(path: str, collection: str) -> str | None:
    """The id in `<collection>/<id>`, or None when the path is not one object of the collection."""
    object_id = path.removeprefix(f"{collection}/")
    return object_id if object_id and object_id != path and "/" not in object_id else None


def _query_params(query: str) -> FormParams:
    return decode_pairs(parse_qsl(query, keep_blank_values=True))


def _limit(raw: object) -> int:
    if raw is None:
        return _DEFAULT_PAGE_SIZE
    if not isinstance(raw, str) or not raw.isdecimal() or not 1 <= int(raw) <= _MAX_PAGE_SIZE:
        raise invalid_request(f"Invalid limit: must be an integer between 1 and {_MAX_PAGE_SIZE}.", param="limit")
    return int(raw)


def _cursor_index(ids: list[str], cursor: object, param: str, kind: str) -> int:
    if not isinstance(cursor, str) or cursor not in ids:
        raise resource_missing(kind, str(cursor), param=param)
    return ids.index(cursor)


def _mask(key: str) -> str:
    return "****" + (key[-4:] if len(key) > 8 else "")

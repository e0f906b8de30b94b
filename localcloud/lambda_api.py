"""The Lambda API on the emulator's endpoint: Invoke, ListFunctions, GetFunction and GetFunctionConfiguration.

Invocations run in the warm workers of the Lambda runtime. The answers have the shapes botocore reads from
Lambda's REST-JSON protocol: an error is its code in the `x-amzn-ErrorType` header and `{"Type": "User",
"message": ...}` as body; a function's own failure is a 200 with `X-Amz-Function-Error: Unhandled` and the
error payload as body. `Event` invocations are retried as Lambda retries them (twice by default, one and
then two minutes apart), and their outcome goes to the destinations and the dead-letter queue the template
configures.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.emulator import emulator_session
from localcloud.function_logs import FunctionLogs, log_group_name
from localcloud.runtime import THROTTLED_ERROR_TYPE, LambdaRuntime, RuntimeClosedError
from localcloud.spec import FunctionSpec, Invocation, StackSpec

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

_log = logging.getLogger(__name__)

FUNCTIONS_PATH: Final = "/2015-03-31/functions"
# Lambda's quotas: the request of a synchronous and of an asynchronous invocation, and the response.
SYNC_PAYLOAD_LIMIT: Final = 6_291_456
ASYNC_PAYLOAD_LIMIT: Final = 262_144
RESPONSE_PAYLOAD_LIMIT: Final = 6_291_556
LOG_TAIL_BYTES: Final = 4096
# Lambda waits one minute before the first retry of a failed `Event` invocation and two before the second.
LAMBDA_RETRY_DELAYS_S: Final = (60.0, 120.0)
LATEST: Final = "$LATEST"
_INVOCATION_TYPES: Final = ("RequestResponse", "Event", "DryRun")
_LIST_PAGE_DEFAULT: Final = 50
_LIST_PAGE_MAX: Final = 10_000
_DEAD_LETTER_MESSAGE_BYTES: Final = 1024
_ASYNC_WORKERS: Final = 4


class LambdaApiError(Exception):
    """An answer of the Lambda service itself (not of the function): a status, an error code and a message."""

    def __init__(self, status: int, code: str, message: str, **members: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.members = members


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


_STATUS_TEXT: Final = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
}


def _not_found(arn: str) -> LambdaApiError:
    return LambdaApiError(404, "ResourceNotFoundException", f"Function not found: {arn}")


def _json_answer(status: int, document: object, headers: Iterable[tuple[str, str]] = ()) -> _Answer:
    return _Answer(status, (("Content-Type", "application/json"), *headers), json.dumps(document).encode())


def _code_digest(code_dir: Path) -> tuple[str, int]:
    """CodeSha256 (base64, as Lambda gives it) and CodeSize of the code as it is now."""
    digest = hashlib.sha256()
    size = 0
    for path in sorted(code_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            content = path.read_bytes()
            digest.update(str(path.relative_to(code_dir)).encode() + b"\0" + content)
            size += len(content)
    return base64.b64encode(digest.digest()).decode(), size


def _error_payload(invocation: Invocation) -> dict[str, object]:
    error = invocation.error
    assert error is not None
    payload: dict[str, object] = {"errorMessage": error.error_message, "errorType": error.error_type}
    # Lambda's own failures (a timeout, a runtime that exited) carry no trace; the handler's do.
    if not (invocation.timed_out or invocation.crashed):
        payload["requestId"] = invocation.request_id
        payload["stackTrace"] = list(error.stack_trace)
    return payload


def _payload_bytes(invocation: Invocation) -> bytes:
    if isinstance(invocation.payload, bytes):
        return invocation.payload
    return json.dumps(invocation.payload, ensure_ascii=False).encode()


def invocation_payload(invocation: Invocation) -> tuple[bytes, bool]:
    """What Invoke answers for an invocation: the payload, or the error payload; and whether it is one."""
    if invocation.failed:
        return json.dumps(_error_payload(invocation)).encode(), True
    return _payload_bytes(invocation), False


class LambdaApi:
    """A WSGI application for the Lambda API paths of one stack's functions."""

    def __init__(
        self,
        stack: StackSpec,
        runtime: LambdaRuntime,
        logs: FunctionLogs,
        *,
        stack_name: str,
        endpoint_url: str,
        retry_delays_s: tuple[float, ...] = LAMBDA_RETRY_DELAYS_S,
    ) -> None:
        if not retry_delays_s or any(delay < 0 for delay in retry_delays_s):
            raise ValueError(f"retry delays must be one or more non-negative seconds, not {retry_delays_s}")
        self._stack = stack
        self._stack_name = stack_name
        self._runtime = runtime
        self._logs = logs
        self._functions = {function.function_name: function for function in stack.functions.values()}
        self._by_arn = {function.arn: function for function in stack.functions.values()}
        self._last_modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        destinations = _Destinations(endpoint_url, stack.region, self._by_arn, self.invoke_event)
        self._events = _EventInvocations(runtime, destinations, retry_delays_s)

    def handles(self, method: str, path: str) -> bool:
        """Whether the request is an operation this API answers (others go to moto)."""
        return self._operation(method, path) is not None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        """Serve one request that `handles` accepted."""
        method = str(environ.get("REQUEST_METHOD", ""))
        path = str(environ.get("PATH_INFO", ""))
        query = {key: values[-1] for key, values in parse_qs(str(environ.get("QUERY_STRING", ""))).items()}
        operation = self._operation(method, path)
        assert operation is not None
        name, action = operation
        try:
            answer = action(environ, name, query)
        except LambdaApiError as error:
            body = {"Type": "User", "message": error.message, **error.members}
            answer = _json_answer(error.status, body, (("x-amzn-ErrorType", error.code),))
        headers = [*answer.headers, ("Content-Length", str(len(answer.body)))]
        if not any(header.lower() == "x-amzn-requestid" for header, _ in headers):
            headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
        start_response(f"{answer.status} {_STATUS_TEXT.get(answer.status, '')}".rstrip(), headers)
        return [answer.body]

    def invoke_event(self, function: FunctionSpec, event: object) -> str:
        """Queue an asynchronous invocation, as a destination or an `Event` call does; its request id."""
        request_id = str(uuid.uuid4())
        self._events.submit(function, event, request_id)
        return request_id

    def close(self) -> None:
        """Drop the queued and scheduled `Event` invocations; those running finish on their own."""
        self._events.close()

    # Routing.

    def _operation(
        self, method: str, path: str
    ) -> tuple[str, Callable[[WSGIEnvironment, str, Mapping[str, str]], _Answer]] | None:
        if path != FUNCTIONS_PATH and not path.startswith(f"{FUNCTIONS_PATH}/"):
            return None
        parts = path.removeprefix(FUNCTIONS_PATH).strip("/").split("/")
        if method == "GET" and parts == [""]:
            return "", self._list_functions
        if method == "GET" and len(parts) == 1:
            return parts[0], self._get_function
        if method == "GET" and len(parts) == 2 and parts[1] == "configuration":
            return parts[0], self._get_function_configuration
        if method == "POST" and len(parts) == 2 and parts[1] == "invocations":
            return parts[0], self._invoke
        return None

    def _function(self, given: str, query: Mapping[str, str]) -> FunctionSpec:
        """The function a FunctionName names (a name, an ARN or a partial ARN, maybe with a qualifier)."""
        region, account = self._stack.region, self._stack.account_id
        parts = given.split(":")
        if given.startswith("arn:") and len(parts) in (7, 8) and parts[2:6] == ["lambda", region, account, "function"]:
            name, derived = parts[6], parts[7] if len(parts) == 8 else None
        elif len(parts) in (3, 4) and parts[:2] == [account, "function"]:
            name, derived = parts[2], parts[3] if len(parts) == 4 else None
        elif len(parts) in (1, 2) and not given.startswith("arn:"):
            name, derived = parts[0], parts[1] if len(parts) == 2 else None
        else:
            raise _not_found(given)
        function = self._functions.get(name)
        if function is None:
            raise _not_found(f"arn:aws:lambda:{region}:{account}:function:{name}")
        qualifier = query.get("Qualifier")
        if derived is not None and qualifier is not None and derived != qualifier:
            raise LambdaApiError(
                400,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            )
        qualifier = qualifier or derived
        if qualifier not in (None, LATEST, function.alias):
            raise _not_found(f"{function.arn}:{qualifier}")
        return function

    # Operations.

    def _list_functions(self, environ: WSGIEnvironment, name: str, query: Mapping[str, str]) -> _Answer:
        text = query.get("MaxItems", str(_LIST_PAGE_DEFAULT))
        if not text.isdigit() or not 1 <= int(text) <= _LIST_PAGE_MAX:
            raise LambdaApiError(
                400, "InvalidParameterValueException", f"MaxItems must be between 1 and {_LIST_PAGE_MAX}, not {text}"
            )
        marker = query.get("Marker", "")
        names = [function_name for function_name in sorted(self._functions) if function_name > marker]
        page, rest = names[: int(text)], names[int(text) :]
        document: dict[str, object] = {"Functions": [self._configuration(self._functions[n]) for n in page]}
        if rest:
            document["NextMarker"] = page[-1]
        return _json_answer(200, document)

    def _get_function(self, environ: WSGIEnvironment, name: str, query: Mapping[str, str]) -> _Answer:
        function = self._function(name, query)
        document: dict[str, object] = {
            "Configuration": self._configuration(function),
            # Where the code is: a local folder, not an S3 download link.
            "Code": {"RepositoryType": "S3", "Location": function.code_dir.as_uri()},
            "Tags": {
                "aws:cloudformation:logical-id": function.logical_id,
                "aws:cloudformation:stack-name": self._stack_name,
                "lambda:createdBy": "SAM",
            },
        }
        if function.reserved_concurrency is not None:
            document["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
        return _json_answer(200, document)

    def _get_function_configuration(self, environ: WSGIEnvironment, name: str, query: Mapping[str, str]) -> _Answer:
        return _json_answer(200, self._configuration(self._function(name, query)))

    def _configuration(self, function: FunctionSpec) -> dict[str, object]:
        sha256, size = _code_digest(function.code_dir)
        partition = function.arn.split(":")[1]
        configuration: dict[str, object] = {
            "FunctionName": function.function_name,
            "FunctionArn": function.arn,
            "Runtime": function.runtime,
            "Role": f"arn:{partition}:iam::{self._stack.account_id}:role/{self._stack_name}-{function.logical_id}Role",
            "Handler": function.handler,
            "CodeSize": size,
            "CodeSha256": sha256,
            "Description": function.description,
            "Timeout": function.timeout_s,
            "MemorySize": function.memory_mb,
            "LastModified": self._last_modified,
            "Version": LATEST,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": log_group_name(function)},
        }
        if function.environment:
            configuration["Environment"] = {"Variables": dict(function.environment)}
        return configuration

    def _invoke(self, environ: WSGIEnvironment, name: str, query: Mapping[str, str]) -> _Answer:
        function = self._function(name, query)
        invocation_type = str(environ.get("HTTP_X_AMZ_INVOCATION_TYPE") or "RequestResponse")
        if invocation_type not in _INVOCATION_TYPES:
            raise LambdaApiError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(_INVOCATION_TYPES)}]",
            )
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        event = _read_event(environ, limit)
        version = (("X-Amz-Executed-Version", LATEST),)
        if invocation_type == "DryRun":
            return _Answer(204, version)
        if invocation_type == "Event":
            request_id = self.invoke_event(function, event)
            return _Answer(202, (*version, ("x-amzn-RequestId", request_id)))
        request_id = str(uuid.uuid4())
        try:
            invocation = self._runtime.invoke(function.logical_id, event, request_id=request_id)
        except RuntimeClosedError as error:
            raise LambdaApiError(429, "TooManyRequestsException", "The local cloud is stopping.") from error
        if invocation.error is not None and invocation.error.error_type == THROTTLED_ERROR_TYPE:
            raise LambdaApiError(
                429, THROTTLED_ERROR_TYPE, "Rate Exceeded.", Reason="ReservedFunctionConcurrentInvocationLimitExceeded"
            )
        headers = [("Content-Type", "application/json"), *version, ("x-amzn-RequestId", request_id)]
        payload, failed = invocation_payload(invocation)
        if failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        elif len(payload) > RESPONSE_PAYLOAD_LIMIT:
            payload = json.dumps(
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                    f"({RESPONSE_PAYLOAD_LIMIT} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
            ).encode()
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        if str(environ.get("HTTP_X_AMZ_LOG_TYPE", "None")) == "Tail":
            headers.append(("X-Amz-Log-Result", self._log_tail(function, request_id)))
        return _Answer(200, tuple(headers), payload)

    def _log_tail(self, function: FunctionSpec, request_id: str) -> str:
        text = "".join(f"{line.message}\n" for line in self._logs.recent(function.logical_id, request_id=request_id))
        return base64.b64encode(text.encode()[-LOG_TAIL_BYTES:]).decode()


def _read_event(environ: WSGIEnvironment, limit: int) -> object:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise LambdaApiError(
            413, "RequestTooLargeException", f"Request must be smaller than {limit} bytes for the Invoke operation"
        )
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    # Lambda hands a function that was invoked without a payload an empty object.
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise LambdaApiError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        ) from error


def _utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Destinations:
    """Sends the outcome of an `Event` invocation where the function's template says: SQS, SNS or Lambda."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        functions_by_arn: Mapping[str, FunctionSpec],
        invoke_event: Callable[[FunctionSpec, object], str],
    ) -> None:
        self._functions_by_arn = functions_by_arn
        self._invoke_event = invoke_event
        self._endpoint_url = endpoint_url
        self._region = region
        self._made: tuple[SQSClient, SNSClient] | None = None
        self._lock = threading.Lock()

    def record(self, function: FunctionSpec, target: str, record: Mapping[str, object]) -> None:
        """An invocation record, as Lambda sends it to an OnSuccess or OnFailure destination."""
        self._send(function, target, record, {})

    def dead_letter(self, function: FunctionSpec, target: str, event: object, invocation: Invocation) -> None:
        """The event itself, with the request id and the error in message attributes, as Lambda sends it to a DLQ."""
        message = invocation.failure_summary().encode()[:_DEAD_LETTER_MESSAGE_BYTES].decode(errors="ignore")
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": invocation.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": message},
        }
        self._send(function, target, event, attributes)

    def _send(self, function: FunctionSpec, target: str, message: object, attributes: Mapping[str, Any]) -> None:
        parts = target.split(":")
        service = parts[2] if len(parts) >= 6 else ""
        destination = self._functions_by_arn.get(target.removesuffix(f":{LATEST}"))
        try:
            if service == "sqs":
                sqs = self._clients()[0]
                url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message), MessageAttributes=dict(attributes))
            elif service == "sns":
                self._clients()[1].publish(
                    TopicArn=target, Message=json.dumps(message), MessageAttributes=dict(attributes)
                )
            elif destination is not None:
                self._invoke_event(destination, message)
            else:
                _log.warning("%s: %s is no queue, topic or function of this stack", function.logical_id, target)
        except (BotoCoreError, ClientError) as error:
            _log.warning("%s: could not send to %s: %s", function.logical_id, target, error)

    def _clients(self) -> tuple[SQSClient, SNSClient]:
        # Made at the first delivery: a stack whose functions have no destination never pays for them.
        with self._lock:
            if self._made is None:
                session = emulator_session(self._region)
                self._made = (
                    session.client("sqs", endpoint_url=self._endpoint_url),
                    session.client("sns", endpoint_url=self._endpoint_url),
                )
            return self._made


@dataclass(frozen=True)
class _Event:
    function: FunctionSpec
    event: object
    request_id: str
    # When it was accepted (monotonic): MaximumEventAgeInSeconds counts from there.
    queued_s: float


class _EventInvocations:
    """Runs `Event` invocations in the background, retrying failures as Lambda does."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        destinations: _Destinations,
        retry_delays_s: tuple[float, ...],
    ) -> None:
        self._runtime = runtime
        self._destinations = destinations
        self._retry_delays_s = retry_delays_s
        self._executor = ThreadPoolExecutor(max_workers=_ASYNC_WORKERS, thread_name_prefix="lambda-event")
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, function: FunctionSpec, event: object, request_id: str) -> None:
        with self._lock:
            if not self._closed:
                self._executor.submit(self._attempt, _Event(function, event, request_id, time.monotonic()), 1)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _attempt(self, queued: _Event, attempt: int) -> None:
        function, event = queued.function, queued.event
        try:
            invocation = self._runtime.invoke(function.logical_id, event, request_id=queued.request_id)
        except RuntimeClosedError:
            return
        config = function.async_invoke
        if not invocation.failed:
            if config.on_success is not None:
                self._destinations.record(
                    function, config.on_success, _invocation_record(function, event, invocation, "Success", attempt)
                )
            return
        if attempt <= config.maximum_retry_attempts:
            delay = self._retry_delays_s[min(attempt, len(self._retry_delays_s)) - 1]
            if time.monotonic() - queued.queued_s + delay <= config.maximum_event_age_s:
                self._schedule(delay, queued, attempt + 1)
                return
            condition = "EventAgeExceeded"
        else:
            condition = "RetriesExhausted"
        _log.warning(
            "%s: event %s failed %d time(s) (%s): %s",
            function.logical_id,
            queued.request_id,
            attempt,
            condition,
            invocation.failure_summary(),
        )
        if config.on_failure is not None:
            self._destinations.record(
                function, config.on_failure, _invocation_record(function, event, invocation, condition, attempt)
            )
        if config.dead_letter_target is not None:
            self._destinations.dead_letter(function, config.dead_letter_target, event, invocation)

    def _schedule(self, delay_s: float, queued: _Event, attempt: int) -> None:
        def run() -> None:
            with self._lock:
                self._timers.discard(timer)
                if self._closed:
                    return
                self._executor.submit(self._attempt, queued, attempt)

        timer = threading.Timer(delay_s, run)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()


def _invocation_record(
    function: FunctionSpec, event: object, invocation: Invocation, condition: str, attempts: int
) -> dict[str, object]:
    response_context: dict[str, object] = {"statusCode": 200, "executedVersion": LATEST}
    if invocation.failed:
        response_context["functionError"] = "Unhandled"
        response_payload: object = _error_payload(invocation)
    else:
        response_payload = invocation.payload if not isinstance(invocation.payload, bytes) else None
    return {
        "version": "1.0",
        "timestamp": _utc_timestamp(),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{function.arn}:{LATEST}",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": response_context,
        "responsePayload": response_payload,
    }

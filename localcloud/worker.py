"""The bootstrap inside a worker process: imports one handler, then runs the invocations the parent sends.

It plays the part of Lambda's runtime interface client (awslambdaric): same context object, same error
payloads, same root-logger format. The parent starts it as a script with `python -I`, so the function sees
none of localcloud on its `sys.path`; hence this module imports only the standard library.

Command line: `worker.py CHANNEL_FD MARKER HANDLER SEARCH_PATH...`, where the search path is the code
directory then each layer directory, put in front of the interpreter's own path.

The parent and the worker talk over the socket CHANNEL_FD in frames: a 4-byte big-endian length, then a
JSON header line and a body. The worker first sends the outcome of the init phase (status `ready`, or
`error` with an error payload as body), then answers each invocation frame (header: request id, deadline,
ARN, trace id; body: the event as JSON) with status `ok` (body: the result as JSON), `bytes` (body: the
raw bytes the handler returned) or `error` (body: the error payload). Everything the function prints goes
to stdout/stderr, which the parent reads as the function's log; after each phase the worker writes
MARKER + phase id as a line there, so the parent knows it has read all of that phase's output.
"""

from __future__ import annotations

import decimal
import importlib
import io
import itertools
import json
import logging
import math
import os
import resource
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

_FRAME_LENGTH = struct.Struct("!I")
INIT_PHASE = "init"

type Handler = Callable[[Any, LambdaContext], object]
type ErrorPayload = dict[str, object]


def send_frame(channel: socket.socket, header: Mapping[str, object], body: bytes = b"") -> None:
    """Send one frame: a JSON header and a body."""
    data = json.dumps(header).encode() + b"\n" + body
    channel.sendall(_FRAME_LENGTH.pack(len(data)) + data)


def receive_frame(channel: socket.socket) -> tuple[dict[str, Any], bytes]:
    """Receive one frame; EOFError when the other end has gone."""
    (length,) = _FRAME_LENGTH.unpack(_receive_exactly(channel, _FRAME_LENGTH.size))
    header, _, body = _receive_exactly(channel, length).partition(b"\n")
    decoded: dict[str, Any] = json.loads(header)
    return decoded, body


def _receive_exactly(channel: socket.socket, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        chunk = channel.recv(size - len(received))
        if not chunk:
            raise EOFError("the other end of the channel has gone")
        received += chunk
    return bytes(received)


class CognitoIdentity:
    """`context.identity`: Lambda gives one even without Cognito, with both fields None."""

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The `context` argument of a handler, with the attributes Lambda's Python runtime gives it."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as Lambda's runtime gives it: code doing arithmetic with it must convert it there too.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context: object | None = None
        self.identity = CognitoIdentity()
        self.tenant_id: str | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: object) -> None:
        """Write to the function's log, as Lambda's `context.log` does."""
        sys.stdout.write(str(message))


class _Failure(Exception):
    """A failure of the init phase or of an invocation, carrying the error payload Lambda would report."""

    def __init__(self, payload: ErrorPayload) -> None:
        super().__init__(payload["errorMessage"])
        self.payload = payload


def _runtime_failure(error_type: str, message: str, stack_trace: tuple[str, ...] = ()) -> _Failure:
    """A failure of the runtime rather than of the handler, with one of Lambda's `Runtime.*` error types."""
    return _Failure({"errorType": error_type, "errorMessage": message, "stackTrace": list(stack_trace)})


class _LambdaLogHandler(logging.Handler):
    """The root logger's handler in Lambda: level, UTC time and request id before each message, on stdout."""

    def __init__(self) -> None:
        super().__init__()
        self.request_id = ""
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        record.aws_request_id = self.request_id
        sys.stdout.write(self.format(record) + "\n")


def _load_handler(handler: str) -> Handler:
    module_name, separator, function_name = handler.rpartition(".")
    if not separator or not module_name:
        raise _runtime_failure("Runtime.MalformedHandlerName", f"Bad handler '{handler}': expected module.function")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _runtime_failure(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise _runtime_failure(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from error
    except SyntaxError as error:
        location = f'  File "{error.filename}" Line {error.lineno}\n    {error.text}'
        raise _runtime_failure(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}", (location,)
        ) from error
    try:
        function: Handler = getattr(module, function_name)
    except AttributeError:
        raise _runtime_failure(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None
    return function


def _error_payload(error: BaseException) -> ErrorPayload:
    # Like Lambda, the trace starts at the user's code: the runtime's own frames are left out.
    frames = itertools.dropwhile(lambda frame: frame.filename == __file__, traceback.extract_tb(error.__traceback__))
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_list(list(frames)),
    }


def _log_error(error: ErrorPayload) -> None:
    # Lambda joins the lines of an error with carriage returns so that CloudWatch keeps it as one event.
    description = "[ERROR]"
    if error["errorType"]:
        description += f" {error['errorType']}:"
    description += f" {error['errorMessage']}"
    stack_trace = error["stackTrace"]
    assert isinstance(stack_trace, list)
    lines = [description, "Traceback (most recent call last):"]
    lines += [line for element in stack_trace for line in str(element).splitlines()]
    sys.stdout.write("\r".join(lines) + "\n")


def _encode_decimal(value: object) -> object:
    # Lambda's marshaller writes a Decimal (as DynamoDB returns numbers) as a JSON number.
    if isinstance(value, decimal.Decimal):
        return math.nan if value.is_nan() else json.loads(str(value))
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _marshal(result: object) -> tuple[str, bytes]:
    if isinstance(result, bytes):
        return "bytes", result
    try:
        return "ok", json.dumps(result, default=_encode_decimal, ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError) as error:
        raise _runtime_failure("Runtime.MarshalError", f"Unable to marshal response: {error}") from error


def _invoke(
    handler: Handler, header: Mapping[str, Any], body: bytes, log_handler: _LambdaLogHandler
) -> tuple[str, bytes]:
    log_handler.request_id = header["request_id"]
    os.environ["_X_AMZN_TRACE_ID"] = header["trace_id"]
    context = LambdaContext(header["request_id"], header["deadline_ms"], header["invoked_function_arn"])
    try:
        return _marshal(handler(json.loads(body), context))
    except _Failure as failure:
        error = failure.payload
    except Exception as exception:  # The edge of user code: whatever the handler raises is the invocation's error.
        error = _error_payload(exception)
    _log_error(error)
    return "error", json.dumps(error).encode()


def _end_phase(marker: str, phase: str) -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    os.write(1, f"{marker}{phase}\n".encode())


def _max_memory_used_mb() -> int:
    # ru_maxrss is in kilobytes on Linux.
    return math.ceil(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _line_buffered(stream: object) -> None:
    # A pipe makes stdout block-buffered; the parent shows the function's output live, line by line.
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(line_buffering=True)


def _initialise(handler_name: str, log_handler: _LambdaLogHandler) -> Handler:
    _line_buffered(sys.stdout)
    _line_buffered(sys.stderr)
    logging.getLogger().addHandler(log_handler)
    try:
        return _load_handler(handler_name)
    except _Failure:
        raise
    except Exception as exception:  # The edge of user code: whatever the module raises on import fails the init.
        raise _Failure(_error_payload(exception)) from exception


def main(argv: list[str]) -> int:
    """Initialise the function, then serve invocations until the parent closes the channel."""
    channel_fd, marker, handler_name, *search_path = argv[1:]
    channel = socket.socket(fileno=int(channel_fd))
    # The function's own subprocesses must not hold the channel open after the worker dies.
    channel.set_inheritable(False)
    sys.path[:0] = search_path
    log_handler = _LambdaLogHandler()
    try:
        handler = _initialise(handler_name, log_handler)
    except _Failure as failure:
        _log_error(failure.payload)
        _end_phase(marker, INIT_PHASE)
        send_frame(channel, {"status": "error"}, json.dumps(failure.payload).encode())
        return 1
    _end_phase(marker, INIT_PHASE)
    send_frame(channel, {"status": "ready"})
    while True:
        try:
            header, body = receive_frame(channel)
        except EOFError:
            return 0
        status, result = _invoke(handler, header, body, log_handler)
        _end_phase(marker, header["request_id"])
        send_frame(channel, {"status": status, "max_memory_used_mb": _max_memory_used_mb()}, result)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

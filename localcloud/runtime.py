"""The Lambda runtime: runs functions in pools of warm worker processes, like Lambda's execution environments.

Each worker is a Python process that imports the function's handler once (the cold start) and then
serves one invocation at a time for as long as it stays healthy (warm starts). A function gets a new
worker only when all of its workers are busy, up to its reserved concurrency (or the runtime's default).
Beyond that, callers wait in line for a worker to become free, where Lambda would throttle a synchronous
call: locally a burst should slow down rather than fail, and the queue keeps the machine's load bounded.
A reserved concurrency of 0 throttles every invocation, as Lambda does.

A worker that times out is killed and a worker that dies is dropped; either way the next invocation
starts a new one, and no other invocation is affected.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

from localcloud.function_logs import FunctionLogs, log_group_name
from localcloud.spec import INIT_LIMIT_S, FunctionError, FunctionSpec, Invocation
from localcloud.worker import INIT_PHASE, receive_frame, send_frame

_log = logging.getLogger(__name__)

_WORKER_SCRIPT = Path(__file__).with_name("worker.py")
# How long to wait for the last lines of a worker's output once it has answered or died.
_OUTPUT_DRAIN_S = 5.0
_RECENT_DURATIONS = 1000
_CODE_POLL_INTERVAL_S = 1.0
# Where Lambda's Python runtime says its runtime API is; nothing listens there locally.
_RUNTIME_API_PLACEHOLDER = "127.0.0.1:9001"
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# The error of an invocation refused for want of concurrency: no worker ran it.
THROTTLED_ERROR_TYPE = "TooManyRequestsException"


class RuntimeClosedError(RuntimeError):
    """The runtime was closed: it runs no more invocations."""


@dataclass(frozen=True)
class FunctionStats:
    """What one function has done since the runtime started."""

    invocations: int
    # Invocations that ended in an error, a timeout or a crash.
    errors: int
    cold_starts: int
    # Durations of the most recent invocations, oldest first.
    recent_durations_ms: tuple[float, ...]


type _ReplyStatus = Literal["ready", "ok", "bytes", "error", "timeout", "exited"]


@dataclass(frozen=True)
class _Reply:
    status: _ReplyStatus
    body: bytes = b""
    max_memory_used_mb: int | None = None


def _utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_trace_id() -> str:
    # Not sampled, so an X-Ray SDK in the function records nothing and sends nothing.
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _lambda_environment(
    function: FunctionSpec, *, region: str, endpoint_url: str | None, log_stream_name: str
) -> dict[str, str]:
    environment = dict(function.environment)
    environment.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(function),
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
            "AWS_LAMBDA_RUNTIME_API": _RUNTIME_API_PLACEHOLDER,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            # As Lambda sets them for the X-Ray SDK; nothing listens there, and unsampled traces send nothing.
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", _DEFAULT_PATH),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
        }
    )
    if endpoint_url is not None:
        environment["AWS_ENDPOINT_URL"] = endpoint_url
    # An interpreter built with a shared libpython may need it to start at all.
    if "LD_LIBRARY_PATH" in os.environ:
        environment["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    return environment


def _exit_error_message(request_id: str, returncode: int) -> str:
    # Worded as Lambda's runtime supervisor words it.
    if returncode == 0:
        reason = "Runtime exited without providing a reason"
    elif returncode < 0:
        reason = f"Runtime exited with error: signal: {(signal.strsignal(-returncode) or str(-returncode)).lower()}"
    else:
        reason = f"Runtime exited with error: exit status {returncode}"
    return f"RequestId: {request_id} Error: {reason}"


class _Worker:
    """One execution environment: a process with the handler imported, its log stream and its output reader."""

    def __init__(
        self, function: FunctionSpec, *, region: str, endpoint_url: str | None, output: FunctionLogs, generation: int
    ) -> None:
        self.function = function
        self.generation = generation
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        # The invocation the output being read belongs to; None during the init phase.
        self.request_id: str | None = None
        self._output = output
        self._marker = f"\x1elocalcloud-phase-end:{secrets.token_hex(8)}:"
        self._phase_ends: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._kill_lock = threading.Lock()
        self._killed = False
        parent_end, worker_end = socket.socketpair()
        command = [
            sys.executable,
            "-I",
            str(_WORKER_SCRIPT),
            str(worker_end.fileno()),
            self._marker,
            function.handler,
            str(function.code_dir),
            *map(str, function.layer_dirs),
        ]
        environment = _lambda_environment(
            function, region=region, endpoint_url=endpoint_url, log_stream_name=self.log_stream_name
        )
        try:
            with worker_end:
                # A session of its own: Ctrl-C in the terminal reaches the parent only, and a kill reaches
                # whatever the function started too.
                self.process = subprocess.Popen(
                    command,
                    env=environment,
                    cwd=function.code_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=(worker_end.fileno(),),
                    start_new_session=True,
                )
        except OSError:
            parent_end.close()
            raise
        self.channel = parent_end
        self._reader = threading.Thread(
            target=self._read_output, name=f"output-{function.logical_id}-{self.process.pid}", daemon=True
        )
        self._reader.start()

    def await_init(self, limit_s: float) -> _Reply:
        """The outcome of the init phase: `ready` or `error` (body: error payload), `timeout` or `exited`."""
        return self._receive(INIT_PHASE, time.monotonic() + limit_s)

    def exchange(self, header: Mapping[str, object], event: bytes, timeout_s: float) -> _Reply:
        """Send one invocation and wait for its outcome, at most timeout_s."""
        deadline = time.monotonic() + timeout_s
        try:
            self.channel.settimeout(timeout_s)
            send_frame(self.channel, header, event)
        except TimeoutError:
            return _Reply("timeout")
        except OSError:
            return _Reply("exited")
        return self._receive(str(header["request_id"]), deadline)

    def _receive(self, phase: str, deadline: float) -> _Reply:
        try:
            # A zero timeout would make the socket non-blocking rather than wait.
            self.channel.settimeout(max(deadline - time.monotonic(), 0.001))
            header, body = receive_frame(self.channel)
        except TimeoutError:
            return _Reply("timeout")
        except (EOFError, OSError):
            return _Reply("exited")
        self._await_phase_end(phase)
        return _Reply(header["status"], body, header.get("max_memory_used_mb"))

    def _await_phase_end(self, phase: str) -> None:
        deadline = time.monotonic() + _OUTPUT_DRAIN_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                if self._phase_ends.get(timeout=remaining) == phase:
                    return
            except queue.Empty:
                return

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for raw_line in self.process.stdout:
            line = raw_line.decode(errors="replace").removesuffix("\n")
            text, marker, phase = line.partition(self._marker)
            # The marker may follow output that did not end its line.
            if text or not marker:
                self._output.write(self.function, self.log_stream_name, self.request_id, text)
            if marker:
                self._phase_ends.put(phase)

    def exit_status(self) -> int:
        """The process's return code, once its channel has closed."""
        try:
            return self.process.wait(_OUTPUT_DRAIN_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.wait()

    def kill(self) -> None:
        """Kill the process and whatever it started, and wait for its last output; idempotent."""
        with self._kill_lock:
            if self._killed:
                return
            self._killed = True
            # The whole group: whatever the function started dies with it and lets go of its output pipe.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._reader.join(_OUTPUT_DRAIN_S)
        self.channel.close()
        if not self._reader.is_alive() and self.process.stdout is not None:
            self.process.stdout.close()


class _FunctionPool:
    """The workers of one function: warm ones reused, new ones started up to the concurrency limit."""

    def __init__(
        self,
        function: FunctionSpec,
        *,
        concurrency: int,
        region: str,
        endpoint_url: str | None,
        output: FunctionLogs,
    ) -> None:
        self._function = function
        self._concurrency = concurrency
        self._region = region
        self._endpoint_url = endpoint_url
        self._output = output
        self._condition = threading.Condition()
        # Most recently used last, and reused first.
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._generation = 0
        self._closed = False
        self._invocations = 0
        self._errors = 0
        self._cold_starts = 0
        self._durations: deque[float] = deque(maxlen=_RECENT_DURATIONS)

    def invoke(self, event: bytes, request_id: str) -> Invocation:
        if self._concurrency == 0:
            throttled = FunctionError(THROTTLED_ERROR_TYPE, "Rate Exceeded.")
            return Invocation(request_id, self._function.logical_id, None, throttled, 0.0)
        worker, cold = self._acquire()
        reusable = False
        try:
            init_duration_ms = None
            if cold:
                init_duration_ms, failure = self._initialise(worker, request_id)
                if failure is not None:
                    self._record(failure)
                    return failure
            invocation, reusable = self._run(worker, request_id, event, init_duration_ms)
        finally:
            self._release(worker, reusable=reusable)
        self._record(invocation)
        return invocation

    def stats(self) -> FunctionStats:
        with self._condition:
            return FunctionStats(self._invocations, self._errors, self._cold_starts, tuple(self._durations))

    def busy_worker_pids(self) -> list[int]:
        with self._condition:
            idle = set(self._idle)
            return [worker.process.pid for worker in self._workers if worker not in idle]

    def recycle(self) -> None:
        """Replace every worker: idle ones now, busy ones when their invocation ends."""
        with self._condition:
            self._generation += 1
            retired, self._idle = self._idle, []
            self._workers.difference_update(retired)
            self._condition.notify_all()
        for worker in retired:
            worker.kill()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            workers, self._idle = list(self._workers), []
            self._workers.clear()
            self._condition.notify_all()
        for worker in workers:
            worker.kill()

    def _acquire(self) -> tuple[_Worker, bool]:
        with self._condition:
            while True:
                if self._closed:
                    raise RuntimeClosedError("the Lambda runtime is closed")
                if self._idle:
                    return self._idle.pop(), False
                if len(self._workers) + self._starting < self._concurrency:
                    self._starting += 1
                    generation = self._generation
                    break
                self._condition.wait()
        try:
            worker = _Worker(
                self._function,
                region=self._region,
                endpoint_url=self._endpoint_url,
                output=self._output,
                generation=generation,
            )
        except BaseException:
            with self._condition:
                self._starting -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._starting -= 1
            closed = self._closed
            if not closed:
                self._workers.add(worker)
                self._cold_starts += 1
        if closed:
            worker.kill()
            raise RuntimeClosedError("the Lambda runtime is closed")
        return worker, True

    def _release(self, worker: _Worker, *, reusable: bool) -> None:
        with self._condition:
            keep = reusable and not self._closed and worker.generation == self._generation
            if keep:
                self._idle.append(worker)
            else:
                self._workers.discard(worker)
            self._condition.notify()
        if not keep:
            worker.kill()

    def _initialise(self, worker: _Worker, request_id: str) -> tuple[float, Invocation | None]:
        # The init duration runs from the process start, as Lambda's covers the runtime's start too.
        started = time.perf_counter()
        reply = worker.await_init(INIT_LIMIT_S + self._function.timeout_s)
        init_duration_ms = (time.perf_counter() - started) * 1000
        if reply.status == "ready":
            return init_duration_ms, None
        worker.request_id = request_id
        self._write(worker, request_id, f"START RequestId: {request_id} Version: $LATEST")
        failure = self._outcome(worker, request_id, reply, 0.0, init_duration_ms, init_failed=True)
        return init_duration_ms, failure

    def _run(
        self, worker: _Worker, request_id: str, event: bytes, init_duration_ms: float | None
    ) -> tuple[Invocation, bool]:
        function = self._function
        worker.request_id = request_id
        self._write(worker, request_id, f"START RequestId: {request_id} Version: $LATEST")
        header = {
            "request_id": request_id,
            "deadline_ms": int(time.time() * 1000) + function.timeout_s * 1000,
            "invoked_function_arn": function.arn,
            "trace_id": _new_trace_id(),
        }
        started = time.perf_counter()
        reply = worker.exchange(header, event, function.timeout_s)
        duration_ms = (time.perf_counter() - started) * 1000
        invocation = self._outcome(worker, request_id, reply, duration_ms, init_duration_ms)
        return invocation, reply.status in ("ok", "bytes", "error")

    def _outcome(
        self,
        worker: _Worker,
        request_id: str,
        reply: _Reply,
        duration_ms: float,
        init_duration_ms: float | None,
        *,
        init_failed: bool = False,
    ) -> Invocation:
        """The invocation a reply makes, with Lambda's log lines for it; kills the worker if it is unusable."""
        logical_id = self._function.logical_id
        status_fields: tuple[str, ...] = ()
        if reply.status == "ok":
            invocation = Invocation(request_id, logical_id, json.loads(reply.body), None, duration_ms, init_duration_ms)
        elif reply.status == "bytes":
            invocation = Invocation(request_id, logical_id, reply.body, None, duration_ms, init_duration_ms)
        elif reply.status == "error":
            error = json.loads(reply.body)
            function_error = FunctionError(error["errorType"], error["errorMessage"], tuple(error["stackTrace"]))
            invocation = Invocation(request_id, logical_id, None, function_error, duration_ms, init_duration_ms)
            if init_failed:
                status_fields = ("Status: error", f"Error Type: {function_error.error_type}")
        elif reply.status == "timeout":
            worker.kill()
            seconds = f"{self._function.timeout_s:.2f}"
            self._write(worker, request_id, f"{_utc_now_iso()} {request_id} Task timed out after {seconds} seconds")
            message = f"RequestId: {request_id} Error: Task timed out after {seconds} seconds"
            timed_out = FunctionError("Sandbox.Timedout", message)
            invocation = Invocation(
                request_id, logical_id, None, timed_out, duration_ms, init_duration_ms, timed_out=True
            )
            status_fields = ("Status: timeout",)
        else:
            message = _exit_error_message(request_id, worker.exit_status())
            worker.kill()
            self._write(worker, request_id, message)
            self._write(worker, request_id, "Runtime.ExitError")
            exited = FunctionError("Runtime.ExitError", message)
            invocation = Invocation(request_id, logical_id, None, exited, duration_ms, init_duration_ms, crashed=True)
            status_fields = ("Status: error", "Error Type: Runtime.ExitError")
        self._write(worker, request_id, f"END RequestId: {request_id}")
        self._write(worker, request_id, self._report_line(invocation, reply.max_memory_used_mb, status_fields))
        return invocation

    def _report_line(self, invocation: Invocation, max_memory_used_mb: int | None, status_fields: Iterable[str]) -> str:
        fields = [
            f"REPORT RequestId: {invocation.request_id}",
            f"Duration: {invocation.duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(invocation.duration_ms)} ms",
            f"Memory Size: {self._function.memory_mb} MB",
        ]
        if max_memory_used_mb is not None:
            fields.append(f"Max Memory Used: {max_memory_used_mb} MB")
        if invocation.init_duration_ms is not None:
            fields.append(f"Init Duration: {invocation.init_duration_ms:.2f} ms")
        fields.extend(status_fields)
        return "\t".join(fields)

    def _write(self, worker: _Worker, request_id: str, message: str) -> None:
        self._output.write(self._function, worker.log_stream_name, request_id, message)

    def _record(self, invocation: Invocation) -> None:
        with self._condition:
            self._invocations += 1
            self._errors += invocation.error is not None
            self._durations.append(invocation.duration_ms)


def _python_file_mtimes(directory: Path) -> dict[str, int]:
    mtimes: dict[str, int] = {}
    pending = [str(directory)]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__" and not entry.name.startswith("."):
                        pending.append(entry.path)
                elif entry.name.endswith(".py"):
                    with contextlib.suppress(FileNotFoundError):
                        mtimes[entry.path] = entry.stat().st_mtime_ns
    return mtimes


def _discard_bytecode(source_paths: Iterable[str]) -> None:
    # CPython reuses a .pyc whose recorded source size and mtime in whole seconds still match: without this,
    # an edit of the same size within the second of the previous version would bring the old code back.
    for source_path in source_paths:
        bytecode_path = importlib.util.cache_from_source(source_path)
        try:
            os.remove(bytecode_path)
        except FileNotFoundError:
            continue
        except OSError as error:
            _log.warning(
                "%s may run as it was before its last change: cannot delete %s (%s)",
                source_path,
                bytecode_path,
                error.strerror,
            )


class _CodeWatcher:
    """Polls the Python files of the functions' code and layers; reports the functions whose code changed."""

    def __init__(
        self, functions: Mapping[str, FunctionSpec], on_change: Callable[[Collection[str]], None], interval_s: float
    ) -> None:
        self._directories = {
            logical_id: {function.code_dir, *function.layer_dirs} for logical_id, function in functions.items()
        }
        self._on_change = on_change
        self._interval_s = interval_s
        # The first snapshot is taken before returning, so that a change made right after counts.
        self._snapshots = {
            directory: _python_file_mtimes(directory)
            for directories in self._directories.values()
            for directory in directories
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="code-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            changed = set()
            for directory, snapshot in self._snapshots.items():
                current = _python_file_mtimes(directory)
                if current != snapshot:
                    self._snapshots[directory] = current
                    changed.add(directory)
                    _discard_bytecode(path for path, mtime in current.items() if snapshot.get(path) != mtime)
            if changed:
                self._on_change(
                    [logical_id for logical_id, directories in self._directories.items() if directories & changed]
                )


def _check_function(function: FunctionSpec, *, region: str, account_id: str) -> None:
    if not function.code_dir.is_dir():
        raise ValueError(f"{function.logical_id}: code directory {function.code_dir} does not exist")
    # The handler sees the ARN as context.invoked_function_arn; a wrong one is a wiring mistake upstream.
    parts = function.arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[3] != region or parts[4] != account_id:
        raise ValueError(
            f"{function.logical_id}: ARN {function.arn!r} is not a Lambda function ARN in {region} "
            f"of account {account_id}"
        )


class LambdaRuntime:
    """Runs functions by logical id in pools of warm worker processes; implements `spec.Invoker`."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        endpoint_url: str | None,
        region: str,
        account_id: str,
        output: FunctionLogs,
        default_concurrency: int = 10,
        watch: bool = False,
    ) -> None:
        if default_concurrency < 1:
            raise ValueError(f"default_concurrency must be at least 1, not {default_concurrency}")
        for function in functions.values():
            _check_function(function, region=region, account_id=account_id)
        self._pools = {
            logical_id: _FunctionPool(
                function,
                concurrency=(
                    function.reserved_concurrency if function.reserved_concurrency is not None else default_concurrency
                ),
                region=region,
                endpoint_url=endpoint_url,
                output=output,
            )
            for logical_id, function in functions.items()
        }
        self._close_lock = threading.Lock()
        self._closed = False
        self._watcher = _CodeWatcher(functions, self._reload, _CODE_POLL_INTERVAL_S) if watch else None

    def invoke(self, function_logical_id: str, event: object, *, request_id: str | None = None) -> Invocation:
        """Run the function with the event and wait for the outcome; thread-safe.

        A caller that gives the request id can find the invocation's log lines by it (Lambda keeps one id
        across the retries of an asynchronous invocation).
        """
        pool = self._pool(function_logical_id)
        try:
            encoded = json.dumps(event).encode()
        except (TypeError, ValueError) as error:
            raise ValueError(f"the event for {function_logical_id} is not JSON-serialisable: {error}") from error
        return pool.invoke(encoded, request_id or str(uuid.uuid4()))

    def recycle(self, function_logical_id: str) -> None:
        """Make the function's next invocations start new workers, which import its code afresh."""
        self._pool(function_logical_id).recycle()

    def stats(self) -> dict[str, FunctionStats]:
        """Counters per function logical id."""
        return {logical_id: pool.stats() for logical_id, pool in self._pools.items()}

    def busy_worker_pids(self, function_logical_id: str) -> list[int]:
        """Process ids of the function's workers in an invocation (or its init) now: for crash tests to kill."""
        return self._pool(function_logical_id).busy_worker_pids()

    def close(self) -> None:
        """Kill every worker and stop watching code; idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._watcher is not None:
            self._watcher.stop()
        for pool in self._pools.values():
            pool.close()

    def __enter__(self) -> LambdaRuntime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _pool(self, function_logical_id: str) -> _FunctionPool:
        pool = self._pools.get(function_logical_id)
        if pool is None:
            known = ", ".join(sorted(self._pools)) or "none"
            raise ValueError(f"no function with logical id {function_logical_id!r}; known: {known}")
        return pool

    def _reload(self, function_logical_ids: Collection[str]) -> None:
        for logical_id in function_logical_ids:
            _log.info("%s: code changed; its next invocation starts a new worker", logical_id)
            self._pools[logical_id].recycle()

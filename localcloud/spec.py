"""What localcloud knows about a SAM application once its template is read and resolved.

The template reader (`localcloud.template`) produces a `StackSpec`; the runtime, the API
Gateway emulator and the event sources consume it. Every value here is already resolved:
no intrinsic functions, no parameters, no Globals left to merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol


@dataclass(frozen=True)
class ApiEventSpec:
    """An `Api` event: one route of one REST API that invokes the function."""

    api_logical_id: str
    path: str
    method: str
    authorizer: str | None


@dataclass(frozen=True)
class SqsEventSpec:
    """An `SQS` event source mapping."""

    queue_arn: str
    queue_url: str
    batch_size: int = 10
    maximum_batching_window_s: int = 0
    report_batch_item_failures: bool = False
    enabled: bool = True
    # ScalingConfig.MaximumConcurrency: the most concurrent batches of this mapping (None: no cap of its own).
    maximum_concurrency: int | None = None


@dataclass(frozen=True)
class ScheduleEventSpec:
    """A `Schedule` event: `rate(...)` or `cron(...)`."""

    name: str
    expression: str
    enabled: bool = True
    input: str | None = None


@dataclass(frozen=True)
class AsyncInvokeSpec:
    """How Lambda handles the function's `Event` invocations: EventInvokeConfig and DeadLetterQueue."""

    maximum_retry_attempts: int = 2
    maximum_event_age_s: int = 21600
    # ARNs of SQS queues, SNS topics or Lambda functions.
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_target: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """One `AWS::Serverless::Function`, with Globals merged and intrinsics resolved."""

    logical_id: str
    function_name: str
    arn: str
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    timeout_s: int
    memory_mb: int
    reserved_concurrency: int | None
    api_events: tuple[ApiEventSpec, ...] = ()
    sqs_events: tuple[SqsEventSpec, ...] = ()
    schedule_events: tuple[ScheduleEventSpec, ...] = ()
    # Every name of the template's Environment.Variables, also those whose value resolved to
    # AWS::NoValue here: `sam local` passes a container exactly these.
    declared_variables: frozenset[str] = frozenset()
    # AutoPublishAlias: locally the alias runs the current code, as $LATEST does.
    alias: str | None = None
    async_invoke: AsyncInvokeSpec = AsyncInvokeSpec()
    description: str = ""


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer of a REST API."""

    name: str
    function_logical_id: str
    type: Literal["TOKEN", "REQUEST"]
    # TOKEN: the header that carries the token. REQUEST: API Gateway identity sources such as
    # "method.request.header.Authorization" or "method.request.querystring.token".
    identity_sources: tuple[str, ...]
    ttl_s: int = 300
    validation_expression: str | None = None


@dataclass(frozen=True)
class CorsSpec:
    allow_origin: str
    allow_methods: str | None = None
    allow_headers: str | None = None
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ApiSpec:
    """One REST API (`AWS::Serverless::Api`, or the implicit `ServerlessRestApi`)."""

    logical_id: str
    stage: str
    default_authorizer: str | None
    authorizers: Mapping[str, AuthorizerSpec]
    cors: CorsSpec | None = None
    binary_media_types: tuple[str, ...] = ()
    # SAM's Auth.AddDefaultAuthorizerToCorsPreflight: the CORS preflight (OPTIONS) of every path
    # then needs the default authorizer too, as it does once deployed.
    add_default_authorizer_to_cors_preflight: bool = True


@dataclass(frozen=True)
class StackSpec:
    """Everything localcloud runs for one template."""

    region: str
    account_id: str
    functions: Mapping[str, FunctionSpec]
    apis: Mapping[str, ApiSpec]
    outputs: Mapping[str, str] = field(default_factory=dict)
    # Resource types or properties the template uses that localcloud cannot emulate, one line
    # each, reported once at start.
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionError:
    """A function's failure, shaped like Lambda's error payload."""

    error_type: str
    error_message: str
    stack_trace: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation, successful or not."""

    request_id: str
    function_logical_id: str
    # The handler's JSON-decoded return value; None on error (and for a handler returning None).
    payload: object
    error: FunctionError | None
    duration_ms: float
    # Set on a cold start: how long the worker took to import the handler module.
    init_duration_ms: float | None = None
    timed_out: bool = False
    # The worker process died (os._exit, a segfault, out of memory) during the invocation.
    crashed: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timed_out or self.crashed

    def failure_summary(self) -> str:
        """One line on what went wrong, for a log."""
        if self.timed_out:
            return "timed out"
        if self.crashed:
            return "its worker process crashed"
        error = self.error
        return f"{error.error_type}: {error.error_message}" if error is not None else "no error"


# Lambda gives the init phase 10 s; past that it retries the init within the invocation's own timeout.
INIT_LIMIT_S = 10.0


class Invoker(Protocol):
    """Runs a function by logical id and waits for its outcome. Thread-safe."""

    def invoke(self, function_logical_id: str, event: object) -> Invocation: ...

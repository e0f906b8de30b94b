"""Factories for the StackSpec pieces the gateway and event source tests need."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from localcloud.spec import (
    ApiEventSpec,
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    FunctionSpec,
    ScheduleEventSpec,
    SqsEventSpec,
    StackSpec,
)

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
API_ID = "Api"


def function_spec(
    logical_id: str,
    *,
    api_events: tuple[ApiEventSpec, ...] = (),
    sqs_events: tuple[SqsEventSpec, ...] = (),
    schedule_events: tuple[ScheduleEventSpec, ...] = (),
) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        function_name=f"stack-{logical_id}",
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:stack-{logical_id}",
        handler="app.handler",
        runtime="python3.12",
        code_dir=Path("."),
        layer_dirs=(),
        environment={},
        timeout_s=3,
        memory_mb=128,
        reserved_concurrency=None,
        api_events=api_events,
        sqs_events=sqs_events,
        schedule_events=schedule_events,
    )


def route(path: str, method: str = "GET", authorizer: str | None = None) -> ApiEventSpec:
    return ApiEventSpec(api_logical_id=API_ID, path=path, method=method, authorizer=authorizer)


def api_stack(
    routes: Mapping[str, tuple[ApiEventSpec, ...]],
    *,
    authorizers: Mapping[str, AuthorizerSpec] | None = None,
    default_authorizer: str | None = None,
    cors: CorsSpec | None = None,
    binary_media_types: tuple[str, ...] = (),
    add_default_authorizer_to_cors_preflight: bool = True,
) -> StackSpec:
    """A stack with one REST API (stage Prod) and one function per entry of `routes`."""
    authorizers = authorizers or {}
    functions = {logical_id: function_spec(logical_id, api_events=events) for logical_id, events in routes.items()}
    for authorizer in authorizers.values():
        functions.setdefault(authorizer.function_logical_id, function_spec(authorizer.function_logical_id))
    api = ApiSpec(
        logical_id=API_ID,
        stage="Prod",
        default_authorizer=default_authorizer,
        authorizers=authorizers,
        cors=cors,
        binary_media_types=binary_media_types,
        add_default_authorizer_to_cors_preflight=add_default_authorizer_to_cors_preflight,
    )
    return StackSpec(region=REGION, account_id=ACCOUNT_ID, functions=functions, apis={API_ID: api})


def stack_of(*functions: FunctionSpec) -> StackSpec:
    return StackSpec(
        region=REGION,
        account_id=ACCOUNT_ID,
        functions={function.logical_id: function for function in functions},
        apis={},
    )

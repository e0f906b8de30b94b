"""Lambda authorizers: identity sources, policy evaluation, response validation and the result cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localcloud.authorizers import (
    AUTHORIZER_CONFIGURATION_ERROR,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    UNAUTHORIZED,
    AuthorizerAllowed,
    AuthorizerOutput,
    LambdaAuthorizers,
)
from localcloud.spec import AuthorizerSpec
from tests.localcloud.in_process_invoker import Handler, InProcessInvoker

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/GET/orders/42"


def policy(*statements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"principalId": "user-1", "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)}} | extra


def statement(effect: str = "Allow", resource: Any = "*", action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def request_event(headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "resource": "/orders/{id}",
        "path": "/orders/42",
        "httpMethod": "GET",
        "headers": headers,
        "queryStringParameters": query,
        "pathParameters": {"id": "42"},
        "stageVariables": None,
        "requestContext": {"stage": "Prod", "identity": {"sourceIp": "10.0.0.7"}},
    }


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_authorizers() -> Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]]:
    def make(
        handler: Handler, clock: Callable[[], float] | None = None, **spec_fields: Any
    ) -> tuple[LambdaAuthorizers, InProcessInvoker]:
        fields: dict[str, Any] = {
            "name": "Auth",
            "function_logical_id": "AuthFn",
            "type": "TOKEN",
            "identity_sources": ("Authorization",),
            "ttl_s": 300,
        }
        invoker = InProcessInvoker({"AuthFn": handler})
        specs = {"Auth": AuthorizerSpec(**(fields | spec_fields))}
        return LambdaAuthorizers(specs, invoker, clock=clock or Clock()), invoker

    return make


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        METHOD_ARN,
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/*/orders/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/GET/orders/4?",
        ["arn:aws:execute-api:eu-west-1:123456789012:other/*", "arn:aws:execute-api:*:*:abc123/Prod/GET/*"],
    ],
)
def test_allow_with_a_matching_resource_pattern_allows(resource: Any) -> None:
    # Given
    output = AuthorizerOutput.parse(policy(statement(resource=resource)))

    # When
    verdict = output.evaluate(METHOD_ARN)

    # Then
    assert verdict == "allow"


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/POST/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/GET/orders/4",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/GET/orders/?",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/Dev/*",
    ],
)
def test_allow_with_a_resource_not_covering_the_method_arn_is_an_implicit_deny(resource: str) -> None:
    # Given
    output = AuthorizerOutput.parse(policy(statement(resource=resource)))

    # When
    verdict = output.evaluate(METHOD_ARN)

    # Then
    assert verdict == "implicit_deny"


def test_applicable_deny_wins_over_allow() -> None:
    # Given
    output = AuthorizerOutput.parse(
        policy(statement("Allow"), statement("Deny", resource="arn:aws:execute-api:*/Prod/GET/orders/*"))
    )

    # When
    verdicts = (output.evaluate(METHOD_ARN), output.evaluate(METHOD_ARN.replace("/GET/", "/POST/")))

    # Then
    assert verdicts == ("explicit_deny", "allow")


@pytest.mark.parametrize(
    ("action", "verdict"),
    [
        ("execute-api:*", "allow"),
        ("*", "allow"),
        ("Execute-API:invoke", "allow"),
        (["s3:GetObject", "execute-api:Invoke"], "allow"),
        ("execute-api:ManageConnections", "implicit_deny"),
    ],
)
def test_statement_applies_only_to_actions_covering_invoke(action: Any, verdict: str) -> None:
    # Given
    output = AuthorizerOutput.parse(policy(statement(action=action)))

    # When / Then
    assert output.evaluate(METHOD_ARN) == verdict


def test_context_values_are_stringified_as_api_gateway_does() -> None:
    # Given
    raw = policy(statement(), context={"name": "Ada", "admin": False, "count": 3, "ratio": 0.5, "gone": None})

    # When
    output = AuthorizerOutput.parse(raw)

    # Then
    assert output.context == {"name": "Ada", "admin": "false", "count": "3", "ratio": "0.5"}


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "Allow",
        {"principalId": "u"},
        policy(statement(effect="Maybe")),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke"}),
        policy(statement(), context={"nested": {"not": "allowed"}}),
        {"policyDocument": {"Version": "2012-10-17", "Statement": [statement()]}},
    ],
)
def test_malformed_authorizer_response_is_a_configuration_error(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]], payload: object
) -> None:
    # Given
    authorizers, _ = make_authorizers(lambda event: payload)

    # When
    decision = authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "t"}))

    # Then
    assert decision == AUTHORIZER_CONFIGURATION_ERROR


def test_allowed_decision_carries_principal_context_and_latency(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]],
) -> None:
    # Given
    authorizers, _ = make_authorizers(lambda event: policy(statement(), context={"tenant": "t1"}))

    # When
    decision = authorizers.authorize("Auth", METHOD_ARN, request_event({"authorization": "t"}))

    # Then
    assert isinstance(decision, AuthorizerAllowed)
    assert decision.authorizer_context["principalId"] == "user-1"
    assert decision.authorizer_context["tenant"] == "t1"
    assert isinstance(decision.authorizer_context["integrationLatency"], int)


def test_cached_policy_is_keyed_by_token_and_reevaluated_per_method_arn(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]],
) -> None:
    # Given
    authorizers, invoker = make_authorizers(lambda event: policy(statement(resource=event["methodArn"])))
    other_arn = METHOD_ARN.replace("/orders/42", "/orders/43")

    # When
    first = authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"}))
    cached = authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"}))
    cached_other_arn = authorizers.authorize("Auth", other_arn, request_event({"Authorization": "a"}))
    other_token = authorizers.authorize("Auth", other_arn, request_event({"Authorization": "b"}))

    # Then
    assert isinstance(first, AuthorizerAllowed)
    assert isinstance(cached, AuthorizerAllowed) and cached.authorizer_context["integrationLatency"] == 0
    assert cached_other_arn == IMPLICIT_DENY
    assert isinstance(other_token, AuthorizerAllowed)
    assert [event["authorizationToken"] for event in invoker.calls_to("AuthFn")] == ["a", "b"]


def test_cache_entry_expires_after_the_ttl(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]],
) -> None:
    # Given
    clock = Clock()
    authorizers, invoker = make_authorizers(lambda event: policy(statement()), clock=clock, ttl_s=60)
    authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"}))

    # When
    clock.now += 59
    authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"}))
    calls_before_expiry = len(invoker.calls_to("AuthFn"))
    clock.now += 1
    authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"}))

    # Then
    assert calls_before_expiry == 1
    assert len(invoker.calls_to("AuthFn")) == 2


def test_zero_ttl_invokes_the_authorizer_for_every_request(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]],
) -> None:
    # Given
    authorizers, invoker = make_authorizers(lambda event: policy(statement()), ttl_s=0)

    # When
    for _ in range(3):
        authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"}))

    # Then
    assert len(invoker.calls_to("AuthFn")) == 3


def test_deny_policy_is_cached_too(make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]]) -> None:
    # Given
    authorizers, invoker = make_authorizers(lambda event: policy(statement("Deny")))

    # When
    decisions = [authorizers.authorize("Auth", METHOD_ARN, request_event({"Authorization": "a"})) for _ in range(2)]

    # Then
    assert decisions == [EXPLICIT_DENY, EXPLICIT_DENY]
    assert len(invoker.calls_to("AuthFn")) == 1


@pytest.mark.parametrize("headers", [None, {}, {"Authorization": ""}, {"X-Other": "t"}])
def test_missing_or_empty_token_is_unauthorized_without_invoking(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]], headers: dict[str, str] | None
) -> None:
    # Given
    authorizers, invoker = make_authorizers(lambda event: policy(statement()))

    # When
    decision = authorizers.authorize("Auth", METHOD_ARN, request_event(headers))

    # Then
    assert decision == UNAUTHORIZED
    assert invoker.calls_to("AuthFn") == []


def test_request_authorizer_reads_context_sources_and_is_cached_by_all_values(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]],
) -> None:
    # Given
    authorizers, invoker = make_authorizers(
        lambda event: policy(statement()),
        type="REQUEST",
        identity_sources=("method.request.header.X-Key", "context.identity.sourceIp"),
    )

    # When
    same_twice = [authorizers.authorize("Auth", METHOD_ARN, request_event({"X-Key": "k1"})) for _ in range(2)]
    other_key = authorizers.authorize("Auth", METHOD_ARN, request_event({"X-Key": "k2"}))

    # Then
    assert all(isinstance(decision, AuthorizerAllowed) for decision in [*same_twice, other_key])
    assert len(invoker.calls_to("AuthFn")) == 2


def test_request_authorizer_without_a_stage_variable_source_value_is_unauthorized(
    make_authorizers: Callable[..., tuple[LambdaAuthorizers, InProcessInvoker]],
) -> None:
    # Given
    authorizers, invoker = make_authorizers(
        lambda event: policy(statement()), type="REQUEST", identity_sources=("stageVariables.secret",)
    )

    # When
    decision = authorizers.authorize("Auth", METHOD_ARN, request_event({"X-Key": "k"}))

    # Then
    assert decision == UNAUTHORIZED
    assert invoker.calls_to("AuthFn") == []


@pytest.mark.parametrize(
    ("spec_fields", "message"),
    [
        ({"type": "REQUEST", "identity_sources": ("method.request.body.token",)}, "unsupported identity source"),
        ({"identity_sources": ("Authorization", "X-Other")}, "exactly one identity header"),
        ({"validation_expression": "Bearer ("}, "invalid ValidationExpression"),
        ({"type": "COGNITO_USER_POOLS"}, "unsupported type"),
    ],
)
def test_invalid_authorizer_definition_is_rejected(spec_fields: dict[str, Any], message: str) -> None:
    # Given
    fields: dict[str, Any] = {
        "name": "Auth",
        "function_logical_id": "AuthFn",
        "type": "TOKEN",
        "identity_sources": ("Authorization",),
    }

    # When / Then
    with pytest.raises(ValueError, match=message):
        LambdaAuthorizers({"Auth": AuthorizerSpec(**(fields | spec_fields))}, InProcessInvoker({}))

"""Lambda authorizers of a REST API: identity sources, invocation, policy evaluation and the result cache."""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from localcloud.spec import AuthorizerSpec, Invocation, Invoker

_HEADER_SOURCE = "method.request.header."
_QUERY_SOURCE = "method.request.querystring."
_STAGE_VARIABLE_SOURCE = "stageVariables."
_CONTEXT_SOURCE = "context."
_INVOKE_ACTION = "execute-api:invoke"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthorizerAllowed:
    """The request may proceed; `authorizer_context` becomes `requestContext.authorizer` of the proxy event."""

    authorizer_context: dict[str, object]


@dataclass(frozen=True)
class AuthorizerRejected:
    """API Gateway answers the request itself, with this status, message and x-amzn-ErrorType."""

    status: int
    message: str | None
    error_type: str


AuthorizerDecision = AuthorizerAllowed | AuthorizerRejected

# API Gateway's default gateway responses for each way an authorizer can turn a request away.
UNAUTHORIZED = AuthorizerRejected(401, "Unauthorized", "UnauthorizedException")
EXPLICIT_DENY = AuthorizerRejected(
    403, "User is not authorized to access this resource with an explicit deny", "AccessDeniedException"
)
IMPLICIT_DENY = AuthorizerRejected(403, "User is not authorized to access this resource", "AccessDeniedException")
AUTHORIZER_CONFIGURATION_ERROR = AuthorizerRejected(500, None, "AuthorizerConfigurationException")


class MalformedAuthorizerResponseError(ValueError):
    """The authorizer returned something API Gateway cannot use as a policy."""


@dataclass(frozen=True)
class IdentitySource:
    """Where API Gateway reads one identity value of a request."""

    kind: Literal["header", "querystring", "stageVariable", "context"]
    name: str

    @classmethod
    def parse(cls, source: str) -> IdentitySource:
        """Reads an API Gateway identity source expression such as `method.request.header.Authorization`."""
        prefixes: tuple[tuple[str, Literal["header", "querystring", "stageVariable", "context"]], ...] = (
            (_HEADER_SOURCE, "header"),
            (_QUERY_SOURCE, "querystring"),
            (_STAGE_VARIABLE_SOURCE, "stageVariable"),
            (_CONTEXT_SOURCE, "context"),
        )
        for prefix, kind in prefixes:
            if source.startswith(prefix) and len(source) > len(prefix):
                return cls(kind, source[len(prefix) :])
        raise ValueError(
            f"unsupported identity source {source!r}: expected method.request.header.NAME, "
            "method.request.querystring.NAME, stageVariables.NAME or context.NAME"
        )

    def value_in(self, request_event: Mapping[str, Any]) -> str | None:
        """The source's value in a request event, None when missing or empty (API Gateway then answers 401)."""
        if self.kind == "header":
            value = _find_header(request_event.get("headers"), self.name)
        elif self.kind == "querystring":
            value = _mapping_value(request_event.get("queryStringParameters"), self.name)
        elif self.kind == "stageVariable":
            value = _mapping_value(request_event.get("stageVariables"), self.name)
        else:
            value = _context_value(request_event.get("requestContext"), self.name)
        return value or None


@dataclass(frozen=True)
class PolicyStatement:
    """One statement of an authorizer's IAM policy."""

    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def applies_to(self, method_arn: str) -> bool:
        """Whether the statement covers `execute-api:Invoke` on this method ARN, with IAM wildcards."""
        return any(_iam_pattern(action.lower()).fullmatch(_INVOKE_ACTION) for action in self.actions) and any(
            _iam_pattern(resource).fullmatch(method_arn) for resource in self.resources
        )


@dataclass(frozen=True)
class AuthorizerOutput:
    """A validated authorizer response: what API Gateway caches and evaluates for every method ARN."""

    principal_id: str
    statements: tuple[PolicyStatement, ...]
    context: Mapping[str, str]

    @classmethod
    def parse(cls, payload: object) -> AuthorizerOutput:
        """Validates an authorizer's return value; raises MalformedAuthorizerResponseError."""
        if not isinstance(payload, dict):
            raise MalformedAuthorizerResponseError("the authorizer response is not a JSON object")
        principal_id = payload.get("principalId")
        if principal_id is None or isinstance(principal_id, dict | list):
            raise MalformedAuthorizerResponseError("principalId is missing or not a string")
        document = payload.get("policyDocument")
        if not isinstance(document, dict):
            raise MalformedAuthorizerResponseError("policyDocument is missing or not an object")
        raw_statements = document.get("Statement")
        if isinstance(raw_statements, dict):
            raw_statements = [raw_statements]
        if not isinstance(raw_statements, list):
            raise MalformedAuthorizerResponseError("policyDocument.Statement is missing")
        raw_context = payload.get("context") or {}
        if not isinstance(raw_context, dict):
            raise MalformedAuthorizerResponseError("context is not an object")
        return cls(
            principal_id=_stringify(principal_id),
            statements=tuple(_parse_statement(statement) for statement in raw_statements),
            context={str(key): _stringify(value) for key, value in raw_context.items() if value is not None},
        )

    def evaluate(self, method_arn: str) -> Literal["allow", "explicit_deny", "implicit_deny"]:
        """IAM evaluation: an applicable Deny wins, then an applicable Allow, else the implicit deny."""
        applicable = [statement for statement in self.statements if statement.applies_to(method_arn)]
        if any(statement.effect == "Deny" for statement in applicable):
            return "explicit_deny"
        if applicable:
            return "allow"
        return "implicit_deny"


class LambdaAuthorizers:
    """Runs a REST API's Lambda authorizers and caches their policies the way API Gateway does."""

    def __init__(
        self,
        authorizers: Mapping[str, AuthorizerSpec],
        invoker: Invoker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._authorizers = dict(authorizers)
        self._invoker = invoker
        self._clock = clock
        self._identity_sources = {name: _identity_sources_of(spec) for name, spec in authorizers.items()}
        self._validation_patterns = {name: _compile_validation_expression(spec) for name, spec in authorizers.items()}
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, AuthorizerOutput]] = {}
        self._cache_lock = threading.Lock()

    def __contains__(self, authorizer_name: object) -> bool:
        return authorizer_name in self._authorizers

    def authorize(self, authorizer_name: str, method_arn: str, request_event: Mapping[str, Any]) -> AuthorizerDecision:
        """Decides one request: `request_event` is the proxy event API Gateway is about to send (no authorizer)."""
        identity = self._identity(authorizer_name, request_event)
        if identity is None:
            return UNAUTHORIZED
        cache_key = (authorizer_name, identity)
        output = self._cached(cache_key)
        latency_ms = 0
        if output is None:
            started = time.perf_counter()
            outcome = self._invoke(self._authorizers[authorizer_name], method_arn, identity, request_event)
            latency_ms = round((time.perf_counter() - started) * 1000)
            if isinstance(outcome, AuthorizerRejected):
                return outcome
            output = outcome
            ttl_s = self._authorizers[authorizer_name].ttl_s
            if ttl_s > 0 and identity:
                self._store(cache_key, output, ttl_s)
        verdict = output.evaluate(method_arn)
        if verdict != "allow":
            return EXPLICIT_DENY if verdict == "explicit_deny" else IMPLICIT_DENY
        return AuthorizerAllowed(
            {**output.context, "principalId": output.principal_id, "integrationLatency": latency_ms}
        )

    def _identity(self, authorizer_name: str, request_event: Mapping[str, Any]) -> tuple[str, ...] | None:
        values = [source.value_in(request_event) for source in self._identity_sources[authorizer_name]]
        identity = tuple(value for value in values if value is not None)
        if len(identity) != len(values):
            return None
        pattern = self._validation_patterns[authorizer_name]
        if pattern is not None and not pattern.fullmatch(identity[0]):
            return None
        return identity

    def _invoke(
        self, spec: AuthorizerSpec, method_arn: str, identity: tuple[str, ...], request_event: Mapping[str, Any]
    ) -> AuthorizerOutput | AuthorizerRejected:
        invocation = self._invoker.invoke(
            spec.function_logical_id, _authorizer_event(spec, method_arn, identity, request_event)
        )
        rejection = _rejection_for_failure(invocation)
        if rejection is AUTHORIZER_CONFIGURATION_ERROR:
            logger.warning("authorizer %s failed: %s", spec.name, invocation.failure_summary())
        if rejection is not None:
            return rejection
        try:
            return AuthorizerOutput.parse(invocation.payload)
        except MalformedAuthorizerResponseError as error:
            logger.warning("authorizer %s returned an invalid response: %s", spec.name, error)
            return AUTHORIZER_CONFIGURATION_ERROR

    def _cached(self, key: tuple[str, tuple[str, ...]]) -> AuthorizerOutput | None:
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            expires_at, output = entry
            if self._clock() >= expires_at:
                del self._cache[key]
                return None
            return output

    def _store(self, key: tuple[str, tuple[str, ...]], output: AuthorizerOutput, ttl_s: int) -> None:
        now = self._clock()
        with self._cache_lock:
            # Tokens change constantly; dropping expired entries on every write keeps the cache bounded.
            for stale in [k for k, (expires_at, _) in self._cache.items() if now >= expires_at]:
                del self._cache[stale]
            self._cache[key] = (now + ttl_s, output)


def _identity_sources_of(spec: AuthorizerSpec) -> tuple[IdentitySource, ...]:
    if spec.type == "TOKEN":
        if len(spec.identity_sources) != 1:
            raise ValueError(f"TOKEN authorizer {spec.name!r} needs exactly one identity header")
        header = spec.identity_sources[0].removeprefix(_HEADER_SOURCE)
        if not header or "." in header:
            raise ValueError(f"TOKEN authorizer {spec.name!r}: {spec.identity_sources[0]!r} is not a header name")
        return (IdentitySource("header", header),)
    if spec.type == "REQUEST":
        return tuple(IdentitySource.parse(source) for source in spec.identity_sources)
    raise ValueError(f"authorizer {spec.name!r} has unsupported type {spec.type!r}: expected TOKEN or REQUEST")


def _compile_validation_expression(spec: AuthorizerSpec) -> re.Pattern[str] | None:
    # API Gateway applies ValidationExpression to TOKEN authorizers only.
    if spec.type != "TOKEN" or not spec.validation_expression:
        return None
    try:
        return re.compile(spec.validation_expression)
    except re.error as error:
        raise ValueError(
            f"authorizer {spec.name!r}: invalid ValidationExpression {spec.validation_expression!r}: {error}"
        ) from error


def _authorizer_event(
    spec: AuthorizerSpec, method_arn: str, identity: tuple[str, ...], request_event: Mapping[str, Any]
) -> dict[str, Any]:
    if spec.type == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": method_arn}
    request_fields = (
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
    )
    return {"type": "REQUEST", "methodArn": method_arn, **{name: request_event.get(name) for name in request_fields}}


def _rejection_for_failure(invocation: Invocation) -> AuthorizerRejected | None:
    if invocation.timed_out or invocation.crashed:
        return AUTHORIZER_CONFIGURATION_ERROR
    if invocation.error is None:
        return None
    # The documented way for an authorizer to answer 401 is to fail with exactly this message.
    if invocation.error.error_message == "Unauthorized":
        return UNAUTHORIZED
    return AUTHORIZER_CONFIGURATION_ERROR


def _parse_statement(raw: object) -> PolicyStatement:
    if not isinstance(raw, dict):
        raise MalformedAuthorizerResponseError("a policy statement is not an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedAuthorizerResponseError(f"policy statement Effect {effect!r} is not Allow or Deny")
    return PolicyStatement(
        effect="Allow" if effect == "Allow" else "Deny",
        actions=_string_list(raw.get("Action"), "Action"),
        resources=_string_list(raw.get("Resource"), "Resource"),
    )


def _string_list(value: object, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise MalformedAuthorizerResponseError(f"policy statement {field_name} is missing or not a string list")


def _stringify(value: object) -> str:
    # REST APIs hand authorizer context values to the integration as strings: true, 42, 1.5.
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise MalformedAuthorizerResponseError(f"authorizer values must be strings, numbers or booleans, not {value!r}")


@functools.lru_cache(maxsize=1024)
def _iam_pattern(pattern: str) -> re.Pattern[str]:
    parts = ("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _find_header(headers: object, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted and isinstance(value, str):
            return value
    return None


def _mapping_value(mapping: object, name: str) -> str | None:
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(name)
    return value if isinstance(value, str) else None


def _context_value(request_context: object, dotted_name: str) -> str | None:
    value: object = request_context
    for part in dotted_name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if value is None or isinstance(value, Mapping | list):
        return None
    return value if isinstance(value, str) else _stringify(value)

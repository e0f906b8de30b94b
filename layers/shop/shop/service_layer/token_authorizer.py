"""The Lambda authorizer's decision: a bearer token in, an IAM policy with the caller's claims out."""

from __future__ import annotations

from typing import Any

from shop.errors import Unauthenticated
from shop.service_layer.tokens import TokenService

# API Gateway turns exactly this error message into a 401 (anything else becomes a 500).
UNAUTHORIZED = "Unauthorized"


def api_wide_resource(method_arn: str) -> str:
    """`arn:...:api-id/stage/METHOD/path` -> `arn:...:api-id/stage/*/*`.

    The result is cached per token for the TTL and reused for every route, so the policy must
    cover the whole stage, not only the route that asked first.
    """
    api, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    return f"{api}/{stage}/*/*"


def policy_for(authorization_header: str | None, method_arn: str, tokens: TokenService) -> dict[str, Any]:
    """Allow policy with the principal as context; raises `Unauthenticated` for anything else."""
    scheme, _, token = (authorization_header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required")
    principal = tokens.verify(token.strip())
    return {
        "principalId": principal.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api_wide_resource(method_arn)}
            ],
        },
        # Authorizer context values must be strings, numbers or booleans: no lists.
        "context": {
            "user_id": principal.user_id,
            "roles": ",".join(principal.roles),
            # The routes refuse the caller past it, whatever API Gateway's cache still holds.
            "expires_at": principal.expires_at,
        },
    }

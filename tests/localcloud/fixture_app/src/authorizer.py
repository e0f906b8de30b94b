"""TOKEN authorizer: `allow-<user>` is allowed as <user>, `deny` is denied, anything else is unauthorized."""

from typing import Any

ALLOW_PREFIX = "allow-"


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    token = event["authorizationToken"]
    if token == "deny":
        return _policy("nobody", "Deny", event["methodArn"], {})
    user = token.removeprefix(ALLOW_PREFIX)
    if token.startswith(ALLOW_PREFIX) and user:
        return _policy(user, "Allow", event["methodArn"], {"user": user})
    # API Gateway answers 401 when an authorizer fails with exactly this message.
    raise Exception("Unauthorized")


def _policy(principal: str, effect: str, method_arn: str, context: dict[str, str]) -> dict[str, Any]:
    # The whole API, not just this method: the cached decision then serves the caller's other routes too.
    api_arn = "/".join(method_arn.split("/")[:2])
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": f"{api_arn}/*"}
    return {
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }
